/** A worker of the channel pool (see channel-pool.ts): scores its part of an image's channels, or chunks of its faithfulness rows. */
import { MessagePort, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { openSession, SessionOptions } from '../pipeline/session';
import { getMethod, DEFAULT_METHOD_OPTIONS, MethodInputs } from '../methods';
import { targetClasses, targetMatrix } from '../capture/targets';
import type { ForwardPass } from '../model/classifier';
import type { ChannelTask, RowsTask } from './channel-pool';
import { FaithfulnessPlan, faithfulnessPlan, scoreRows } from '../metrics/faithfulness';
import { markFailed, scoreChunks } from './row-chunks';
import { probabilitiesOf } from '../model/head';

async function main(): Promise<void> {
  // The pool's calling thread talks to this worker through its own port; the parent is the watching thread.
  const { session: options, port } = workerData as { session: SessionOptions; port: MessagePort };
  let session;
  try {
    session = await openSession(options);
  } catch (e) {
    port.postMessage({ type: 'failed', message: (e as Error).message });
    return;
  }
  const c = session.model.classifier;
  let errors: MessagePort | null = null;
  // The last image's forward pass, reused by the next method on the same image.
  let cached: { id: number; layer: string; x: tf.Tensor4D; fp: ForwardPass } | null = null;
  port.on('message', (m: { type: 'errors'; port: MessagePort } | { type: 'task'; task: ChannelTask } | { type: 'rows'; task: RowsTask }) => {
    if (m.type === 'errors') {
      errors = m.port;
      return;
    }
    if (m.type === 'rows') {
      // Chunks of an image's faithfulness inputs, with the same plan and scoring as the calling thread's, until
      // none is left. A task read after its image was finished takes nothing and builds nothing.
      const t = m.task;
      const ctrl = new Int32Array(t.ctrl);
      const out = new Float32Array(t.results);
      const built: { x?: tf.Tensor4D; plan?: FaithfulnessPlan } = {};
      const probability = (xs: tf.Tensor4D) => tf.tidy(() => probabilitiesOf(c.predict(xs), c.head.kind).slice([0, t.classIndex], [-1, 1]).dataSync() as Float32Array);
      try {
        scoreChunks(ctrl, t, (from, to) => {
          built.x ??= tf.tensor4d(t.x, t.xShape as [number, number, number, number]);
          built.plan ??= faithfulnessPlan(t.xShape[1], t.xShape[2], t.maps, t.steps);
          scoreRows(built.x, built.plan, probability, from, to, out, t.batch);
        });
      } catch (e) {
        // The message first: the calling thread reads it as soon as it sees the image failed.
        errors?.postMessage({ id: t.id, message: (e as Error).message });
        markFailed(ctrl);
      } finally {
        built.x?.dispose();
      }
      return;
    }
    const t = m.task;
    const counter = new Int32Array(t.ctrl);
    // Fault tests only: die as a killed or out-of-memory worker would, holding a part it will never write.
    if (process.env.TFJS_CAM_FAULT === 'channel-worker-exit') process.exit(70);
    try {
      if (!cached || cached.id !== t.id || cached.layer !== t.layer) {
        if (cached) {
          cached.fp.dispose();
          cached.x.dispose();
        }
        const x = tf.tensor4d(t.x, t.xShape as [number, number, number, number]);
        cached = { id: t.id, layer: t.layer, x, fp: c.forward(x, [t.layer]) };
      }
      const { x, fp } = cached;
      const scores = tf.tidy(() => {
        const selector = targetMatrix(t.targets, c.numClasses)!;
        const inputs: MethodInputs = {
          activations: fp.activations[0],
          classes: t.targets.map((x) => targetClasses(x)[0] ?? -1),
          input: x,
          scoreInputs: (xs) => tf.matMul(c.predict(xs), selector, false, true) as tf.Tensor2D,
          scoreActivations: (a) => tf.matMul(fp.head(0, a), selector, false, true) as tf.Tensor2D,
          options: { ...DEFAULT_METHOD_OPTIONS, ...t.options, onProgress: undefined },
        };
        return getMethod(t.method).channelScores!(inputs, t.channels);
      });
      const out = new Float32Array(t.results);
      const k = t.targets.length;
      scores.forEach((row, i) => out.set(row, (t.offset + i) * k));
      Atomics.store(counter, t.doneAt, 1);
    } catch (e) {
      errors?.postMessage({ id: t.id, message: (e as Error).message });
      Atomics.store(counter, 1, 1);
    } finally {
      Atomics.sub(counter, 0, 1);
      Atomics.notify(counter, 0);
    }
  });
  port.postMessage({ type: 'ready' });
}

void main();
