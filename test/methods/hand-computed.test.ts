// Each method on a 2x2x2 activation, against values worked out by hand (derivations in the comments).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { getMethod, DEFAULT_METHOD_OPTIONS, MethodInputs } from '../../src/methods';

// A channel 0 = [[1,2],[3,4]], channel 1 = [[0,1],[1,0]]   (layout [1, h, w, K])
const A = tf.tensor4d([1, 0, 2, 1, 3, 1, 4, 0], [1, 2, 2, 2]);
// G channel 0 = 0.5 everywhere, channel 1 = [[2,0],[0,2]]   (one class)
const G = tf.tensor4d([0.5, 2, 0.5, 0, 0.5, 0, 0.5, 2], [1, 2, 2, 2]);

function run(name: string, inputs: Partial<MethodInputs>): number[] {
  const k = inputs.gradients?.shape[0] ?? (inputs.cam && 'channels' in inputs.cam ? inputs.cam.channels.length : inputs.cam?.weights.shape[1]) ?? 1;
  const full = { activations: A, classes: Array.from({ length: k }, (_, i) => i), options: DEFAULT_METHOD_OPTIONS, ...inputs } as MethodInputs;
  return Array.from(tf.tidy(() => getMethod(name).compute(full)).dataSync());
}

beforeAll(async () => {
  await initBackend('wasm');
});

test('Grad-CAM: weights are the mean gradient, map = ReLU(sum_k w_k A_k)', () => {
  // w0 = mean(0.5) = 0.5, w1 = mean(2,0,0,2) = 1  ->  0.5*A0 + A1 = [[0.5, 2], [2.5, 2]]
  const m = run('gradcam', { activations: A, gradients: G });
  expect(m).toHaveLength(4);
  [0.5, 2, 2.5, 2].forEach((v, i) => expect(m[i]).toBeCloseTo(v, 6));
});

test('Grad-CAM: negative weighted sums are cut by ReLU', () => {
  const neg = tf.neg(G) as tf.Tensor4D;
  expect(run('gradcam', { activations: A, gradients: neg })).toEqual([0, 0, 0, 0]);
});

test('Grad-CAM++: alpha = G^2 / (2G^2 + S G^3 + 1e-6), w = sum ReLU(G) alpha', () => {
  // channel 0: S0 = 10, G = 0.5 -> alpha = 0.25 / (0.5 + 10*0.125) = 1/7; w0 = 4 * 0.5 * 1/7 = 2/7
  // channel 1: S1 = 2, G = 2 at two places -> alpha = 4 / (8 + 2*8) = 1/6, alpha = 0 where G = 0; w1 = 2 * 2/6 = 2/3
  // map = 2/7 A0 + 2/3 A1 = [[2/7, 4/7 + 2/3], [6/7 + 2/3, 8/7]]
  const m = run('gradcam++', { activations: A, gradients: G });
  [2 / 7, 4 / 7 + 2 / 3, 6 / 7 + 2 / 3, 8 / 7].forEach((v, i) => expect(m[i]).toBeCloseTo(v, 5));
});

test('CAM with classifier weights: map_c = ReLU(sum_k W[k, c] A_k) for each requested class', () => {
  // Two classes, weights columns (1, -1) and (0.5, 2):
  // class a: A0 - A1 = [[1, 1], [2, 4]];  class b: 0.5 A0 + 2 A1 = [[0.5, 3], [3.5, 2]]
  const W = tf.tensor2d([1, 0.5, -1, 2], [2, 2]); // [K, k]
  const m = run('cam', { activations: A, cam: { weights: W } });
  [1, 1, 2, 4, 0.5, 3, 3.5, 2].forEach((v, i) => expect(m[i]).toBeCloseTo(v, 6));
});

test('CAM where the channels are the class maps takes channel c itself', () => {
  const m = run('cam', { activations: A, cam: { channels: [1, 0] } });
  expect(m).toEqual([0, 1, 1, 0, 1, 2, 3, 4]);
});

test('methods batch classes: row i uses gradient row i', () => {
  const G2 = tf.concat([G, tf.mul(G, 2)], 0) as tf.Tensor4D;
  const m = run('gradcam', { activations: A, gradients: G2 });
  expect(m).toHaveLength(8);
  for (let i = 0; i < 4; i++) expect(m[4 + i]).toBeCloseTo(2 * m[i], 6);
});
