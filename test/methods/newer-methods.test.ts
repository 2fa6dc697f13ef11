// The newer pytorch-grad-cam methods on small tensors and small models, against values computed here:
// FEM and KPCA-CAM (every kernel) by a plain double-precision implementation with a full Jacobi eigensolver;
// the kernel-PCA eigensolver on a matrix whose largest eigenvalue is not its largest in magnitude; ShapleyCAM's
// Hessian-vector product against central finite differences of the gradient, through smooth activations and a
// probability score; and the refusals.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { DEFAULT_METHOD_OPTIONS, getMethod, MethodInputs } from '../../src/methods';
import { topEigenpair } from '../../src/methods/kernel-pca';
import { mostSimilarClasses } from '../../src/methods/finercam';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { classGradients, classGradientsAndHessianVector } from '../../src/capture/gradients';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { femReference, kpcaReference } from '../helpers/cam-references';
import { seededInput } from '../helpers/models';

const H = 3, W = 4, K = 5;
function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const r = rand(7);
const A = Float64Array.from({ length: H * W * K }, () => Math.max(0, r() * 2 - 0.5));

beforeAll(async () => {
  await initBackend('wasm');
});

const run = (name: string, options = {}) => {
  const inputs: MethodInputs = { activations: tf.tensor4d(Float32Array.from(A), [1, H, W, K]), classes: [0, 1], options: { ...DEFAULT_METHOD_OPTIONS, ...options } };
  const out = tf.tidy(() => getMethod(name).compute(inputs));
  inputs.activations.dispose();
  expect(out.shape).toEqual([2, H, W]);
  const data = out.dataSync();
  out.dispose();
  return data;
};

test.each([1, 2, 0.5])('fem with k = %p matches fem.py written out (same map for both classes)', (k) => {
  const got = run('fem', { femK: k });
  const want = femReference(A, H * W, K, k);
  expect(Math.max(...want)).toBeGreaterThan(1e-3);
  want.forEach((v, i) => {
    expect(got[i]).toBeCloseTo(v, 5);
    expect(got[H * W + i]).toBe(got[i]);
  });
});

test('fem by hand: one channel, one position above mean + 1 std', () => {
  // channel 0: [0, 0, 0, 4] (mean 1, std sqrt(3) = 1.73: only 4 > 2.73), weight 1/4; channel 1: [1, 1, 1, 1] (std 0:
  // nothing exceeds the mean), weight 0. Map = 0.25 * channel 0.
  const inputs: MethodInputs = { activations: tf.tensor4d([0, 1, 0, 1, 0, 1, 4, 1], [1, 2, 2, 2]), classes: [3], options: { ...DEFAULT_METHOD_OPTIONS, femK: 1 } };
  const out = tf.tidy(() => getMethod('fem').compute(inputs));
  expect(Array.from(out.dataSync())).toEqual([0, 0, 0, 1]);
  tf.dispose([out, inputs.activations]);
});

test.each(['sigmoid', 'rbf', 'poly', 'cosine'] as const)('kpca-cam with the %s kernel matches KernelPCA written out', (kernel) => {
  for (const gamma of [undefined, 0.7]) {
    const got = run('kpca-cam', { kpcaKernel: kernel, kpcaGamma: gamma });
    const want = kpcaReference(A, H * W, K, kernel, gamma ?? 1 / K);
    expect(Math.max(...want)).toBeGreaterThan(1e-4);
    const scale = Math.max(...want);
    want.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-5 * scale + 1e-7));
  }
});

test('the kernel-PCA eigensolver takes the largest eigenvalue, not the largest in magnitude', () => {
  // Q diag(3, -10, 1, 0.5) Q^T with Q a rotation: power iteration would find -10.
  const n = 4;
  const c = Math.cos(0.3), s = Math.sin(0.3);
  const q = [
    [c, -s, 0, 0],
    [s, c, 0, 0],
    [0, 0, c, -s],
    [0, 0, s, c],
  ];
  const lambda = [3, -10, 1, 0.5];
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) m[i * n + j] += q[i][k] * lambda[k] * q[j][k];
  const { value, vector } = topEigenpair(m, n);
  expect(value).toBeCloseTo(3, 10);
  const dot = vector.reduce((acc, v, i) => acc + v * q[i][0], 0);
  expect(Math.abs(dot)).toBeCloseTo(1, 10);
});

test('finercam compares with the classes whose logits are closest (ties: lower index first)', () => {
  expect(mostSimilarClasses([5, 1, 4.5, 5.5, 9, 4], 0)).toEqual([2, 3, 5]);
  expect(mostSimilarClasses([0, 1, -1, 2], 0)).toEqual([1, 2, 3]);
  expect(mostSimilarClasses([0, 1], 1)).toEqual([0]);
});

/**
 * conv 'target' -> conv with a smooth activation [-> max or average pooling, or a depthwise convolution] -> GAP ->
 * dense (softmax): a head whose Hessian is not 0.
 */
function smoothModel(activation: 'tanh' | 'elu' | 'sigmoid', extra: 'none' | 'maxpool' | 'avgpool' | 'depthwise' = 'none'): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'target' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation, kernelInitializer: init(2), biasInitializer: tf.initializers.constant({ value: 0.1 }), name: 'smooth' }),
      ...(extra === 'maxpool' ? [tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' })] : []),
      ...(extra === 'avgpool' ? [tf.layers.averagePooling2d({ poolSize: 2, name: 'pool' })] : []),
      ...(extra === 'depthwise' ? [tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'tanh', depthwiseInitializer: init(4), name: 'dw' })] : []),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 3, kernelInitializer: init(3), activation: 'softmax', name: 'fc' }),
    ],
  });
}

describe.each([
  ['tanh', 'none'],
  ['elu', 'none'],
  ['sigmoid', 'none'],
  ['tanh', 'avgpool'],
  ['elu', 'depthwise'],
] as const)('shapleycam through a %s head (then %s)', (activation, extra) => {
  test.each(['logit', 'probability'] as const)('H A on the %s matches central finite differences of the gradient', (score) => {
    const model = new LayersClassifier(smoothModel(activation, extra));
    const x = seededInput([1, 6, 6, 3], 3);
    const fp = model.forward(x, ['target']);
    try {
      const classes = [0, 2];
      const { gradients, hessianVector } = classGradientsAndHessianVector(fp, 0, classes, score, 'target', model.head.kind);
      const hv = hessianVector.dataSync();
      // H A = d/dt G(A + t A) at t = 0, by central differences in t (double-sided, small t) on the first-order gradient
      const at = (t: number) => {
        const shifted = { ...fp, activations: [tf.mul(fp.activations[0], 1 + t) as tf.Tensor4D] };
        const g = classGradients(shifted, 0, classes, score, model.numClasses, 'target', model.head.kind);
        const out = Float64Array.from(g.dataSync());
        tf.dispose([g, shifted.activations[0]]);
        return out;
      };
      const t = 1e-2;
      const plus = at(t), minus = at(-t), plus2 = at(2 * t), minus2 = at(-2 * t);
      // fourth-order central difference: (8 (g(t) - g(-t)) - (g(2t) - g(-2t))) / 12t
      const fd = plus.map((p, i) => (8 * (p - minus[i]) - (plus2[i] - minus2[i])) / (12 * t));
      const scale = Math.max(...fd.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-5); // the Hessian term is really there
      fd.forEach((v, i) => expect(Math.abs(hv[i] - v)).toBeLessThan(2e-3 * scale));
      // and the map is Grad-CAM's formula with G - H A / 2
      const ex = explainTensor(model, x, { methods: [getMethod('shapleycam'), getMethod('gradcam')], layers: ['target'], classes, topK: 2, score });
      const g = gradients.dataSync();
      const a = fp.activations[0].dataSync();
      const [, h, w, k] = fp.activations[0].shape;
      for (const ci of [0, 1]) {
        const wk = [...Array(k)].map((_, c) => {
          let sum = 0;
          for (let i = 0; i < h * w; i++) sum += g[ci * h * w * k + i * k + c] - 0.5 * hv[ci * h * w * k + i * k + c];
          return sum / (h * w);
        });
        const want = [...Array(h * w)].map((_, i) => Math.max(0, wk.reduce((acc, v, c) => acc + v * a[i * k + c], 0)));
        const got = ex.maps[ci].raw[0].data;
        const top = Math.max(...want);
        want.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-4 * top + 1e-9));
      }
      tf.dispose([gradients, hessianVector]);
    } finally {
      fp.dispose();
      x.dispose();
      model.dispose();
    }
  });
});

test('shapleycam refuses, naming the op, where tfjs has no second derivative (max pooling\'s gradient)', () => {
  const model = new LayersClassifier(smoothModel('tanh', 'maxpool'));
  const x = seededInput([1, 6, 6, 3], 3);
  try {
    expect(() => explainTensor(model, x, { methods: [getMethod('shapleycam')], layers: ['target'], topK: 1, score: 'logit' })).toThrow(/ShapleyCAM needs second derivatives, and the op 'MaxPoolGrad'.*use --method gradcam/);
    // Grad-CAM (first order) still runs on it
    expect(explainTensor(model, x, { methods: [getMethod('gradcam')], layers: ['target'], topK: 1, score: 'logit' }).maps).toHaveLength(1);
  } finally {
    x.dispose();
    model.dispose();
  }
});

test('the newer methods give the same maps on the WASM and the pure-JS CPU backends', async () => {
  const maps = async (backend: 'wasm' | 'cpu') => {
    await initBackend(backend);
    const model = new LayersClassifier(smoothModel('elu', 'depthwise'));
    const x = seededInput([1, 6, 6, 3], 5);
    try {
      const methods = ['fem', 'kpca-cam', 'shapleycam', 'finercam', 'refinecam'].map(getMethod);
      return explainTensor(model, x, { methods, layers: ['target', 'smooth'], topK: 2, score: 'probability' }).maps.map((m) => ({ method: m.method, map: m.map, raw: m.raw.map((r) => r.data) }));
    } finally {
      x.dispose();
      model.dispose();
    }
  };
  const cpu = await maps('cpu');
  const wasm = await maps('wasm');
  expect(wasm.map((m) => m.method)).toEqual(cpu.map((m) => m.method));
  wasm.forEach((m, i) => {
    m.raw.forEach((r, l) => r.forEach((v, j) => expect(Math.abs(v - cpu[i].raw[l][j])).toBeLessThan(1e-5 * Math.max(1, ...Array.from(r, Math.abs)))));
    m.map.forEach((v, j) => expect(Math.abs(v - cpu[i].map[j])).toBeLessThan(1e-4));
  });
});
