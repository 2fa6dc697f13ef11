/** A worker thread of `diff --jobs` (see pool.ts): one backend, both models, the same pipeline as the main thread. */
import { parentPort, workerData } from 'worker_threads';
import sharp from 'sharp';
import { DiffPipeline, openDiffSides } from '../pipeline/diff';
import type { FromWorker } from '../batch/pool';
import { jobQueue, postFatal, postResult } from '../batch/worker-port';
import type { DiffWorkerOptions } from './pool';

async function main(): Promise<void> {
  const port = parentPort!;
  const opts = workerData as DiffWorkerOptions;
  // The threads already use every core; one libvips thread each avoids oversubscription.
  sharp.concurrency(1);
  const next = jobQueue(port);
  try {
    const sides = await openDiffSides(opts);
    const pipeline = new DiffPipeline(sides, opts);
    port.postMessage({ type: 'ready' } satisfies FromWorker);
    await pipeline.runSequence(next, (result) => postResult(port, result));
    sides.base.model.dispose();
    sides.head.model.dispose();
  } catch (e) {
    postFatal(port, e);
  }
  port.close();
}

void main();
