// Custom targets: every method scores the target, checked against plain tf.grad of the target's score written
// here (saliency, layer gradients through Grad-CAM), against CAM weights combined by hand, and the parser.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { parseMethods } from '../../src/methods';
import { parseTarget, Target, targetLabel, targetSpec } from '../../src/capture/targets';
import { gapDenseModel, seededInput } from '../helpers/models';

beforeAll(async () => {
  await initBackend('wasm');
});

/** max over channels of |d f(logits) / dx| by plain tf.grad on model.predict. */
function plainSaliency(model: tf.LayersModel, x: tf.Tensor4D, f: (logits: tf.Tensor2D) => tf.Tensor): number[] {
  return tf.tidy(() => Array.from(tf.max(tf.abs(tf.grad((t: tf.Tensor) => tf.sum(f(model.predict(t) as tf.Tensor2D)))(x)), 3).dataSync()));
}
const col = (l: tf.Tensor2D, c: number) => tf.slice(l, [0, c], [-1, 1]);

function expectClose(got: ArrayLike<number>, want: number[], rel = 1e-4) {
  const scale = Math.max(...want.map(Math.abs));
  expect(scale).toBeGreaterThan(0);
  want.forEach((v, i) => expect(Math.abs(got[i] - v) / scale).toBeLessThan(rel));
}

test('saliency of logit-diff, sum (logits and probabilities) and function targets = plain tf.grad of that score', () => {
  const model = gapDenseModel(8, 4);
  const clf = new LayersClassifier(model);
  const x = seededInput([1, 8, 8, 3], 5);
  const fn: Target = { kind: 'function', name: 'p2', score: (l) => tf.reshape(tf.slice(tf.softmax(l), [0, 2], [-1, 1]), [-1]) as tf.Tensor1D };
  const targets: Target[] = [{ kind: 'logit-diff', classes: [1, 3] }, { kind: 'sum', classes: [0, 2] }, fn];
  const ex = explainTensor(clf, x, { methods: parseMethods('saliency'), layers: ['feat'], targets, topK: 1, score: 'logit' });
  expect(ex.maps.map((m) => targetSpec(m.target))).toEqual(['logit-diff:1,3', 'sum:0,2', 'fn:p2']);
  expect(ex.classes).toEqual([1, 0, -1]);
  expectClose(ex.maps[0].raw[0].data, plainSaliency(model, x, (l) => tf.sub(col(l, 1), col(l, 3))));
  expectClose(ex.maps[1].raw[0].data, plainSaliency(model, x, (l) => tf.add(col(l, 0), col(l, 2))));
  expectClose(ex.maps[2].raw[0].data, plainSaliency(model, x, (l) => col(tf.softmax(l), 2)));
  // --score probability: a sum target sums the probabilities
  const exp = explainTensor(clf, x, { methods: parseMethods('saliency'), layers: ['feat'], targets: [{ kind: 'sum', classes: [0, 2] }], topK: 1, score: 'probability' });
  expectClose(exp.maps[0].raw[0].data, plainSaliency(model, x, (l) => tf.add(col(tf.softmax(l), 0), col(tf.softmax(l), 2))));
  x.dispose();
  model.dispose();
});

test('Grad-CAM of logit-diff:c1,c2 uses the gradient of the difference; CAM uses W[:,c1] - W[:,c2]', () => {
  const model = gapDenseModel(8, 4);
  const clf = new LayersClassifier(model);
  const x = seededInput([1, 8, 8, 3], 9);
  const feat = tf.model({ inputs: model.inputs, outputs: model.getLayer('feat').output as tf.SymbolicTensor });
  const A = (feat.predict(x) as tf.Tensor4D).arraySync()[0]; // [8][8][5]
  const W = (model.getLayer('fc').getWeights()[0] as tf.Tensor2D).arraySync(); // [5][4]
  const ex = explainTensor(clf, x, { methods: parseMethods('gradcam,cam'), layers: ['feat'], targets: [{ kind: 'logit-diff', classes: [0, 2] }], topK: 1, score: 'logit' });
  // d(l0 - l2)/dA_ijk = (W[k][0] - W[k][2]) / 64 (GAP then dense): Grad-CAM weights = that, CAM weights = 64 times it
  const w = W.map((row) => row[0] - row[2]);
  const want = A.flat().map((a) => Math.max(0, a.reduce((s, v, k) => s + v * w[k], 0)));
  expectClose(ex.maps[0].raw[0].data, want.map((v) => v / 64));
  expectClose(ex.maps[1].raw[0].data, want);
  expect(ex.maps[0].classIndex).toBe(0);
  // a function target has no CAM weights
  const fn: Target = { kind: 'function', name: 'f', score: (l) => tf.reshape(col(l, 0), [-1]) as tf.Tensor1D };
  expect(() => explainTensor(clf, x, { methods: parseMethods('cam'), layers: ['feat'], targets: [fn], topK: 1, score: 'logit' })).toThrow(/CAM needs targets that are linear/);
  x.dispose();
  model.dispose(); // also the layers 'feat' shares with it
});

test('Score-CAM scores a sum target: its map is the one computed for the sum of the two classes\' scores', () => {
  // Score-CAM's weights are softmax over channels of the masked inputs' scores: for sum:0,1 the score is l0 + l1.
  const model = gapDenseModel(8, 4);
  const clf = new LayersClassifier(model);
  const x = seededInput([1, 8, 8, 3], 11);
  const sumMap = explainTensor(clf, x, { methods: parseMethods('scorecam'), layers: ['feat'], targets: [{ kind: 'sum', classes: [0, 1] }], topK: 1, score: 'logit' }).maps[0].raw[0].data;
  const fnMap = explainTensor(clf, x, { methods: parseMethods('scorecam'), layers: ['feat'], targets: [{ kind: 'function', name: 's', score: (l) => tf.reshape(tf.add(col(l, 0), col(l, 1)), [-1]) as tf.Tensor1D }], topK: 1, score: 'logit' }).maps[0].raw[0].data;
  const one = explainTensor(clf, x, { methods: parseMethods('scorecam'), layers: ['feat'], classes: [0], topK: 1, score: 'logit' }).maps[0].raw[0].data;
  expectClose(sumMap, Array.from(fnMap), 1e-5);
  expect(Array.from(sumMap)).not.toEqual(Array.from(one));
  x.dispose();
  model.dispose();
});

test('--target specs: class, logit-diff, sum, by index or label; bad ones are refused', () => {
  const labels = ['ant', 'bee', 'cat'];
  const idx = (c: string) => {
    const i = /^\d+$/.test(c) ? Number(c) : labels.indexOf(c);
    if (i < 0) throw new Error(`no class labelled '${c}'`);
    return i;
  };
  expect(parseTarget('class:1', idx)).toEqual({ kind: 'class', index: 1 });
  expect(parseTarget('cat', idx)).toEqual({ kind: 'class', index: 2 });
  expect(parseTarget('logit-diff:cat,0', idx)).toEqual({ kind: 'logit-diff', classes: [2, 0] });
  expect(parseTarget('sum:0, bee ,2', idx)).toEqual({ kind: 'sum', classes: [0, 1, 2] });
  expect(targetLabel(parseTarget('logit-diff:cat,0', idx), labels)).toBe('cat - ant');
  expect(targetLabel(parseTarget('sum:0,1', idx), labels)).toBe('ant + bee');
  expect(() => parseTarget('logit-diff:1', idx)).toThrow(/takes two classes/);
  expect(() => parseTarget('logit-diff:1,1', idx)).toThrow(/the same/);
  expect(() => parseTarget('sum:1,1', idx)).toThrow(/given twice/);
  expect(() => parseTarget('max:1,2', idx)).toThrow(/use class:<c>, logit-diff/);
  expect(() => parseTarget('class:1,2', idx)).toThrow(/one class/);
});

test('explain() with a function target and --jobs 2 runs in this thread (a function cannot go to a worker) and labels the maps', async () => {
  const { explain } = await import('../../src/pipeline/explain');
  const path = await import('path');
  const root = path.resolve(__dirname, '..', '..');
  const fn: Target = { kind: 'function', name: 'three minus mean', score: (l) => tf.sub(tf.reshape(col(l, 3), [-1]), tf.mean(l, 1)) as tf.Tensor1D };
  const files = ['digit-00-0.png', 'digit-01-1.png'].map((f) => path.join(root, 'samples', f)).filter((f) => require('fs').existsSync(f));
  expect(files.length).toBeGreaterThan(0);
  const r = await explain(files, { model: path.join(root, 'models', 'gap-cnn'), method: 'gradcam', targets: [fn, 'logit-diff:3,8'], out: null, jobs: 2, returnMaps: true });
  expect(r.report.summary.failed).toBe(0);
  expect(r.maps![0].maps.map((m) => [m.target, m.label])).toEqual([['fn:three minus mean', 'three minus mean'], ['logit-diff:3,8', '3 - 8']]);
  expect(r.report.images[0].maps!.map((m) => m.target?.spec)).toEqual(['fn:three minus mean', 'logit-diff:3,8']);
});
