/**
 * Spreading images over worker threads: `--jobs N` of explain and evaluate (ImagePipeline) and of diff
 * (DiffPipeline). Each worker opens its own backend and model(s) and runs the same pipeline as the main thread; it
 * sends back each image's result with its rendered files, and the main thread writes them. Jobs are handed out two
 * at a time per worker (one computing, one decoding) and in input order; results come back in completion order and
 * the caller sorts them, so outputs do not depend on N. The worker side of the protocol is ./worker-port.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { ExplainOptions, RenderedImage } from '../pipeline/explain-options';
import type { ImageJob } from './walk';
import { ModelError, UsageError, UserError } from '../util/errors';

/** Messages from the main thread to a worker. */
export type ToWorker = { type: 'job'; job: ImageJob } | { type: 'end' };
/** Messages from a worker to the main thread; R is what the worker's pipeline makes of one image. */
export type FromWorker<R = RenderedImage> =
  | { type: 'ready' }
  | { type: 'result'; result: R }
  | { type: 'progress'; done: number; total: number }
  | { type: 'fatal'; name: string; message: string };

/** The options a worker needs, without what cannot cross a thread (callbacks, signals). */
export function workerOptions(opts: ExplainOptions): ExplainOptions & { forwardProgress?: boolean } {
  const { onImage: _onImage, signal: _signal, methodOptions, ...rest } = opts;
  const { onProgress, ...mo } = methodOptions ?? {};
  return { ...rest, methodOptions: mo, jobs: 1, forwardProgress: !!onProgress };
}

/**
 * A compiled worker script (`batch/worker.js`, `diff/worker.js`): beside this module when running from dist/, else
 * in dist/ (tests run the sources with ts-jest); null without a build.
 */
export function compiledScript(relative: string): string | null {
  const here = path.join(__dirname, '..', relative);
  if (fs.existsSync(here)) return here;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'src', relative);
  return fs.existsSync(built) ? built : null;
}

/** The compiled folder worker; null when running from TypeScript sources without a build (then: no workers). */
export function workerScript(): string | null {
  return compiledScript('batch/worker.js');
}

/** Hands out the next job, or null when there is none left (shared with the main thread's own pipeline). */
export type TakeJob = () => ImageJob | null;

export interface WorkerPoolSpec<R> {
  /** The compiled worker script, and what it gets as workerData. */
  script: string;
  workerData: unknown;
  count: number;
  take: TakeJob;
  onResult: (r: R) => Promise<void>;
  /** Aborted: no more jobs are handed out; the workers finish the ones they hold. */
  signal?: AbortSignal;
  /** Resolves when the other consumers of `take` are done: workers holding no job are stopped, not awaited. */
  idle?: Promise<void>;
  onProgress?: (done: number, total: number) => void;
  /** What a worker is called in the message when one dies ('a worker', 'a diff worker'). */
  name: string;
}

export interface WorkerPool {
  /** Resolves when every worker has ended; rejects with the first worker's failure, as the same error class. */
  done: Promise<void>;
  /** Waits for the results' writes, then stops every worker (call it in a finally, whatever `done` did). */
  stop(): Promise<void>;
}

/** A worker's error message, as the error class it had there: the CLI gives the same message and exit code. */
function errorFrom(name: string, message: string): Error {
  return name === 'ModelError' ? new ModelError(message) : name === 'UsageError' ? new UsageError(message) : name === 'UserError' ? new UserError(message) : new Error(message);
}

/** Starts `count` workers taking jobs from `take`; see WorkerPool for how it ends. */
export function startWorkerPool<R>(spec: WorkerPoolSpec<R>): WorkerPool {
  const writes: Promise<void>[] = [];
  const workers: Worker[] = [];
  const done = new Promise<void>((resolve, reject) => {
    let running = spec.count;
    const inFlight = new Map<Worker, number>();
    const ended = new Set<Worker>();
    const finish = (w: Worker) => {
      if (ended.has(w)) return false;
      ended.add(w);
      if (--running === 0) resolve();
      return true;
    };
    const feed = (w: Worker) => {
      const job = spec.signal?.aborted ? null : spec.take();
      if (!job) w.postMessage({ type: 'end' } satisfies ToWorker);
      else {
        inFlight.set(w, (inFlight.get(w) ?? 0) + 1);
        w.postMessage({ type: 'job', job } satisfies ToWorker);
      }
    };
    void spec.idle?.then(() => {
      for (const w of workers) if (!inFlight.get(w) && finish(w)) void w.terminate();
    });
    for (let i = 0; i < spec.count; i++) {
      const w = new Worker(spec.script, { workerData: spec.workerData });
      workers.push(w);
      w.on('message', (m: FromWorker<R>) => {
        if (ended.has(w)) return;
        if (m.type === 'ready') {
          feed(w);
          feed(w);
        } else if (m.type === 'result') {
          inFlight.set(w, (inFlight.get(w) ?? 1) - 1);
          writes.push(spec.onResult(m.result));
          feed(w);
        } else if (m.type === 'progress') {
          spec.onProgress?.(m.done, m.total);
        } else if (m.type === 'fatal') {
          reject(errorFrom(m.name, m.message));
        }
      });
      w.on('error', reject);
      w.on('exit', (code) => {
        if (ended.has(w)) return;
        if (code !== 0) {
          ended.add(w);
          reject(new Error(`${spec.name} stopped with exit code ${code}`));
        } else finish(w);
      });
    }
  });
  // Read by the caller when it is ready for it (after the main thread's own share); never left unhandled meanwhile.
  done.catch(() => undefined);
  return {
    done,
    async stop() {
      await Promise.all(writes);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Runs ImagePipeline jobs on `count` workers. `jobs` is a list, or a function shared with other consumers (the main
 * thread computes images too while workers start). When `idle` resolves, the other consumers are done and nothing
 * is left to take: workers holding no job (still loading their model, typically) are stopped rather than awaited.
 */
export async function runInWorkers(jobs: ImageJob[] | TakeJob, count: number, opts: ExplainOptions, onResult: (r: RenderedImage) => Promise<void>, idle?: Promise<void>): Promise<void> {
  const script = workerScript();
  if (!script) throw new Error('worker script not built: run `npm run build`');
  let nextJob = 0;
  const take: TakeJob = typeof jobs === 'function' ? jobs : () => (nextJob < jobs.length ? jobs[nextJob++] : null);
  const pool = startWorkerPool<RenderedImage>({ script, workerData: workerOptions(opts), count, take, onResult, signal: opts.signal, idle, onProgress: opts.methodOptions?.onProgress, name: 'a worker' });
  try {
    await pool.done;
  } finally {
    await pool.stop();
  }
}
