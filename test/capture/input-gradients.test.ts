// Backward passes to the input in bounded parts (src/capture/input-gradients.ts): the same gradients and scores
// as one pass, in the same [targets, images] order, and every tensor released.
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadModelFrom } from '../../src/model/load';
import { inputGradients, rowsPerPass } from '../../src/capture/input-gradients';

beforeAll(async () => {
  await initBackend('wasm');
});

test.each([false, true])('5 images x 3 classes in parts of 4 rows = one pass (guided: %s)', async (guided) => {
  const model = await loadModelFrom(path.resolve(__dirname, '..', '..', 'models', 'resnet-bn'));
  const c = model.classifier;
  const xs = tf.randomUniform([5, ...c.inputShape], 0, 1, 'float32', 3) as tf.Tensor4D;
  const classes = [2, 7, 4];
  const one = inputGradients(c, xs, classes, 'logit', guided, 1000);
  const before = tf.memory().numTensors;
  const parts = inputGradients(c, xs, classes, 'logit', guided, 4); // 4 rows: 3 targets x 1 image per pass
  expect(tf.memory().numTensors).toBe(before + 2); // just the two results
  expect(parts.gradients.shape).toEqual(one.gradients.shape);
  expect(parts.scores.shape).toEqual([3, 5]);
  const [g1, g2] = [one.gradients.dataSync(), parts.gradients.dataSync()];
  const scale = Math.max(...Array.from(g1, Math.abs));
  expect(scale).toBeGreaterThan(0);
  for (let i = 0; i < g1.length; i++) expect(Math.abs(g1[i] - g2[i]) / scale).toBeLessThan(1e-5);
  Array.from(one.scores.dataSync()).forEach((v, i) => expect(parts.scores.dataSync()[i]).toBeCloseTo(v, 5));
  expect(parts.guidedReLUs > 0).toBe(guided);
  [one, parts].forEach((r) => (r.gradients.dispose(), r.scores.dispose()));
  xs.dispose();
  model.dispose();
});

test('rows per pass follow the model size: all of a small model, few of a big one', async () => {
  const small = await loadModelFrom(path.resolve(__dirname, '..', '..', 'models', 'gap-cnn'));
  const perRow = small.classifier.layers().reduce((s, l) => s + l.outputShape.reduce<number>((a, d) => a * (d ?? 1), 1), 0);
  expect(rowsPerPass(small.classifier)).toBe(Math.floor(100_000_000 / perRow));
  expect(rowsPerPass(small.classifier)).toBeGreaterThan(256);
  small.dispose();
});
