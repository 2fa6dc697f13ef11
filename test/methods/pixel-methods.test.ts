// Pixel-level attributions (saliency, SmoothGrad, Integrated Gradients, guided backprop, Guided Grad-CAM),
// each against values computed here independently of src/: by hand on tiny models, or with plain tf.grad of
// model.predict (no tiling, no selector matrices, no batching) on small seeded models.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { explainTensor, TensorExplanation } from '../../src/pipeline/explain-tensor';
import { getMethod, MethodOptions, parseMethods } from '../../src/methods';
import { resizeMap } from '../../src/render/overlay';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/** conv(relu) -> maxpool -> conv 'feat'(relu) -> GAP -> dense: 8x8x3 input, 'feat' is 4x4. */
function smallModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(21), biasInitializer: tf.initializers.constant({ value: 0.05 }), name: 'c1' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(22), name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 3, kernelInitializer: init(23), name: 'fc' }),
    ],
  });
}

function seeded(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32));
}

const X = seeded(8 * 8 * 3, 3);

function explain(model: tf.LayersModel, input: number[], shape: [number, number, number, number], methods: string, classes: number[], methodOptions: Partial<MethodOptions> = {}): TensorExplanation {
  const x = tf.tensor4d(input, shape);
  try {
    return explainTensor(new LayersClassifier(model), x, { methods: parseMethods(methods), layers: ['feat'], classes, topK: classes.length, score: 'logit', methodOptions });
  } finally {
    x.dispose();
  }
}

/** d logit_c / dx by plain tf.grad, as a flat [H*W*C] array. */
function plainGrad(model: tf.LayersModel, x: tf.Tensor4D, c: number): Float32Array {
  return tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.slice(model.predict(t) as tf.Tensor2D, [0, c], [1, 1])))(x).dataSync() as Float32Array);
}
function plainLogit(model: tf.LayersModel, x: tf.Tensor4D, c: number): number {
  return tf.tidy(() => (model.predict(x) as tf.Tensor2D).dataSync()[c]);
}
/** [H*W*C] -> [H*W] max over channels of |v| / sum over channels of |v|. */
const maxAbs = (g: ArrayLike<number>, C: number) => Array.from({ length: g.length / C }, (_, p) => Math.max(...Array.from({ length: C }, (_, ch) => Math.abs(g[p * C + ch]))));
const sumAbs = (g: ArrayLike<number>, C: number) => Array.from({ length: g.length / C }, (_, p) => Array.from({ length: C }, (_, ch) => Math.abs(g[p * C + ch])).reduce((a, b) => a + b, 0));

function expectClose(got: ArrayLike<number>, want: number[], rel = 1e-4) {
  expect(got.length).toBe(want.length);
  const scale = Math.max(...want.map(Math.abs));
  expect(scale).toBeGreaterThan(0);
  let worst = 0;
  want.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i] - v))));
  expect(worst / scale).toBeLessThan(rel);
}

beforeAll(async () => {
  await initBackend('wasm');
});

test('saliency: max over channels of |d logit / dx|, per class, at input resolution with no target layer', () => {
  const model = smallModel();
  const ex = explain(model, X, [1, 8, 8, 3], 'saliency', [0, 2]);
  const x = tf.tensor4d(X, [1, 8, 8, 3]);
  [0, 2].forEach((c, i) => {
    const m = ex.maps[i];
    expect(m.raw).toHaveLength(1);
    expect(m.raw[0]).toMatchObject({ layer: 'input', height: 8, width: 8 });
    expectClose(m.raw[0].data, maxAbs(plainGrad(model, x, c), 3));
  });
  x.dispose();
  model.dispose();
});

test('SmoothGrad: the mean gradient over n seeded noisy copies, then max |.| over channels; batching does not change it', () => {
  const model = smallModel();
  const opts = { noiseSamples: 5, noiseLevel: 0.2, seed: 3 };
  const x = tf.tensor4d(X, [1, 8, 8, 3]);
  const sigma = 0.2 * (Math.max(...X) - Math.min(...X));
  const mean = new Float32Array(8 * 8 * 3);
  for (let s = 0; s < 5; s++) {
    const noisy = tf.add(x, tf.randomNormal([1, 8, 8, 3], 0, sigma, 'float32', 3 * 1000 + s + 1)) as tf.Tensor4D;
    plainGrad(model, noisy, 1).forEach((v, i) => (mean[i] += v / 5));
    noisy.dispose();
  }
  const one = explain(model, X, [1, 8, 8, 3], 'smoothgrad', [1], { ...opts, batchSize: 1 }); // one copy per pass
  const all = explain(model, X, [1, 8, 8, 3], 'smoothgrad', [1], { ...opts, batchSize: 32 }); // all five in one pass
  expectClose(one.maps[0].raw[0].data, maxAbs(mean, 3));
  expectClose(all.maps[0].raw[0].data, maxAbs(mean, 3));
  // the noise matters: not the plain saliency map, and another seed gives another map
  const plain = maxAbs(plainGrad(model, x, 1), 3);
  expect(Math.max(...plain.map((v, i) => Math.abs(v - one.maps[0].raw[0].data[i])))).toBeGreaterThan(1e-3 * Math.max(...plain));
  const other = explain(model, X, [1, 8, 8, 3], 'smoothgrad', [1], { ...opts, seed: 4 });
  expect(Array.from(other.maps[0].raw[0].data)).not.toEqual(Array.from(one.maps[0].raw[0].data));
  x.dispose();
  model.dispose();
});

test('Integrated Gradients on a linear model, by hand: attribution = (x - x\') * w exactly, completeness error ~ 0 even with 1 step', () => {
  // logits_c = sum_k Wd[k][c] * mean_p(a_k x_p) + b_c: d logit_c / dx_p = sum_k Wd[k][c] a_k / 16, constant.
  const a = [1, -2];
  const Wd = [[0.5, -1.0], [0.3, 0.75]];
  const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 1, useBias: false, name: 'feat' }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 })] });
  model.layers[0].setWeights([tf.tensor4d(a, [1, 1, 1, 2])]);
  model.layers[2].setWeights([tf.tensor2d(Wd.flat(), [2, 2]), tf.tensor1d([0.1, -0.2])]);
  const x = Array.from({ length: 16 }, (_, i) => i / 15);
  const base = Array.from({ length: 16 }, (_, i) => (i % 3) / 10);
  const ex = explain(model, x, [1, 4, 4, 1], 'integrated-gradients', [0, 1], { igSteps: 1, baseline: Float32Array.from(base) });
  for (let c = 0; c < 2; c++) {
    const g = (Wd[0][c] * a[0] + Wd[1][c] * a[1]) / 16;
    expectClose(ex.maps[c].raw[0].data, x.map((v, i) => Math.abs((v - base[i]) * g)), 1e-5);
    expect(Math.abs(ex.maps[c].completenessError!)).toBeLessThan(1e-5);
  }
  model.dispose();
});

test('Integrated Gradients on a ReLU network: matches a plain Riemann sum of tf.grad; completeness error small with 64 steps', () => {
  const model = smallModel();
  const x = tf.tensor4d(X, [1, 8, 8, 3]);
  const steps = 64;
  const baseline = tf.zerosLike(x); // black in 0..1 scaling
  const sum = new Float32Array(8 * 8 * 3);
  for (let s = 1; s <= steps; s++) {
    const p = tf.mul(x, s / steps) as tf.Tensor4D;
    plainGrad(model, p, 0).forEach((v, i) => (sum[i] += v));
    p.dispose();
  }
  const attr = Array.from(sum, (v, i) => (v / steps) * X[i]);
  const delta = plainLogit(model, x, 0) - plainLogit(model, baseline, 0);
  const wantError = attr.reduce((a, b) => a + b, 0) - delta;
  const ex = explain(model, X, [1, 8, 8, 3], 'integrated-gradients', [0], { igSteps: steps, batchSize: 7 }); // 7 points per pass: batches straddle the ends
  expectClose(ex.maps[0].raw[0].data, sumAbs(attr, 3));
  const err = ex.maps[0].completenessError!;
  expect(err).toBeCloseTo(wantError, 4);
  expect(Math.abs(delta)).toBeGreaterThan(0.05);
  expect(Math.abs(err)).toBeLessThan(0.02 * Math.abs(delta));
  // with 2 steps the Riemann sum is coarse: the reported error is larger (the check above is not vacuous)
  const coarse = explain(model, X, [1, 8, 8, 3], 'integrated-gradients', [0], { igSteps: 2 });
  expect(Math.abs(coarse.maps[0].completenessError!)).toBeGreaterThan(Math.abs(err));
  console.log(`IG completeness on the small ReLU model: f(x) - f(0) = ${delta.toFixed(5)}, error ${err.toExponential(3)} (64 steps), ${coarse.maps[0].completenessError!.toExponential(3)} (2 steps)`);
  tf.dispose([x, baseline]);
  model.dispose();
});

/**
 * Guided backprop by hand: a 1x1 conv with ReLU (h_pk = relu(a_k x_p + b_k)), GAP, dense W. The gradient arriving
 * at h_pk is W[k][c] / P: guided backprop keeps it only where it is positive and the ReLU is on.
 */
function reluTiny(activation: 'relu' | 'relu6' | 'elu') {
  const a = [1, -2, 3], b = [0.1, 0.4, -1.2];
  const Wd = [[0.5, -1.0], [0.25, 0.75], [-0.6, 0.3]];
  const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [2, 2, 1], filters: 3, kernelSize: 1, activation, name: 'feat' }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2, useBias: false })] });
  model.layers[0].setWeights([tf.tensor4d(a, [1, 1, 1, 3]), tf.tensor1d(b)]);
  model.layers[2].setWeights([tf.tensor2d(Wd.flat(), [3, 2])]);
  return { model, a, b, Wd };
}

test('guided backprop by hand: only positive gradients through positive ReLUs (ReLU and ReLU6)', () => {
  const x = [-0.5, 0.2, 0.9, 2.5]; // a_k x + b_k: some units off, ReLU6 saturated (3 * 2.5 - 1.2 = 6.3) at the last pixel
  for (const act of ['relu', 'relu6'] as const) {
    const { model, a, b, Wd } = reluTiny(act);
    const ex = explain(model, x, [1, 2, 2, 1], 'guided-backprop,saliency', [0, 1]);
    for (let c = 0; c < 2; c++) {
      const on = (k: number, v: number) => a[k] * v + b[k] > 0 && (act === 'relu' || a[k] * v + b[k] < 6);
      const guided = x.map((v) => Math.abs([0, 1, 2].reduce((s, k) => s + (on(k, v) && Wd[k][c] > 0 ? (Wd[k][c] / 4) * a[k] : 0), 0)));
      const plain = x.map((v) => Math.abs([0, 1, 2].reduce((s, k) => s + (on(k, v) ? (Wd[k][c] / 4) * a[k] : 0), 0)));
      expectClose(ex.maps[c].raw[0].data, guided, 1e-5);
      expectClose(ex.maps[2 + c].raw[0].data, plain, 1e-5);
      expect(guided).not.toEqual(plain); // the example tells the two apart
    }
    expect(ex.warnings).toEqual([]);
    model.dispose();
  }
});

test('guided backprop on a model with ELU says the guidance does not apply to it; the normal gradient is back afterwards', () => {
  const { model } = reluTiny('elu');
  const ex = explain(model, [-0.5, 0.2, 0.9, 2.5], [1, 2, 2, 1], 'guided-backprop', [0]);
  // this one has no ReLU at all: both things are said
  expect(ex.warnings).toEqual([
    "guided backprop met no ReLU in this model: its map is the plain input gradient (as saliency's)",
    "guided backprop guides only the model's ReLUs; its other activation functions (ELU) pass their ordinary gradients",
  ]);
  // ReLU's gradient is restored: dy/dx of relu at x = 1 for a negative upstream gradient is -1, not 0
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), -1)))(tf.tensor1d([1])).dataSync()[0]);
  expect(g).toBe(-1);
  model.dispose();
});

test('Guided Grad-CAM = guided backprop x the normalised, upsampled Grad-CAM map', () => {
  const model = smallModel();
  const ex = explain(model, X, [1, 8, 8, 3], 'guided-gradcam,guided-backprop,gradcam', [0, 1]);
  for (let c = 0; c < 2; c++) {
    const gg = ex.maps[c], gb = ex.maps[2 + c], cam = ex.maps[4 + c];
    expect(cam.raw[0]).toMatchObject({ layer: 'feat', height: 4, width: 4 });
    const norm = (v: ArrayLike<number>) => {
      const lo = Math.min(...Array.from(v)), hi = Math.max(...Array.from(v));
      return Float32Array.from(v, (t) => (t - lo) / (hi - lo + 1e-7));
    };
    const up = norm(resizeMap(norm(cam.raw[0].data), 4, 4, 8, 8));
    expect(gg.raw[0]).toMatchObject({ layer: 'feat', height: 8, width: 8 });
    expectClose(gg.raw[0].data, Array.from(gb.raw[0].data, (v, i) => v * up[i]));
  }
  model.dispose();
});

test('every pixel-level method releases its tensors', () => {
  const model = smallModel();
  explain(model, X, [1, 8, 8, 3], 'saliency', [0]); // warm-up (kernels, caches)
  const before = tf.memory().numTensors;
  explain(model, X, [1, 8, 8, 3], 'saliency,smoothgrad,integrated-gradients,guided-backprop,guided-gradcam', [0, 2], { noiseSamples: 3, igSteps: 5, batchSize: 4 });
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});

test('the registry knows the pixel-level methods by their command-line names', () => {
  for (const n of ['saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'guided-gradcam']) expect(getMethod(n).name).toBe(n);
  expect(parseMethods('all').map((m) => m.name)).toEqual(expect.arrayContaining(['saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'guided-gradcam']));
});

test('guided backprop on a model with no ReLU says its map is the plain gradient', () => {
  const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 1, name: 'feat' }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 })] });
  const x = Array.from({ length: 16 }, (_, i) => i / 15);
  const ex = explain(model, x, [1, 4, 4, 1], 'guided-backprop,saliency', [0]);
  expect(ex.warnings).toEqual(["guided backprop met no ReLU in this model: its map is the plain input gradient (as saliency's)"]);
  expect(Array.from(ex.maps[0].raw[0].data)).toEqual(Array.from(ex.maps[1].raw[0].data));
  model.dispose();
});

test('graph models: guided methods and FullGrad are refused with the reason and left out of --method all', async () => {
  const { explain: explainFiles } = await import('../../src/pipeline/explain');
  const path = await import('path');
  const root = path.resolve(__dirname, '..', '..');
  const sample = path.join(root, 'samples', 'digit-00-0.png');
  const model = path.join(root, 'models', 'resnet-bn-graph');
  await expect(explainFiles([sample], { model, method: 'guided-backprop', out: null })).rejects.toThrow(/guided backprop and Guided Grad-CAM need a layers model: tfjs-converter runs a graph model with its own copy of the ops/);
  await expect(explainFiles([sample], { model, method: 'fullgrad', out: null })).rejects.toThrow(/FullGrad is not possible for this model: it is a graph model/);
  const all = await explainFiles([sample], { model, method: 'all', out: null, topK: 1, methodOptions: { noiseSamples: 1, igSteps: 2, maxChannels: 2 } });
  expect(all.report.methods).toEqual(expect.arrayContaining(['saliency', 'smoothgrad', 'integrated-gradients']));
  expect(all.report.methods).not.toEqual(expect.arrayContaining(['guided-backprop']));
  expect(all.report.methods.filter((m: string) => ['guided-backprop', 'guided-gradcam', 'fullgrad'].includes(m))).toEqual([]);
});
