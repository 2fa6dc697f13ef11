/** A worker thread of the folder pool (see pool.ts): one backend, one model, the same pipeline. */
import { parentPort, workerData } from 'worker_threads';
import sharp from 'sharp';
import { openSession } from '../pipeline/session';
import { ImagePipeline, ExplainOptions, resolveTargets } from '../pipeline/explain';
import { ChannelPool } from './channel-pool';
import type { FromWorker } from './pool';
import { jobQueue, postFatal, postResult } from './worker-port';

async function main(): Promise<void> {
  const port = parentPort!;
  const opts = workerData as ExplainOptions & { forwardProgress?: boolean };
  // Long methods' progress goes to the main thread, which draws it (Score-CAM passes on a terminal).
  if (opts.forwardProgress) opts.methodOptions = { ...opts.methodOptions, onProgress: (done, total) => port.postMessage({ type: 'progress', done, total } satisfies FromWorker) };
  // The workers already use every core; one libvips thread each avoids oversubscription.
  sharp.concurrency(1);
  const next = jobQueue(port);
  try {
    const session = await openSession(opts);
    const targets = resolveTargets(session, opts);
    // A worker given few images (one, for Ctrl-C's sake) spreads Score-CAM's and Ablation-CAM's channels itself.
    const pool = opts.channelThreads && session.methods.some((m) => m.channelScores) ? await ChannelPool.start(opts.channelThreads, opts) : null;
    const pipeline = new ImagePipeline(session, opts, targets, opts.out !== null, pool);
    port.postMessage({ type: 'ready' } satisfies FromWorker);
    await pipeline.runSequence(next, (result) => postResult(port, result));
    await pool?.close();
    session.model.dispose();
  } catch (e) {
    postFatal(port, e);
  }
  port.close();
}

void main();
