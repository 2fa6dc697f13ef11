// FullGrad against a second implementation written here with plain tf ops and the model's weights: the forward
// pass spelled out (conv, bias, ReLU, BN, max pool, GAP, dense) with zero offsets added *before* each activation,
// one tf.grads for the input and every offset. Checks the pieces, their completeness (they add up to the logit),
// the map (post-processing and align-corners upsampling written here too) and the refusals.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { parseMethods } from '../../src/methods';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });
const EPS = 1e-3;

function model(activation: string = 'relu'): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', activation: activation as 'relu', kernelInitializer: init(31), name: 'c1' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', kernelInitializer: init(32), name: 'c2' }),
      tf.layers.batchNormalization({ name: 'bn', epsilon: EPS }),
      tf.layers.activation({ activation: 'relu', name: 'r' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(34), name: 'c3' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 3, kernelInitializer: init(33), name: 'fc' }),
    ],
  });
  let s = 17;
  const r = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const vals = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + (hi - lo) * r());
  m.getLayer('c1').setWeights([m.getLayer('c1').getWeights()[0], tf.tensor1d(vals(4, -0.2, 0.3))]);
  m.getLayer('c2').setWeights([m.getLayer('c2').getWeights()[0], tf.tensor1d(vals(5, -0.2, 0.3))]);
  m.getLayer('bn').setWeights([tf.tensor1d(vals(5, 0.5, 1.5)), tf.tensor1d(vals(5, -0.3, 0.3)), tf.tensor1d(vals(5, -0.2, 0.2)), tf.tensor1d(vals(5, 0.5, 2))]);
  m.getLayer('c3').setWeights([m.getLayer('c3').getWeights()[0], tf.tensor1d(vals(3, 0.0, 0.3))]);
  m.getLayer('fc').setWeights([m.getLayer('fc').getWeights()[0], tf.tensor1d(vals(3, -0.5, 0.5))]);
  return m;
}

const X = (() => {
  let s = 5;
  return Array.from({ length: 8 * 8 * 3 }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32));
})();

/** The reference: input x bias-gradient pieces for class c, each as a flat array, plus the logit. */
function reference(m: tf.LayersModel, c: number) {
  const w = (l: string) => m.getLayer(l).getWeights();
  const [K1, b1] = w('c1'), [K2, b2] = w('c2'), [K3, b3] = w('c3'), [gamma, beta, mean, variance] = w('bn'), [W, b4] = w('fc');
  const bnScale = tf.div(gamma, tf.sqrt(tf.add(variance, EPS)));
  const bnBias = tf.sub(beta, tf.mul(mean, bnScale)); // BN(z) = z * scale + bnBias
  const x = tf.tensor4d(X, [1, 8, 8, 3]);
  const f = (xx: tf.Tensor, e1: tf.Tensor, e2: tf.Tensor, e3: tf.Tensor, e5: tf.Tensor, e4: tf.Tensor) => {
    const a1 = tf.relu(tf.add(tf.add(tf.conv2d(xx as tf.Tensor4D, K1 as tf.Tensor4D, 1, 'same'), b1), e1));
    const z2 = tf.add(tf.add(tf.conv2d(a1 as tf.Tensor4D, K2 as tf.Tensor4D, 1, 'same'), b2), e2);
    const a3 = tf.relu(tf.add(tf.add(tf.mul(z2, bnScale), bnBias), e3));
    const a5 = tf.relu(tf.add(tf.add(tf.conv2d(tf.maxPool(a3 as tf.Tensor4D, 2, 2, 'valid'), K3 as tf.Tensor4D, 1, 'same'), b3), e5));
    const g = tf.mean(a5, [1, 2]);
    const logits = tf.add(tf.add(tf.matMul(g as tf.Tensor2D, W as tf.Tensor2D), b4), e4);
    return tf.sum(tf.slice(logits, [0, c], [1, 1]));
  };
  const zeros = [[1, 8, 8, 4], [1, 8, 8, 5], [1, 8, 8, 5], [1, 4, 4, 3], [1, 3]].map((s) => tf.zeros(s));
  const g = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([x, ...zeros]);
  const pieces = [tf.mul(g[0], x), tf.mul(g[1], b1), tf.mul(g[2], b2), tf.mul(g[3], bnBias), tf.mul(g[4], b3), tf.mul(g[5], b4)].map((t) => Array.from(t.dataSync()));
  const logit = (m.predict(x) as tf.Tensor).dataSync()[c];
  return { pieces, logit };
}

/** The reference's map: psi per piece, channel sum, align-corners bilinear to 8x8 (same size here), added. */
function referenceMap(pieces: number[][]): number[] {
  const psi = (v: number[]) => {
    const a = v.map(Math.abs);
    const lo = Math.min(...a);
    const hi = Math.max(...a.map((t) => t - lo));
    return a.map((t) => (t - lo) / (hi + 1e-6));
  };
  const chanSum = (v: number[], C: number) => Array.from({ length: v.length / C }, (_, p) => v.slice(p * C, p * C + C).reduce((s, t) => s + t, 0));
  const map = chanSum(psi(pieces[0]), 3);
  [[1, 4], [2, 5], [3, 5]].forEach(([i, C]) => chanSum(psi(pieces[i]), C).forEach((t, p) => (map[p] += t))); // 8x8 already
  // c3 is 4x4: bilinear with corners aligned to 8x8 (source coordinate = target * (4 - 1) / (8 - 1))
  const low = chanSum(psi(pieces[4]), 3);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const sy = (y * 3) / 7, sx = (x * 3) / 7;
      const y0 = Math.floor(sy), x0 = Math.floor(sx), y1 = Math.min(3, y0 + 1), x1 = Math.min(3, x0 + 1), fy = sy - y0, fx = sx - x0;
      const at = (yy: number, xx: number) => low[yy * 4 + xx];
      map[y * 8 + x] += (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
    }
  }
  return map;
}

beforeAll(async () => {
  await initBackend('wasm');
});

test('FullGrad pieces = the hand-written decomposition, and they add up to the logit (completeness)', () => {
  const m = model();
  const clf = new LayersClassifier(m);
  expect(clf.fullGradPlan().kind).toBe('ok');
  for (const c of [0, 2]) {
    const ref = reference(m, c);
    const x = tf.tensor4d(X, [1, 8, 8, 3]);
    const got = tf.tidy(() => {
      const p = clf.fullGradPieces(x, (l) => tf.reshape(tf.slice(l, [0, c], [-1, 1]), [-1]) as tf.Tensor1D);
      return [p.input, ...p.biases].map((t) => Array.from(t.dataSync()));
    });
    x.dispose();
    expect(got).toHaveLength(6); // input, c1, c2, bn, c3, fc
    got.forEach((piece, i) => {
      const scale = Math.max(...ref.pieces[i].map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      piece.forEach((v, j) => expect(Math.abs(v - ref.pieces[i][j]) / scale).toBeLessThan(1e-4));
    });
    const total = got.flat().reduce((s, v) => s + v, 0);
    expect(total).toBeCloseTo(ref.logit, 4);
  }
  m.dispose();
});

test('FullGrad map: psi(|piece|) summed over channels and layers, as the reference implementation', () => {
  const m = model();
  const x = tf.tensor4d(X, [1, 8, 8, 3]);
  const ex = explainTensor(new LayersClassifier(m), x, { methods: parseMethods('fullgrad'), layers: ['c2'], classes: [1], topK: 1, score: 'logit' });
  x.dispose();
  const want = referenceMap(reference(m, 1).pieces);
  expect(ex.maps[0].raw[0]).toMatchObject({ layer: 'input', height: 8, width: 8 });
  const got = ex.maps[0].raw[0].data;
  want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
  m.dispose();
});

test('FullGrad is refused with the reason for a model that is not piecewise linear, and left out of --method all there', () => {
  const m = model('elu');
  const clf = new LayersClassifier(m);
  const plan = clf.fullGradPlan();
  expect(plan.kind).toBe('none');
  const x = tf.tensor4d(X, [1, 8, 8, 3]);
  expect(() => explainTensor(clf, x, { methods: parseMethods('fullgrad'), layers: ['c2'], classes: [0], topK: 1, score: 'logit' })).toThrow(
    "FullGrad is not possible for this model: 'c1' (Conv2D) applies activation 'elu', which is not piecewise linear: FullGrad's decomposition holds only for piecewise-linear networks; use --method integrated-gradients, smoothgrad or saliency",
  );
  x.dispose();
  expect(parseMethods('all', true, false).map((mm) => mm.name)).not.toContain('fullgrad');
  expect(parseMethods('all').map((mm) => mm.name)).toContain('fullgrad');
  m.dispose();
});

test('FullGrad releases its tensors and restores the layers', () => {
  const m = model();
  const clf = new LayersClassifier(m);
  const x = tf.tensor4d(X, [1, 8, 8, 3]);
  const run = () => explainTensor(clf, x, { methods: parseMethods('fullgrad'), layers: ['c2'], classes: [0, 2], topK: 2, score: 'logit' });
  run();
  const before = tf.memory().numTensors;
  run();
  expect(tf.memory().numTensors).toBe(before);
  // the layers' calls are the originals again: a plain prediction is unchanged
  const p = tf.tidy(() => Array.from((m.predict(x) as tf.Tensor).dataSync()));
  const q = tf.tidy(() => Array.from(clf.predict(x).dataSync()));
  q.forEach((v, i) => expect(v).toBeCloseTo(p[i], 5));
  expect(Object.prototype.hasOwnProperty.call(m.getLayer('c1'), 'call')).toBe(false);
  x.dispose();
  m.dispose();
});
