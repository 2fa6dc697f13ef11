/**
 * Spreading a folder over worker threads (--jobs N). Each worker opens its own backend and model and runs
 * the same ImagePipeline as the main thread; it sends back the report entry and the rendered files, and the
 * main thread writes them. Jobs are handed out two at a time per worker (one computing, one decoding) and in
 * input order; results come back in completion order and the caller sorts them, so outputs do not depend on N.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { ExplainOptions, RenderedImage } from '../pipeline/explain-options';
import type { ImageJob } from './walk';
import { ModelError, UsageError, UserError } from '../util/errors';

/** Messages from the main thread to a worker. */
export type ToWorker = { type: 'job'; job: ImageJob } | { type: 'end' };
/** Messages from a worker to the main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; result: RenderedImage }
  | { type: 'progress'; done: number; total: number }
  | { type: 'fatal'; name: string; message: string };

/** The options a worker needs, without what cannot cross a thread (callbacks, signals). */
export function workerOptions(opts: ExplainOptions): ExplainOptions & { forwardProgress?: boolean } {
  const { onImage: _onImage, signal: _signal, methodOptions, ...rest } = opts;
  const { onProgress, ...mo } = methodOptions ?? {};
  return { ...rest, methodOptions: mo, jobs: 1, forwardProgress: !!onProgress };
}

/** The compiled worker script; null when running from TypeScript sources without a build (then: no workers). */
export function workerScript(): string | null {
  const here = path.join(__dirname, 'worker.js');
  if (fs.existsSync(here)) return here;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'src', 'batch', 'worker.js');
  return fs.existsSync(built) ? built : null;
}

/** Hands out the next job, or null when there is none left (shared with the main thread's own pipeline). */
export type TakeJob = () => ImageJob | null;

/**
 * Runs jobs on `count` workers. `jobs` is a list, or a function shared with other consumers (the main thread
 * computes images too while workers start). When `idle` resolves, the other consumers are done and nothing is
 * left to take: workers holding no job (still loading their model, typically) are stopped rather than awaited.
 */
export async function runInWorkers(jobs: ImageJob[] | TakeJob, count: number, opts: ExplainOptions, onResult: (r: RenderedImage) => Promise<void>, idle?: Promise<void>): Promise<void> {
  const script = workerScript();
  if (!script) throw new Error('worker script not built: run `npm run build`');
  let nextJob = 0;
  const take: TakeJob = typeof jobs === 'function' ? jobs : () => (nextJob < jobs.length ? jobs[nextJob++] : null);
  const writes: Promise<void>[] = [];
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let running = count;
      const inFlight = new Map<Worker, number>();
      const ended = new Set<Worker>();
      const finish = (w: Worker) => {
        if (ended.has(w)) return false;
        ended.add(w);
        if (--running === 0) resolve();
        return true;
      };
      const feed = (w: Worker) => {
        const job = opts.signal?.aborted ? null : take();
        if (!job) w.postMessage({ type: 'end' } satisfies ToWorker);
        else {
          inFlight.set(w, (inFlight.get(w) ?? 0) + 1);
          w.postMessage({ type: 'job', job } satisfies ToWorker);
        }
      };
      void idle?.then(() => {
        for (const w of workers) if (!inFlight.get(w) && finish(w)) void w.terminate();
      });
      for (let i = 0; i < count; i++) {
        const w = new Worker(script, { workerData: workerOptions(opts) });
        workers.push(w);
        w.on('message', (m: FromWorker) => {
          if (ended.has(w)) return;
          if (m.type === 'ready') {
            feed(w);
            feed(w);
          } else if (m.type === 'result') {
            inFlight.set(w, (inFlight.get(w) ?? 1) - 1);
            writes.push(onResult(m.result));
            feed(w);
          } else if (m.type === 'progress') {
            opts.methodOptions?.onProgress?.(m.done, m.total);
          } else if (m.type === 'fatal') {
            // Same error class as in-process, so the CLI gives the same message and exit code.
            reject(m.name === 'ModelError' ? new ModelError(m.message) : m.name === 'UsageError' ? new UsageError(m.message) : m.name === 'UserError' ? new UserError(m.message) : new Error(m.message));
          }
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (ended.has(w)) return;
          if (code !== 0) {
            ended.add(w);
            reject(new Error(`a worker stopped with exit code ${code}`));
          } else finish(w);
        });
      }
    });
  } finally {
    await Promise.all(writes);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
