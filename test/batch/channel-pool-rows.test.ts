// ChannelPool.rows with real worker threads (the built dist/src/batch/channel-worker.js, as `npm test` builds it)
// on a small saved model: rows the workers score are bit for bit the calling thread's, a worker still loading
// joins the image once ready, and a failing or stopped worker fails the image instead of leaving it waiting.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { saveLayersModel } from '../../src/model/save';
import { ChannelPool } from '../../src/batch/channel-pool';
import { faithfulnessPlan, scoreRows } from '../../src/metrics/faithfulness';
import { openSession, Session } from '../../src/pipeline/session';
import { probabilitiesOf } from '../../src/model/head';
import { ROOT, tempDir } from '../helpers/cli';

let dir: string;
let session: Session;
const pools: ChannelPool[] = [];
const x = tf.tidy(() => tf.randomUniform([1, 12, 12, 3], 0, 1, 'float32', 7) as tf.Tensor4D);
const maps = [0, 1].map((m) => Float32Array.from({ length: 144 }, (_, p) => ((p * (m + 3)) % 31) / 31));
const steps = 40; // 2 + 2 x 79 = 160 rows
const plan = faithfulnessPlan(12, 12, maps, steps);

async function open(workers: number, wait = true): Promise<ChannelPool> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'batch', 'channel-worker.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
  const opts = { model: path.join(dir, 'm'), backend: 'wasm' as const };
  const pool = wait ? await ChannelPool.start(workers, opts) : ChannelPool.launch(workers, opts);
  pools.push(pool!);
  return pool!;
}

const task = (classIndex: number) => ({ id: 0, x: x.dataSync() as Float32Array, xShape: x.shape, maps, steps, classIndex, batch: 32 });

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('pool-rows');
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'feat', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  await saveLayersModel(m, path.join(dir, 'm'));
  session = await openSession({ model: path.join(dir, 'm'), backend: 'wasm' });
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  session?.model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every row scored on this thread in one go, as --jobs 1 does. */
function here(classIndex: number): Float32Array {
  const c = session.model.classifier;
  const out = new Float32Array(plan.total);
  const probability = (xs: tf.Tensor4D) => tf.tidy(() => probabilitiesOf(c.predict(xs), c.head.kind).slice([0, classIndex], [-1, 1]).dataSync() as Float32Array);
  scoreRows(x, plan, probability, 0, plan.total, out, 32);
  return out;
}

test('rows scored by the workers alone are bit for bit those of one thread', async () => {
  const pool = await open(2);
  const rows = pool.rows(task(1), plan.total);
  // this thread takes no chunk: the two workers score all 160 rows
  expect(Array.from(await rows.result())).toEqual(Array.from(here(1)));
});

test('a worker still loading its model when the image is posted takes its rows once ready', async () => {
  const pool = await open(1, false);
  const rows = pool.rows(task(2), plan.total);
  expect(Array.from(await rows.result())).toEqual(Array.from(here(2)));
  await pool.ready;
});

test('a worker that fails fails the image with its message', async () => {
  const pool = await open(1);
  // an input of 4 channels where the values are for 3: the worker's tensor4d throws
  const rows = pool.rows({ ...task(0), xShape: [1, 12, 12, 4] }, plan.total);
  await expect(rows.result()).rejects.toThrow(/^a faithfulness worker failed: .*should have 576 values but has 432/);
  // the worker is still there for the next image
  expect(Array.from(await pool.rows(task(0), plan.total).result())).toEqual(Array.from(here(0)));
});

test('a worker that stops while the image waits for it fails the image, never leaves it waiting', async () => {
  const pool = await open(1);
  pool.stopWorker(0);
  // posted before the pool has seen the exit: only the exit can end the wait
  const rows = pool.rows(task(0), plan.total);
  await expect(rows.result()).rejects.toThrow(/^a faithfulness worker failed: it stopped \(exit code 1\)/);
  // without workers left, this thread scores everything
  expect(pool.size).toBe(1);
  const next = pool.rows(task(0), plan.total);
  next.scoreHere((from, to, out) => out.set(here(0).subarray(from, to), from));
  expect(Array.from(await next.result())).toEqual(Array.from(here(0)));
});

// Score-CAM's channels: this thread scores its part, then blocks in Atomics.wait for the workers' parts. Blocked, it
// sees no worker's 'exit': a worker that died holding a part used to leave it there for good.
test('a worker dead while this thread waits in share() for its channels fails the image at once', async () => {
  const pool = await open(1);
  const ctx = { id: 1, x: x.dataSync() as Float32Array, xShape: x.shape, layer: 'feat', targets: [{ kind: 'class' as const, index: 0 }], options: {}, score: 'logit' as const };
  // alive and well: its part (channels 2 and 3) comes back
  const local = (part: number[]) => part.map(() => [-1]);
  const both = pool.share('scorecam', [0, 1, 2, 3], local, ctx);
  expect(both.slice(0, 2)).toEqual([[-1], [-1]]);
  expect(both.slice(2).every(([v]) => Number.isFinite(v) && v !== -1)).toBe(true);
  // now it dies, and this thread does not hear of it (it is not yielding to its event loop from here on)
  pool.stopWorker(0);
  const alive = (pool as unknown as { alive: Int32Array }).alive;
  Atomics.wait(alive, 0, 1, 10_000); // until the watching thread has seen it die
  expect(Atomics.load(alive, 0)).toBe(0);
  expect(() => pool.share('scorecam', [0, 1, 2, 3], local, { ...ctx, id: 2 })).toThrow(/^a channel worker stopped before scoring its channels/);
});
