// Deep Feature Factorization on models whose activations are known: two colours planted in the two halves of an
// image are found as two concepts, each where its colour is; each concept's classes are its vector through the
// head (checked by hand: GAP of a constant map is the vector, then the Dense layer); a head that does not pool
// into linear layers is refused with the reason.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { factorizeConcepts } from '../../src/concepts/factorize';
import { gapDenseModel, seededInput } from '../helpers/models';

beforeAll(async () => {
  await initBackend('wasm');
});

/** 1x1 conv with identity weights + ReLU ('feat', the image's own 3 channels), GAP, Dense to 4 classes. */
function identityFeatures(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 3, kernelSize: 1, activation: 'relu', name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }), biasInitializer: tf.initializers.constant({ value: 0.1 }), name: 'fc' }),
    ],
  });
  m.getLayer('feat').setWeights([tf.eye(3).reshape([1, 1, 3, 3]), tf.zeros([3])]);
  return m;
}

const cos = (a: ArrayLike<number>, b: number[]) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0) / Math.hypot(...Array.from(a)) / Math.hypot(...b);

test('two colours planted in the halves of two images are two concepts, each mapped where its colour is', () => {
  const model = identityFeatures();
  const clf = new LayersClassifier(model);
  // Every channel is 0 somewhere (as after a ReLU), so DFF's per-channel shift is 0 and V has rank 2 exactly.
  const left = [1, 0.4, 0], right = [0, 0, 1];
  // Image 0: left colour on the left half, right colour on the right; image 1 the other way round, fainter.
  const image = (a: number[], b: number[], s: number) => tf.tensor4d(Array.from({ length: 64 }, (_, p) => ((p % 8) < 4 ? a : b).map((v) => v * s)).flat(), [1, 8, 8, 3]);
  const xs = [image(left, right, 1), image(right, left, 0.5)];
  const r = factorizeConcepts(clf, xs, { k: 2, seed: 0, layer: 'feat', maxIterations: 2000 });
  expect(r.layer).toBe('feat');
  expect(r.grid).toEqual([8, 8]);
  expect(r.relativeError).toBeLessThan(1e-3);
  const j = cos(r.vectors[0], left) > cos(r.vectors[1], left) ? 0 : 1;
  expect(cos(r.vectors[j], left)).toBeGreaterThan(0.999);
  expect(cos(r.vectors[1 - j], right)).toBeGreaterThan(0.999);
  // The left colour's map: 1 on the left half of image 0 and the right half of image 1, 0 elsewhere.
  const half = (p: number, img: number) => ((p % 8) < 4) === (img === 0);
  for (const img of [0, 1]) {
    r.maps[img][j].forEach((v, p) => expect(Math.abs(v - (half(p, img) ? 1 : 0))).toBeLessThan(1e-3));
    r.maps[img][1 - j].forEach((v, p) => expect(Math.abs(v - (half(p, img) ? 0 : 1))).toBeLessThan(1e-3));
  }
  // Each concept's share of an image: the two halves hold the two concepts' weights, in the ratio of their scales.
  for (const img of [0, 1]) expect(r.shares[img].reduce((a, b) => a + b)).toBeCloseTo(1, 6);
  tf.dispose(xs);
  model.dispose();
});

test("a concept's classes are its vector through the head: GAP of the constant map, then Dense (bias included)", () => {
  const model = gapDenseModel(8, 4);
  const clf = new LayersClassifier(model);
  const xs = [seededInput([1, 8, 8, 3], 1), seededInput([1, 8, 8, 3], 2), seededInput([1, 8, 8, 3], 3)];
  const r = factorizeConcepts(clf, xs, { k: 3, seed: 4, topClasses: 4 });
  expect(r.layer).toBe('feat');
  const [W, b] = model.getLayer('fc').getWeights().map((t) => t.arraySync()) as [number[][], number[]];
  r.vectors.forEach((vec, j) => {
    const logits = b.map((bias, c) => bias + Array.from(vec).reduce((s, v, k) => s + v * W[k][c], 0));
    const order = logits.map((_, c) => c).sort((p, q) => logits[q] - logits[p]);
    expect(r.classes[j].map((c) => c.index)).toEqual(order);
    r.classes[j].forEach((c) => expect(c.logit).toBeCloseTo(logits[c.index], 4));
    const e = logits.map(Math.exp);
    r.classes[j].forEach((c) => expect(c.probability).toBeCloseTo(e[c.index] / e.reduce((s, v) => s + v), 5));
  });
  // Deterministic for a seed; another seed starts elsewhere.
  const again = factorizeConcepts(clf, xs, { k: 3, seed: 4, topClasses: 4 });
  expect(again.vectors.map((v) => Array.from(v))).toEqual(r.vectors.map((v) => Array.from(v)));
  expect(again.maps[2][1]).toEqual(r.maps[2][1]);
  const other = factorizeConcepts(clf, xs, { k: 3, seed: 5, topClasses: 4 });
  expect(other.vectors.map((v) => Array.from(v))).not.toEqual(r.vectors.map((v) => Array.from(v)));
  tf.dispose(xs);
  model.dispose();
});

test('a head that does not pool into linear layers is refused with the reason; no tensor is left behind', () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), name: 'feat' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }), name: 'fc' }),
    ],
  });
  const clf = new LayersClassifier(model);
  const x = seededInput([1, 8, 8, 3], 1);
  const before = tf.memory().numTensors;
  expect(() => factorizeConcepts(clf, [x], { k: 2 })).toThrow(
    "concepts need a head after 'feat' that pools and then applies linear layers, to name each concept's classes: 'flat' (Flatten) turns the 8, 8, 4 map into 256: what follows weighs each position separately, which CAM cannot express",
  );
  expect(tf.memory().numTensors).toBe(before);
  const ok = identityFeatures();
  const before2 = tf.memory().numTensors;
  factorizeConcepts(new LayersClassifier(ok), [x], { k: 2, layer: 'feat' });
  expect(tf.memory().numTensors).toBe(before2);
  x.dispose();
  model.dispose();
  ok.dispose();
});
