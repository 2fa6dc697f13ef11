/** A worker thread of the folder pool (see pool.ts): one backend, one model, the same pipeline. */
import { parentPort, workerData } from 'worker_threads';
import sharp from 'sharp';
import { openSession } from '../pipeline/session';
import { ImagePipeline, ExplainOptions, resolveTargets } from '../pipeline/explain';
import { UserError } from '../util/errors';
import { ChannelPool } from './channel-pool';
import type { FromWorker, ToWorker } from './pool';
import type { ImageJob } from './walk';

async function main(): Promise<void> {
  const port = parentPort!;
  const opts = workerData as ExplainOptions & { forwardProgress?: boolean };
  // Long methods' progress goes to the main thread, which draws it (Score-CAM passes on a terminal).
  if (opts.forwardProgress) opts.methodOptions = { ...opts.methodOptions, onProgress: (done, total) => port.postMessage({ type: 'progress', done, total } satisfies FromWorker) };
  // The workers already use every core; one libvips thread each avoids oversubscription.
  sharp.concurrency(1);
  const queue: (ImageJob | null)[] = [];
  let waiting: ((j: ImageJob | null) => void) | null = null;
  port.on('message', (m: ToWorker) => {
    const item = m.type === 'job' ? m.job : null;
    if (waiting) {
      const w = waiting;
      waiting = null;
      w(item);
    } else queue.push(item);
  });
  try {
    const session = await openSession(opts);
    const targets = resolveTargets(session, opts);
    // A worker given few images (one, for Ctrl-C's sake) spreads Score-CAM's and Ablation-CAM's channels itself.
    const pool = opts.channelThreads && session.methods.some((m) => m.channelScores) ? await ChannelPool.start(opts.channelThreads, opts) : null;
    const pipeline = new ImagePipeline(session, opts, targets, opts.out !== null, pool);
    port.postMessage({ type: 'ready' } satisfies FromWorker);
    const next = () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise<ImageJob | null>((r) => (waiting = r)));
    await pipeline.runSequence(next, (result) => {
      // Rendered files go to the main thread without a copy.
      // Rendered files go to the main thread without a copy, except those sharing Node's small-buffer pool
      // (transferring that pool would detach every other buffer in it).
      const own = result.files.map((f) => f.data).filter((d) => d.byteOffset === 0 && d.byteLength === d.buffer.byteLength);
      port.postMessage({ type: 'result', result } satisfies FromWorker, [...new Set(own.map((d) => d.buffer as ArrayBuffer))]);
    });
    await pool?.close();
    session.model.dispose();
  } catch (e) {
    const err = e as Error;
    port.postMessage({ type: 'fatal', name: err instanceof UserError ? err.name : 'Error', message: err.message } satisfies FromWorker);
  }
  port.close();
}

void main();
