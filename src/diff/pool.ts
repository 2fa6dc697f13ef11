/**
 * `diff --jobs N`: this thread and N - 1 worker threads take images from one queue (the worker pool of
 * ../batch/pool.ts). Each worker opens its own backend and both models and runs the same DiffPipeline; it sends back
 * each image's entry and overlay files, and this thread writes them. A worker still loading its models when the
 * queue runs dry is stopped, not awaited.
 */
import type { TakeJob } from '../batch/pool';
import { compiledScript, startWorkerPool } from '../batch/pool';
import { defaultThreads } from '../backend/wasm-threads';
import type { ComparedImage, DiffOptions, DiffSequence } from './options';

/** What a worker needs of the options: nothing that cannot cross a thread (callbacks, signals, loaded models). */
export type DiffWorkerOptions = Omit<DiffOptions, 'base' | 'head' | 'onImage' | 'signal' | 'jobs'> & { base: string; head: string };

export async function runDiffWorkers(take: TakeJob, count: number, opts: DiffOptions, pipeline: DiffSequence, onResult: (r: ComparedImage) => Promise<void>): Promise<void> {
  const script = compiledScript('diff/worker.js');
  if (!script || typeof opts.base !== 'string' || typeof opts.head !== 'string') return pipeline.runSequence(take, onResult);
  const { onImage: _o, signal: _s, jobs: _j, ...rest } = opts;
  // Asked-for WASM threads are shared by the backends computing at once.
  const workerData: DiffWorkerOptions = { ...rest, base: opts.base, head: opts.head, threads: defaultThreads(count + 1, opts.threads) };
  let mainDone!: () => void;
  const idle = new Promise<void>((r) => (mainDone = r));
  const pool = startWorkerPool<ComparedImage>({ script, workerData, count, take, onResult, signal: opts.signal, idle, name: 'a diff worker' });
  try {
    try {
      await pipeline.runSequence(take, onResult);
    } finally {
      mainDone();
    }
    await pool.done;
  } finally {
    await pool.stop();
  }
}
