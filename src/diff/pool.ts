/**
 * `diff --jobs N`: this thread and N - 1 worker threads take images from one queue. Each worker opens its own
 * backend and both models and runs the same DiffPipeline; it sends back each image's entry and overlay files, and
 * this thread writes them. A worker still loading its models when the queue runs dry is stopped, not awaited.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { ImageJob } from '../batch/walk';
import { defaultThreads } from '../backend/wasm-threads';
import { ModelError, UsageError, UserError } from '../util/errors';
import type { ComparedImage, DiffOptions, DiffSequence } from './options';

export type ToDiffWorker = { type: 'job'; job: ImageJob } | { type: 'end' };
export type FromDiffWorker = { type: 'ready' } | { type: 'result'; result: ComparedImage } | { type: 'fatal'; name: string; message: string };

/** What a worker needs of the options: nothing that cannot cross a thread (callbacks, signals, loaded models). */
export type DiffWorkerOptions = Omit<DiffOptions, 'base' | 'head' | 'onImage' | 'signal' | 'jobs'> & { base: string; head: string };

/** The compiled worker script; null when running from TypeScript sources without a build. */
export function diffWorkerScript(): string | null {
  const here = path.join(__dirname, 'worker.js');
  if (fs.existsSync(here)) return here;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'src', 'diff', 'worker.js');
  return fs.existsSync(built) ? built : null;
}

export async function runDiffWorkers(take: () => ImageJob | null, count: number, opts: DiffOptions, pipeline: DiffSequence, onResult: (r: ComparedImage) => Promise<void>): Promise<void> {
  const script = diffWorkerScript();
  if (!script || typeof opts.base !== 'string' || typeof opts.head !== 'string') return pipeline.runSequence(take, onResult);
  const { onImage: _o, signal: _s, jobs: _j, ...rest } = opts;
  // Asked-for WASM threads are shared by the backends computing at once.
  const data: DiffWorkerOptions = { ...rest, base: opts.base, head: opts.head, threads: defaultThreads(count + 1, opts.threads) };
  const writes: Promise<void>[] = [];
  const workers: Worker[] = [];
  let mainDone!: () => void;
  const idle = new Promise<void>((r) => (mainDone = r));
  const helpers = new Promise<void>((resolve, reject) => {
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
      if (!job) w.postMessage({ type: 'end' } satisfies ToDiffWorker);
      else {
        inFlight.set(w, (inFlight.get(w) ?? 0) + 1);
        w.postMessage({ type: 'job', job } satisfies ToDiffWorker);
      }
    };
    void idle.then(() => {
      for (const w of workers) if (!inFlight.get(w) && finish(w)) void w.terminate();
    });
    for (let i = 0; i < count; i++) {
      const w = new Worker(script, { workerData: data });
      workers.push(w);
      w.on('message', (m: FromDiffWorker) => {
        if (ended.has(w)) return;
        if (m.type === 'ready') {
          feed(w);
          feed(w);
        } else if (m.type === 'result') {
          inFlight.set(w, (inFlight.get(w) ?? 1) - 1);
          writes.push(onResult(m.result));
          feed(w);
        } else if (m.type === 'fatal') {
          reject(m.name === 'ModelError' ? new ModelError(m.message) : m.name === 'UsageError' ? new UsageError(m.message) : m.name === 'UserError' ? new UserError(m.message) : new Error(m.message));
        }
      });
      w.on('error', reject);
      w.on('exit', (code) => {
        if (ended.has(w)) return;
        if (code !== 0) {
          ended.add(w);
          reject(new Error(`a diff worker stopped with exit code ${code}`));
        } else finish(w);
      });
    }
  });
  // Read below, after this thread's share; never left unhandled meanwhile.
  helpers.catch(() => undefined);
  try {
    try {
      await pipeline.runSequence(take, onResult);
    } finally {
      mainDone();
    }
    await helpers;
  } finally {
    await Promise.all(writes);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
