// Score-CAM and Ablation-CAM on a tiny model whose answer can be derived by hand:
//   feat = 1x1 conv of a one-channel 4x4 image with weights a = (1, 2) (so feat_k = a_k x),
//   logits = W^T mean(feat) + b.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { getMethod } from '../../src/methods';

const a = [1, 2];
const Wd = [
  [0.5, -1.0],
  [0.25, 0.75],
]; // Wd[k][c]
const b = [0.1, -0.2];
const x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((v) => v / 15); // has a 0: min(A) = 0

function tinyModel(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 1, useBias: false, name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 2, name: 'fc' }),
    ],
  });
  m.getLayer('feat').setWeights([tf.tensor4d(a, [1, 1, 1, 2])]);
  m.getLayer('fc').setWeights([tf.tensor2d(Wd.flat(), [2, 2]), tf.tensor1d(b)]);
  return m;
}

const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
const logit = (c: number, meanFeat: number[]) => meanFeat.reduce((s, m, k) => s + Wd[k][c] * m, 0) + b[c];

function run(method: string, maxChannels = 0): Float32Array[] {
  const model = tinyModel();
  const clf = new LayersClassifier(model);
  const input = tf.tensor4d(x, [1, 4, 4, 1]);
  const ex = explainTensor(clf, input, { methods: [getMethod(method)], layers: ['feat'], classes: [0, 1], topK: 2, score: 'logit', methodOptions: { batchSize: 1, maxChannels } });
  input.dispose();
  model.dispose();
  return ex.maps.map((m) => m.raw[0].data);
}

beforeAll(async () => {
  await initBackend('wasm');
});

test('Score-CAM: softmax over the logits of the input masked by each normalised channel', () => {
  const maps = run('scorecam');
  const lo = Math.min(...x), hi = Math.max(...x);
  for (let c = 0; c < 2; c++) {
    // channel k upsampled to 4x4 (same size: unchanged), normalised: (a_k x - a_k lo) / (a_k (hi - lo) + 1e-8)
    const s = a.map((ak) => {
      const masked = x.map((v) => v * ((ak * v - ak * lo) / (ak * (hi - lo) + 1e-8)));
      return logit(c, a.map((aj) => aj * mean(masked)));
    });
    const e = s.map((v) => Math.exp(v - Math.max(...s)));
    const w = e.map((v) => v / (e[0] + e[1]));
    const want = x.map((v) => Math.max(0, w[0] * a[0] * v + w[1] * a[1] * v));
    want.forEach((v, i) => expect(maps[c][i]).toBeCloseTo(v, 4));
  }
});

test('Score-CAM with --max-channels 1 keeps only the channel of highest spatial variance (channel 1)', () => {
  const maps = run('scorecam', 1);
  for (let c = 0; c < 2; c++) x.forEach((v, i) => expect(maps[c][i]).toBeCloseTo(a[1] * v, 4)); // weight softmax([s]) = 1
});

test('Ablation-CAM: relative score drop when each channel is zeroed', () => {
  const maps = run('ablationcam');
  const meanFeat = a.map((ak) => ak * mean(x));
  for (let c = 0; c < 2; c++) {
    const s0 = logit(c, meanFeat);
    const w = a.map((_, k) => (s0 - logit(c, meanFeat.map((m, j) => (j === k ? 0 : m)))) / s0); // = W[k][c] mean_k / s0
    const want = x.map((v) => Math.max(0, w[0] * a[0] * v + w[1] * a[1] * v));
    expect(Math.max(...want)).toBeGreaterThan(0);
    want.forEach((v, i) => expect(maps[c][i]).toBeCloseTo(v, 4));
  }
});

test('Smooth Grad-CAM++ is seeded: the same seed repeats exactly, another seed differs', () => {
  const once = (seed: number) => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }), name: 'c' }),
        tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }), name: 'd' }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
      ],
    });
    const input = tf.tensor4d(Array.from({ length: 36 }, (_, i) => Math.sin(i)), [1, 6, 6, 1]);
    const ex = explainTensor(new LayersClassifier(model), input, { methods: [getMethod('smoothgradcam++')], layers: ['c'], classes: [0], topK: 1, score: 'logit', methodOptions: { seed, noiseSamples: 4 } });
    input.dispose();
    model.dispose();
    return Array.from(ex.maps[0].raw[0].data);
  };
  expect(once(1)).toEqual(once(1));
  expect(once(1)).not.toEqual(once(2));
});

test('Score-CAM with a constant (all-zero after ReLU) channel: it is scored as the all-zero image, by hand', () => {
  // feat = relu(1x1 conv with weights (1, 2, -1)): channel 2 is relu(-x) = 0 everywhere (x >= 0).
  const a3 = [1, 2, -1];
  const W3 = [[0.5, -1.0], [0.25, 0.75], [2.0, -3.0]]; // W3[k][c]
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 3, kernelSize: 1, useBias: false, activation: 'relu', name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 2, name: 'fc' }),
    ],
  });
  model.getLayer('feat').setWeights([tf.tensor4d(a3, [1, 1, 1, 3])]);
  model.getLayer('fc').setWeights([tf.tensor2d(W3.flat(), [3, 2]), tf.tensor1d(b)]);
  const input = tf.tensor4d(x, [1, 4, 4, 1]);
  const ex = explainTensor(new LayersClassifier(model), input, { methods: [getMethod('scorecam')], layers: ['feat'], classes: [0, 1], topK: 2, score: 'logit', methodOptions: { batchSize: 2, maxChannels: 0 } });
  input.dispose();
  model.dispose();
  const lo = Math.min(...x), hi = Math.max(...x);
  const feat = (img: number[]) => a3.map((ak) => mean(img.map((v) => Math.max(0, ak * v))));
  const logit3 = (c: number, m: number[]) => m.reduce((s, mk, k) => s + W3[k][c] * mk, 0) + b[c];
  for (let c = 0; c < 2; c++) {
    const s = a3.map((ak) => {
      // a constant channel normalises to 0 / (0 + 1e-8) = 0: the masked input is all zero
      const mask = ak > 0 ? x.map((v) => (ak * v - ak * lo) / (ak * (hi - lo) + 1e-8)) : x.map(() => 0);
      return logit3(c, feat(x.map((v, i) => v * mask[i])));
    });
    expect(s[2]).toBeCloseTo(b[c], 6); // the all-zero image scores the bias alone
    const e = s.map((v) => Math.exp(v - Math.max(...s)));
    const w = e.map((v) => v / e.reduce((p, q) => p + q, 0));
    const want = x.map((v) => Math.max(0, a3.reduce((sum, ak, k) => sum + w[k] * Math.max(0, ak * v), 0)));
    want.forEach((v, i) => expect(ex.maps[c].raw[0].data[i]).toBeCloseTo(v, 4));
  }
});
