/** A worker thread of `diff --jobs` (see pool.ts): one backend, both models, the same pipeline as the main thread. */
import { parentPort, workerData } from 'worker_threads';
import sharp from 'sharp';
import { DiffPipeline, openDiffSides } from '../pipeline/diff';
import { UserError } from '../util/errors';
import type { ImageJob } from '../batch/walk';
import type { DiffWorkerOptions, FromDiffWorker, ToDiffWorker } from './pool';

async function main(): Promise<void> {
  const port = parentPort!;
  const opts = workerData as DiffWorkerOptions;
  // The threads already use every core; one libvips thread each avoids oversubscription.
  sharp.concurrency(1);
  const queue: (ImageJob | null)[] = [];
  let waiting: ((j: ImageJob | null) => void) | null = null;
  port.on('message', (m: ToDiffWorker) => {
    const item = m.type === 'job' ? m.job : null;
    if (waiting) {
      const w = waiting;
      waiting = null;
      w(item);
    } else queue.push(item);
  });
  try {
    const sides = await openDiffSides(opts);
    const pipeline = new DiffPipeline(sides, opts);
    port.postMessage({ type: 'ready' } satisfies FromDiffWorker);
    const next = () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise<ImageJob | null>((r) => (waiting = r)));
    await pipeline.runSequence(next, (result) => {
      // Overlay files travel without a copy unless they share Node's small-buffer pool.
      const own = result.files.map((f) => f.data).filter((d) => d.byteOffset === 0 && d.byteLength === d.buffer.byteLength);
      port.postMessage({ type: 'result', result } satisfies FromDiffWorker, [...new Set(own.map((d) => d.buffer as ArrayBuffer))]);
    });
    sides.base.model.dispose();
    sides.head.model.dispose();
  } catch (e) {
    const err = e as Error;
    port.postMessage({ type: 'fatal', name: err instanceof UserError ? err.name : 'Error', message: err.message } satisfies FromDiffWorker);
  }
  port.close();
}

void main();
