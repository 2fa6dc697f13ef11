import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';

// The delegated Conv2DBackpropFilter on WASM must agree with the CPU backend's native kernel.
test('Conv2DBackpropFilter works on WASM through the CPU stand-in and matches CPU', async () => {
  await initBackend('wasm');
  const xv = Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i * 0.37));
  const wv = Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.11));
  const lossOf = (x: tf.Tensor4D) => (w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, 1, 'same').square().sum();
  const gWasm = tf.tidy(() => tf.grad(lossOf(tf.tensor4d(xv, [2, 6, 6, 3])))(tf.tensor4d(wv, [3, 3, 3, 4])).arraySync());
  await tf.setBackend('cpu');
  const gCpu = tf.tidy(() => tf.grad(lossOf(tf.tensor4d(xv, [2, 6, 6, 3])))(tf.tensor4d(wv, [3, 3, 3, 4])).arraySync());
  await tf.setBackend('wasm');
  const a = (gWasm as number[][][][]).flat(3);
  const b = (gCpu as number[][][][]).flat(3);
  expect(a.length).toBe(108);
  const maxAbs = Math.max(...b.map(Math.abs));
  expect(maxAbs).toBeGreaterThan(1);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4 * maxAbs);
});
