import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { auc, averageDropAndIncrease, deletionInsertion, imageFaithfulness, maskedProbability } from '../../src/metrics/faithfulness';

beforeAll(async () => {
  await initBackend('wasm');
});

test('AUC by the trapezoid rule over x in [0, 1]', () => {
  expect(auc([1, 0])).toBeCloseTo(0.5, 10);
  expect(auc([0, 1, 1])).toBeCloseTo(0.75, 10); // (0.5 + 1) / 2
  expect(auc([0.2, 0.2, 0.2, 0.2])).toBeCloseTo(0.2, 10);
});

test('Average Drop and Increase in Confidence by hand', () => {
  // drops: (0.8-0.4)/0.8 = 0.5, (0.5-0.6 -> 0), (0.2-0.1)/0.2 = 0.5  -> mean 1/3; one of three increased
  const r = averageDropAndIncrease([
    { y: 0.8, o: 0.4 },
    { y: 0.5, o: 0.6 },
    { y: 0.2, o: 0.1 },
  ]);
  expect(r.averageDrop).toBeCloseTo(100 / 3, 6);
  expect(r.increaseInConfidence).toBeCloseTo(100 / 3, 6);
});

// A "model" whose class probability is the mean pixel value of its input: each curve can be worked out.
const meanProbability = (x: tf.Tensor4D) => tf.tidy(() => tf.mean(x, [1, 2, 3]).dataSync() as Float32Array);

test('deletion and insertion curves follow the map ranking, in the given number of steps', () => {
  // 2x2 image, values 0.4, 0.3, 0.2, 0.1; the map ranks pixel 3 first, then 2, 1, 0.
  const x = tf.tensor4d([0.4, 0.3, 0.2, 0.1], [1, 2, 2, 1]);
  const map = new Float32Array([0.1, 0.5, 0.7, 0.9]);
  const { deletion, insertion } = deletionInsertion(x, map, meanProbability, 4, 2);
  // deletion removes 0.1, then 0.2, then 0.3, then 0.4 (means of what is left)
  [1.0 / 4, 0.9 / 4, 0.7 / 4, 0.4 / 4, 0].forEach((v, i) => expect(deletion[i]).toBeCloseTo(v, 6));
  [0, 0.1 / 4, 0.3 / 4, 0.6 / 4, 1.0 / 4].forEach((v, i) => expect(insertion[i]).toBeCloseTo(v, 6));
  expect(maskedProbability(x, new Float32Array([1, 0, 0.5, 1]), meanProbability)).toBeCloseTo((0.4 + 0.1 + 0.1) / 4, 6);
  x.dispose();
});

test('all maps of an image are measured together: shared end points scored once, inputs batched across maps', () => {
  const x = tf.tensor4d([0.4, 0.3, 0.2, 0.1], [1, 2, 2, 1]);
  const a = new Float32Array([0.1, 0.5, 0.7, 0.9]); // ranks pixel 3, 2, 1, 0
  const b = new Float32Array([1, 0.6, 0.3, 0]); // ranks pixel 0, 1, 2, 3
  const calls: number[] = [];
  const counted = (xs: tf.Tensor4D) => {
    calls.push(xs.shape[0]);
    return meanProbability(xs);
  };
  const r = imageFaithfulness(x, [a, b], counted, 4, 32);
  // plain + baseline + 2 maps x (masked + 3 inner deletion + 3 inner insertion) = 16 inputs, one call
  expect(calls).toEqual([16]);
  expect(r.y).toBeCloseTo(1.0 / 4, 6);
  [1.0 / 4, 0.9 / 4, 0.7 / 4, 0.4 / 4, 0].forEach((v, i) => expect(r.maps[0].deletion[i]).toBeCloseTo(v, 6));
  [0, 0.1 / 4, 0.3 / 4, 0.6 / 4, 1.0 / 4].forEach((v, i) => expect(r.maps[0].insertion[i]).toBeCloseTo(v, 6));
  [1.0 / 4, 0.6 / 4, 0.3 / 4, 0.1 / 4, 0].forEach((v, i) => expect(r.maps[1].deletion[i]).toBeCloseTo(v, 6));
  [0, 0.4 / 4, 0.7 / 4, 0.9 / 4, 1.0 / 4].forEach((v, i) => expect(r.maps[1].insertion[i]).toBeCloseTo(v, 6));
  expect(r.maps[0].masked).toBeCloseTo((0.04 + 0.15 + 0.14 + 0.09) / 4, 6);
  expect(r.maps[1].masked).toBeCloseTo((0.4 + 0.18 + 0.06) / 4, 6);
  // smaller batches give the same numbers in ceil(16 / 5) calls
  calls.length = 0;
  expect(imageFaithfulness(x, [a, b], counted, 4, 5)).toEqual(r);
  expect(calls).toEqual([5, 5, 5, 1]);
  const before = tf.memory().numTensors;
  imageFaithfulness(x, [a, b], meanProbability, 4, 3);
  expect(tf.memory().numTensors).toBe(before); // every tensor released
  x.dispose();
});
