import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';

// The delegated Conv2DBackpropFilter on WASM must agree with the CPU backend's native kernel.
test.each([
  [1, 'same', 3],
  [2, 'same', 3],
  [2, 'valid', 3],
  [1, 'valid', 1],
] as const)('Conv2DBackpropFilter on WASM (stride %d, %s, kernel size %d) matches the CPU backend', async (stride, pad, k) => {
  await initBackend('wasm');
  const xv = Array.from({ length: 2 * 7 * 7 * 3 }, (_, i) => Math.sin(i * 0.37));
  const wv = Array.from({ length: k * k * 3 * 4 }, (_, i) => Math.cos(i * 0.11));
  const lossOf = (x: tf.Tensor4D) => (w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, stride, pad).square().sum();
  const before = tf.memory().numTensors;
  const gWasm = tf.tidy(() => tf.grad(lossOf(tf.tensor4d(xv, [2, 7, 7, 3])))(tf.tensor4d(wv, [k, k, 3, 4])).arraySync());
  expect(tf.memory().numTensors).toBe(before);
  await tf.setBackend('cpu');
  const gCpu = tf.tidy(() => tf.grad(lossOf(tf.tensor4d(xv, [2, 7, 7, 3])))(tf.tensor4d(wv, [k, k, 3, 4])).arraySync());
  await tf.setBackend('wasm');
  const a = (gWasm as number[][][][]).flat(3);
  const b = (gCpu as number[][][][]).flat(3);
  expect(a.length).toBe(k * k * 12);
  const maxAbs = Math.max(...b.map(Math.abs));
  expect(maxAbs).toBeGreaterThan(1);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4 * maxAbs);
});

test.each([
  [1, 'same', 3],
  [1, 'valid', 3],
  [2, 'same', 3],
  [1, 'same', 1],
] as const)('Conv2DBackpropInput on WASM (stride %d, %s, kernel size %d) matches the CPU backend', async (stride, pad, k) => {
  await initBackend('wasm');
  const xv = Array.from({ length: 2 * 7 * 7 * 3 }, (_, i) => Math.sin(i * 0.29));
  const wv = Array.from({ length: k * k * 3 * 4 }, (_, i) => Math.cos(i * 0.17));
  const lossOf = (w: tf.Tensor4D) => (x: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w, stride, pad).square().sum();
  const before = tf.memory().numTensors;
  const gWasm = tf.tidy(() => tf.grad(lossOf(tf.tensor4d(wv, [k, k, 3, 4])))(tf.tensor4d(xv, [2, 7, 7, 3])).arraySync());
  expect(tf.memory().numTensors).toBe(before);
  await tf.setBackend('cpu');
  const gCpu = tf.tidy(() => tf.grad(lossOf(tf.tensor4d(wv, [k, k, 3, 4])))(tf.tensor4d(xv, [2, 7, 7, 3])).arraySync());
  await tf.setBackend('wasm');
  const a = (gWasm as number[][][][]).flat(3);
  const b = (gCpu as number[][][][]).flat(3);
  expect(a.length).toBe(2 * 7 * 7 * 3);
  const maxAbs = Math.max(...b.map(Math.abs));
  expect(maxAbs).toBeGreaterThan(1);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4 * maxAbs);
});

// AvgPoolGrad on WASM (non-overlapping windows: a resize, a scale and a pad) must agree with the CPU backend's.
test.each([
  [[2, 7, 7, 5], 7, 7, 'valid'], // global pooling, as a classifier head
  [[2, 7, 7, 5], 7, 1, 'valid'], // the same with stride 1, as converted TF graphs write it
  [[1, 4, 6, 2], [4, 2], [1, 2], 'valid'], // one window down, 2x2-wide windows across
  [[1, 8, 6, 3], 2, 2, 'valid'], // 2x2 windows tiling the map
  [[1, 9, 7, 2], 2, 2, 'valid'], // a last row and column no window covers: gradient 0 there
  [[1, 6, 6, 2], 3, 3, 'same'], // 'same' that needs no padding
  [[1, 7, 7, 2], 3, 3, 'same'], // padded windows: the native kernel
  [[1, 5, 5, 2], 2, 1, 'valid'], // overlapping windows: the native kernel
] as const)('AvgPoolGrad on WASM (%j, window %j, stride %j, %s) matches the CPU backend', async (shape, k, stride, pad) => {
  await initBackend('wasm');
  const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
  const xv = Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
  const lossOf = (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, k as number | [number, number], stride as number | [number, number], pad).square().sum();
  const before = tf.memory().numTensors;
  const gWasm = tf.tidy(() => Array.from(tf.grad(lossOf)(tf.tensor4d(xv, [...shape] as [number, number, number, number])).dataSync()));
  expect(tf.memory().numTensors).toBe(before);
  await tf.setBackend('cpu');
  const gCpu = tf.tidy(() => Array.from(tf.grad(lossOf)(tf.tensor4d(xv, [...shape] as [number, number, number, number])).dataSync()));
  await tf.setBackend('wasm');
  expect(gWasm).toHaveLength(gCpu.length);
  gCpu.forEach((v, i) => expect(gWasm[i]).toBeCloseTo(v, 5));
});

// WASM's own MaxPoolGrad started its search for the maximum at FLT_MIN: these are the examples, by hand.
describe('max-pool gradient on WASM, by hand', () => {
  const gradOfPool = (x: tf.Tensor4D, k: number, s: number, pad: 'valid' | 'same') => tf.tidy(() => Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, k, s, pad)))(x).dataSync()));

  test('a window of negatives gives its gradient to its maximum', async () => {
    await initBackend('wasm');
    expect(gradOfPool(tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1]), 2, 2, 'valid')).toEqual([0, 1, 0, 0]);
  });

  test('an all-negative 8x8x16 input pooled 2x2: every one of the 256 windows passes its gradient on', async () => {
    await initBackend('wasm');
    const g = gradOfPool(tf.tidy(() => tf.neg(tf.add(tf.randomUniform([1, 8, 8, 16], 0, 1, 'float32', 5), 0.1)) as tf.Tensor4D), 2, 2, 'valid');
    expect(g.reduce((a, b) => a + b, 0)).toBe(256);
    expect(g.filter((v) => v === 1)).toHaveLength(256);
  });

  test('a window of zeros (after a ReLU) gives it to its first element, ties to the first maximum', async () => {
    await initBackend('wasm');
    // Windows: [0,0;0,0] -> first; [5,5;1,5] -> first 5; [-1,2;2,-1] -> first 2; [7,7;7,7] -> first 7.
    const x = tf.tensor4d([0, 0, 5, 5, 0, 0, 1, 5, -1, 2, 7, 7, 2, -1, 7, 7], [1, 4, 4, 1]);
    expect(gradOfPool(x, 2, 2, 'valid')).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
  });

  test('overlapping windows (3x3, stride 1, same) add up at a shared maximum', async () => {
    await initBackend('wasm');
    // A single peak at the centre of a 3x3 image of negatives is the maximum of all 9 windows.
    const x = tf.tensor4d([-5, -4, -6, -3, -1, -7, -8, -2, -9], [1, 3, 3, 1]);
    expect(gradOfPool(x, 3, 1, 'same')).toEqual([0, 0, 0, 0, 9, 0, 0, 0, 0]);
  });
});
