/**
 * The threaded WASM build under Node (src/backend/wasm-threads.ts): it starts with the asked-for thread count,
 * computes exactly what one thread computes, and never keeps the process alive. Each run is its own process
 * (a backend starts once per process), from the built library.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist', 'src');

// Grad-CAM and Score-CAM (forward passes only) on the shipped ResNet with a seeded input; prints JSON.
const SCRIPT = `
const tf = require('@tensorflow/tfjs');
const { initBackend, backendThreads } = require(${JSON.stringify(path.join(DIST, 'backend'))});
const { loadModelFrom } = require(${JSON.stringify(path.join(DIST, 'model', 'load'))});
const { explainTensor } = require(${JSON.stringify(path.join(DIST, 'pipeline', 'explain-tensor'))});
const { getMethod } = require(${JSON.stringify(path.join(DIST, 'methods'))});
(async () => {
  await initBackend('wasm');
  const model = await loadModelFrom(${JSON.stringify(path.join(ROOT, 'models', 'resnet-bn'))});
  const c = model.classifier;
  const [h, w, ch] = c.inputShape;
  const x = tf.tidy(() => tf.randomUniform([1, h, w, ch], 0, 1, 'float32', 7));
  const logits = tf.tidy(() => Array.from(c.predict(x).dataSync()));
  const ex = explainTensor(c, x, { methods: ['gradcam', 'scorecam'].map(getMethod), layers: [c.defaultTargetLayer()], topK: 2, score: 'logit' });
  console.log(JSON.stringify({ threads: backendThreads(), logits, maps: ex.maps.map((m) => Array.from(m.raw[0].data)) }));
})();`;

function run(threads: number): { threads: number; logits: number[]; maps: number[][] } {
  const r = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', timeout: 540_000, env: { ...process.env, TFJS_CAM_THREADS: String(threads) } });
  // A pool thread that held the process open would end in the timeout's SIGTERM, not a clean exit.
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const built = fs.existsSync(path.join(DIST, 'backend', 'wasm-threads.js'));
(built ? test : test.skip)('2 threads: the threaded build starts, gives the single-threaded numbers, and the process exits by itself', () => {
  const one = run(1);
  const two = run(2);
  expect(one.threads).toBe(1);
  expect(two.threads).toBe(2);
  expect(two.logits).toHaveLength(10);
  two.logits.forEach((v, i) => expect(Math.abs(v - one.logits[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(one.logits[i]))));
  expect(two.maps).toHaveLength(4); // 2 methods x 2 classes
  two.maps.forEach((map, m) => {
    expect(map.length).toBe(one.maps[m].length);
    const scale = Math.max(...one.maps[m].map(Math.abs), 1e-12);
    map.forEach((v, i) => expect(Math.abs(v - one.maps[m][i]) / scale).toBeLessThan(1e-5));
  });
});
if (!built) console.log('skipped the threaded WASM test: run `npm run build` first');
