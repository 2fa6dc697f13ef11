/**
 * Spreading a folder over worker threads (--jobs N). Each worker opens its own backend and model and runs
 * the same ImagePipeline as the main thread; it sends back the report entry and the rendered files, and the
 * main thread writes them. Jobs are handed out two at a time per worker (one computing, one decoding) and in
 * input order; results come back in completion order and the caller sorts them, so outputs do not depend on N.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { ExplainOptions, RenderedImage } from '../pipeline/explain';
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

export async function runInWorkers(jobs: ImageJob[], count: number, opts: ExplainOptions, onResult: (r: RenderedImage) => Promise<void>): Promise<void> {
  const script = workerScript();
  if (!script) throw new Error('worker script not built: run `npm run build`');
  let nextJob = 0;
  const writes: Promise<void>[] = [];
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let running = count;
      const feed = (w: Worker) => {
        if (opts.signal?.aborted || nextJob >= jobs.length) w.postMessage({ type: 'end' } satisfies ToWorker);
        else w.postMessage({ type: 'job', job: jobs[nextJob++] } satisfies ToWorker);
      };
      for (let i = 0; i < count; i++) {
        const w = new Worker(script, { workerData: workerOptions(opts) });
        workers.push(w);
        let ended = false;
        w.on('message', (m: FromWorker) => {
          if (m.type === 'ready') {
            feed(w);
            feed(w);
          } else if (m.type === 'result') {
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
          if (ended) return;
          ended = true;
          if (code !== 0) reject(new Error(`a worker stopped with exit code ${code}`));
          else if (--running === 0) resolve();
        });
      }
    });
  } finally {
    await Promise.all(writes);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
