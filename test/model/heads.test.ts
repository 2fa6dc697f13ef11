// Every head shape users' models end in, on small models built here (no ../shared needed): saved to disk and
// loaded as the CLI loads them. Probabilities must equal the model's own output; the explained score is the logit,
// checked against the logit and its gradient worked out by hand from the layers' weights (the heads are linear
// after the pooling, so dz_c/dA_k = W[k, c] / (h w) exactly); CAM is allowed or refused with the layer in the way.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadModelFrom, LoadedModel } from '../../src/model/load';
import { saveLayersModel } from '../../src/model/save';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { getMethod } from '../../src/methods';
import { classGradients } from '../../src/capture/gradients';
import { GraphWriter, ints, str } from '../../scripts/export-graph';
import { writeArtifacts } from '../../scripts/lib/model-io';
import { seededInput } from '../helpers/models';
import { correlation } from '../helpers/stats';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });
const bias = (v: number) => tf.initializers.constant({ value: v });
let dir: string;
const loaded: LoadedModel[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-cam-heads-'));
});
afterAll(() => {
  loaded.forEach((m) => m.dispose());
  fs.rmSync(dir, { recursive: true, force: true });
});

async function saveAndLoad(model: tf.LayersModel, name: string): Promise<LoadedModel> {
  const d = path.join(dir, name);
  await saveLayersModel(model, d);
  const m = await loadModelFrom(d);
  loaded.push(m);
  return m;
}

/** feat: [1, h, w, K] activation of the model's layer `feat` for x, computed by tfjs itself. */
function featOf(model: tf.LayersModel, x: tf.Tensor4D, layer = 'feat'): tf.Tensor4D {
  const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor });
  return sub.predict(x) as tf.Tensor4D;
}

/** Grad-CAM by hand for a head linear after pooling: ReLU(sum_k W[k, c] / (h w) * A_k), as [h * w]. */
function handGradCam(a: tf.Tensor4D, wColumn: Float32Array): Float32Array {
  return tf.tidy(() => {
    const [, h, w] = a.shape;
    const alpha = tf.div(tf.tensor1d(wColumn), h * w);
    return tf.relu(tf.sum(tf.mul(a, alpha), 3)).dataSync() as Float32Array;
  });
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
}

function features(input: tf.SymbolicTensor, channels = 6): tf.SymbolicTensor {
  const c1 = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'c1' }).apply(input) as tf.SymbolicTensor;
  return tf.layers.conv2d({ filters: channels, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2), biasInitializer: bias(0.05), name: 'feat' }).apply(c1) as tf.SymbolicTensor;
}

test('MobileNet v1 head: GAP -> Reshape -> Dropout -> 1x1 conv -> softmax -> Reshape is stepped over, CAM uses the conv', async () => {
  const x = tf.input({ shape: [8, 8, 3], name: 'image' });
  let t = features(x);
  t = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.reshape({ targetShape: [1, 1, 6], name: 'reshape_1' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dropout({ rate: 0.5, name: 'dropout' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: init(3), biasInitializer: bias(0.2), name: 'conv_preds' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.activation({ activation: 'softmax', name: 'act_softmax' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.reshape({ targetShape: [4], name: 'reshape_2' }).apply(t) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: t });
  const m = await saveAndLoad(model, 'mobilenet-v1-head');
  const c = m.classifier;
  expect(c.head).toEqual({ kind: 'softmax', binary: false, activationAt: "'act_softmax' (Activation softmax)" });
  expect(c.numClasses).toBe(4);
  expect(c.defaultTargetLayer()).toBe('feat');

  const input = seededInput([1, 8, 8, 3], 3);
  const ex = explainTensor(c, input, { methods: [getMethod('gradcam'), getMethod('cam')], layers: ['feat'], topK: 4, score: 'logit' });
  // Probabilities: the model's own output.
  const own = (model.predict(input) as tf.Tensor).dataSync();
  expectClose(ex.probabilities, own, 1e-6);
  // Logits by hand: GAP(feat) . W + b with conv_preds' kernel [1, 1, 6, 4].
  const a = featOf(model, input);
  const [kernel, b] = model.getLayer('conv_preds').getWeights();
  const W = kernel.reshape([6, 4]);
  const hand = tf.tidy(() => tf.add(tf.matMul(tf.mean(a, [1, 2]), W), b).dataSync());
  expectClose(ex.logits, hand, 1e-5);
  // Grad-CAM of each class = ReLU(sum W[k,c]/64 A_k); CAM = the same up to scale.
  const Wv = W.dataSync() as Float32Array;
  for (const cls of ex.classes) {
    const col = Float32Array.from({ length: 6 }, (_, k) => Wv[k * 4 + cls]);
    const expected = handGradCam(a, col);
    const gradcam = ex.maps.find((mm) => mm.method === 'gradcam' && mm.classIndex === cls)!;
    expectClose(gradcam.raw[0].data, expected, 1e-6);
    const camMap = ex.maps.find((mm) => mm.method === 'cam' && mm.classIndex === cls)!;
    if (expected.some((v) => v > 0)) expect(correlation(camMap.raw[0].data, expected)).toBeGreaterThan(0.99999);
  }
});

test('a Dense softmax followed by a Reshape: the fused softmax is removed and the logit explained', async () => {
  const x = tf.input({ shape: [8, 8, 3] });
  let t = features(x);
  t = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(4), name: 'fc' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.reshape({ targetShape: [3], name: 'out' }).apply(t) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: t });
  const c = (await saveAndLoad(model, 'dense-softmax-reshape')).classifier;
  expect(c.head).toEqual({ kind: 'softmax', binary: false, activationAt: "'fc' (activation softmax)" });
  const input = seededInput([1, 8, 8, 3], 5);
  const ex = explainTensor(c, input, { methods: [getMethod('cam')], layers: ['feat'], topK: 3, score: 'logit' });
  expectClose(ex.probabilities, (model.predict(input) as tf.Tensor).dataSync(), 1e-6);
  const [W, b] = model.getLayer('fc').getWeights();
  const hand = tf.tidy(() => tf.add(tf.matMul(tf.mean(featOf(model, input), [1, 2]), W), b).dataSync());
  expectClose(ex.logits, hand, 1e-5);
});

test('one sigmoid unit is a binary classifier: [1 - p, p], logits [-z, z], class 0 explained by -z', async () => {
  const x = tf.input({ shape: [8, 8, 3] });
  let t = features(x);
  t = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(5), biasInitializer: bias(-0.1), name: 'score' }).apply(t) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: t });
  const c = (await saveAndLoad(model, 'binary-sigmoid')).classifier;
  expect(c.head).toEqual({ kind: 'sigmoid', binary: true, activationAt: "'score' (activation sigmoid)" });
  expect(c.numClasses).toBe(2);
  const input = seededInput([1, 8, 8, 3], 6);
  const p = (model.predict(input) as tf.Tensor).dataSync()[0];
  const ex = explainTensor(c, input, { methods: [getMethod('gradcam'), getMethod('cam')], layers: ['feat'], classes: [0, 1], topK: 2, score: 'logit' });
  expectClose(ex.probabilities, [1 - p, p], 1e-6);
  const a = featOf(model, input);
  const [W, b] = model.getLayer('score').getWeights();
  const z = tf.tidy(() => tf.add(tf.matMul(tf.mean(a, [1, 2]), W), b).dataSync()[0]);
  expectClose(ex.logits, [-z, z], 1e-5);
  const w = W.dataSync() as Float32Array;
  const neg = Float32Array.from(w, (v) => -v);
  expectClose(ex.maps.find((mm) => mm.method === 'gradcam' && mm.classIndex === 1)!.raw[0].data, handGradCam(a, w), 1e-6);
  expectClose(ex.maps.find((mm) => mm.method === 'gradcam' && mm.classIndex === 0)!.raw[0].data, handGradCam(a, neg), 1e-6);
  // The gradients themselves: class 0's is exactly minus class 1's.
  const fp = c.forward(input, ['feat']);
  const g = classGradients(fp, 0, [0, 1], 'logit', 2, 'feat', c.head.kind);
  const [g0, g1] = tf.unstack(g).map((t2) => t2.dataSync());
  expectClose(g0, Float32Array.from(g1, (v) => -v), 1e-7);
  // --score probability differentiates sigmoid(z), not a softmax over [-z, z]: d p / dA = p (1 - p) dz/dA.
  const gp = classGradients(fp, 0, [1], 'probability', 2, 'feat', c.head.kind).dataSync();
  expectClose(gp, Float32Array.from(g1, (v) => v * p * (1 - p)), 1e-7);
  fp.dispose();
  [g, a].forEach((t2) => t2.dispose());
  const camHead = c.camHead('feat');
  expect(camHead.kind).toBe('weights');
  if (camHead.kind === 'weights') {
    expectClose(camHead.weights.dataSync(), Array.from(w).flatMap((v) => [-v, v]), 1e-7);
    camHead.weights.dispose();
  }
});

test('several sigmoid units are multi-label: independent probabilities equal to the model output', async () => {
  const x = tf.input({ shape: [8, 8, 3] });
  let t = features(x);
  t = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dense({ units: 3, kernelInitializer: init(6), name: 'logits' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.activation({ activation: 'sigmoid', name: 'probs' }).apply(t) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: t });
  const c = (await saveAndLoad(model, 'multi-label')).classifier;
  expect(c.head).toEqual({ kind: 'sigmoid', binary: false, activationAt: "'probs' (Activation sigmoid)" });
  expect(c.numClasses).toBe(3);
  const input = seededInput([1, 8, 8, 3], 8);
  const ex = explainTensor(c, input, { methods: [getMethod('gradcam')], layers: ['feat'], topK: 3, score: 'logit' });
  const own = (model.predict(input) as tf.Tensor).dataSync();
  expectClose(ex.probabilities, own, 1e-6);
  expect(Math.abs(Array.from(own).reduce((s, v) => s + v, 0) - 1)).toBeGreaterThan(0.01); // not a softmax
});

test('a flatten head: the default target steps back over a Dropout; CAM is refused naming the Flatten', async () => {
  const x = tf.input({ shape: [8, 8, 3] });
  let t = features(x);
  t = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dropout({ rate: 0.1, name: 'drop' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.flatten({ name: 'flatten' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(7), name: 'fc' }).apply(t) as tf.SymbolicTensor;
  const c = (await saveAndLoad(tf.model({ inputs: x, outputs: t }), 'flatten-head')).classifier;
  expect(c.defaultTargetLayer()).toBe('pool');
  const h = c.camHead('pool');
  expect(h).toEqual({ kind: 'none', reason: "'flatten' (Flatten) turns the 4, 4, 6 map into 96: what follows weighs each position separately, which CAM cannot express" });
});

test('a hidden ReLU layer after the pooling: CAM refused naming it; a linear Activation after the target is stepped back over', async () => {
  const x = tf.input({ shape: [8, 8, 3] });
  let t = features(x);
  t = tf.layers.activation({ activation: 'linear', name: 'same' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(8), name: 'hidden' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dense({ units: 3, kernelInitializer: init(9), name: 'fc' }).apply(t) as tf.SymbolicTensor;
  const c = (await saveAndLoad(tf.model({ inputs: x, outputs: t }), 'relu-head')).classifier;
  expect(c.head.kind).toBe('linear');
  expect(c.defaultTargetLayer()).toBe('feat');
  expect(c.camHead('feat')).toEqual({ kind: 'none', reason: "'hidden' (Dense) applies activation 'relu'" });
});

test('a model nested in a Sequential: inner layers are targets by qualified or short name, and Grad-CAM is exact', async () => {
  const xi = tf.input({ shape: [8, 8, 3], name: 'base_input' });
  const base = tf.model({ inputs: xi, outputs: features(xi), name: 'base' });
  const outer = tf.sequential({
    name: 'classifier',
    layers: [base, tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(10), name: 'fc' })],
  });
  const c = (await saveAndLoad(outer, 'nested')).classifier;
  expect(c.defaultTargetLayer()).toBe('base/feat');
  expect(c.resolveLayer('feat')).toBe('base/feat');
  expect(c.layers().map((l) => l.name)).toEqual(expect.arrayContaining(['base/c1', 'base/feat', 'gap', 'fc']));
  const input = seededInput([1, 8, 8, 3], 9);
  const ex = explainTensor(c, input, { methods: [getMethod('gradcam'), getMethod('cam')], layers: ['base/feat'], topK: 3, score: 'logit' });
  expectClose(ex.probabilities, (outer.predict(input) as tf.Tensor).dataSync(), 1e-6);
  const a = base.predict(input) as tf.Tensor4D;
  const Wv = outer.getLayer('fc').getWeights()[0].dataSync() as Float32Array;
  for (const cls of ex.classes) {
    const col = Float32Array.from({ length: 6 }, (_, k) => Wv[k * 3 + cls]);
    expectClose(ex.maps.find((mm) => mm.method === 'gradcam' && mm.classIndex === cls)!.raw[0].data, handGradCam(a, col), 1e-6);
  }
  a.dispose();
});

test('a channels-first model is refused with a line that says channels-first', async () => {
  const x = tf.input({ shape: [3, 8, 8] });
  let t = tf.layers.conv2d({ filters: 4, kernelSize: 3, dataFormat: 'channelsFirst', kernelInitializer: init(11), name: 'cf' }).apply(x) as tf.SymbolicTensor;
  t = tf.layers.flatten().apply(t) as tf.SymbolicTensor;
  t = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(t) as tf.SymbolicTensor;
  await saveLayersModel(tf.model({ inputs: x, outputs: t }), path.join(dir, 'channels-first'));
  await expect(loadModelFrom(path.join(dir, 'channels-first'))).rejects.toThrow(/channels-first \(layer 'cf' has data_format channels_first; input \[null, 3, 8, 8\]/);
});

// Graph models as tfjs-converter writes them from TF2 SavedModels and TF-Hub.
function randomValues(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

/** Placeholder [-1, 8, 8, 3] -> 3x3 conv + BiasAdd -> Relu 'feat' (K channels): the body of every graph below. */
function graphBody(g: GraphWriter, K: number): string {
  g.nodes.push({ name: 'input', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [-1, 8, 8, 3].map((d) => ({ size: String(d) })) } } } });
  const conv = g.op('conv', 'Conv2D', ['input', g.constant('conv/kernel', [3, 3, 3, K], randomValues(27 * K, 1))], {
    strides: ints([1, 1, 1, 1]), padding: str('SAME'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]),
  });
  const b = g.op('conv/BiasAdd', 'BiasAdd', [conv, g.constant('conv/bias', [K], randomValues(K, 2))], { data_format: str('NHWC') });
  return g.op('feat', 'Relu', [b]);
}

async function loadGraph(g: GraphWriter, name: string): Promise<LoadedModel> {
  writeArtifacts(path.join(dir, name), g.artifacts());
  const m = await loadModelFrom(path.join(dir, name));
  loaded.push(m);
  return m;
}

test('graph: full-size AvgPool -> Squeeze -> MatMul -> BiasAdd -> Softmax -> Identity (TF-Hub): softmax stepped over, CAM allowed', async () => {
  const g = new GraphWriter();
  const feat = graphBody(g, 5);
  const pool = g.op('pool', 'AvgPool', [feat], { ksize: ints([1, 8, 8, 1]), strides: ints([1, 1, 1, 1]), padding: str('VALID'), data_format: str('NHWC') });
  const sq = g.op('squeeze', 'Squeeze', [pool], { squeeze_dims: ints([1, 2]) });
  const W = randomValues(15, 3);
  const mm = g.op('dense/MatMul', 'MatMul', [sq, g.constant('dense/kernel', [5, 3], W)], { transpose_a: { b: false }, transpose_b: { b: false } });
  const logits = g.op('dense/BiasAdd', 'BiasAdd', [mm, g.constant('dense/bias', [3], randomValues(3, 4))], { data_format: str('NHWC') });
  const sm = g.op('prediction/Softmax', 'Softmax', [logits]);
  g.op('Identity', 'Identity', [sm]);
  const m = await loadGraph(g, 'graph-avgpool');
  const c = m.classifier;
  expect(c.head).toEqual({ kind: 'softmax', binary: false, activationAt: "'prediction/Softmax' (Softmax)" });
  expect(c.defaultTargetLayer()).toBe('feat');
  const input = seededInput([1, 8, 8, 3], 10);
  const ex = explainTensor(c, input, { methods: [getMethod('gradcam'), getMethod('cam')], layers: ['feat'], topK: 3, score: 'logit' });
  const gm = await tf.loadGraphModel({ load: async () => g.artifacts() });
  const probs = (gm.execute({ input }, 'Identity') as tf.Tensor).dataSync();
  expectClose(ex.probabilities, probs, 1e-6);
  const a = gm.execute({ input }, 'feat') as tf.Tensor4D;
  for (const cls of ex.classes) {
    const col = Float32Array.from({ length: 5 }, (_, k) => W[k * 3 + cls]);
    const expected = handGradCam(a, col);
    expectClose(ex.maps.find((x) => x.method === 'gradcam' && x.classIndex === cls)!.raw[0].data, expected, 1e-6);
    if (expected.some((v) => v > 0)) expect(correlation(ex.maps.find((x) => x.method === 'cam' && x.classIndex === cls)!.raw[0].data, expected)).toBeGreaterThan(0.99999);
  }
  a.dispose();
  gm.dispose();
});

test('graph: class-map head (conv -> Mean -> Sigmoid -> Identity, one unit): binary, CAM is the channel and its negation', async () => {
  const g = new GraphWriter();
  graphBody(g, 1);
  const axes = g.constant('mean/axes', [2], Int32Array.from([1, 2]));
  const mean = g.op('mean', 'Mean', ['feat', axes], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  const sig = g.op('out/Sigmoid', 'Sigmoid', [mean]);
  g.op('Identity', 'Identity', [sig]);
  const c = (await loadGraph(g, 'graph-class-map-binary')).classifier;
  expect(c.head).toEqual({ kind: 'sigmoid', binary: true, activationAt: "'out/Sigmoid' (Sigmoid)" });
  const h = c.camHead('feat');
  expect(h.kind === 'weights' && Array.from(h.weights.dataSync())).toEqual([-1, 1]);
  if (h.kind === 'weights') h.weights.dispose();
  const gm = await tf.loadGraphModel({ load: async () => g.artifacts() });
  const input = seededInput([1, 8, 8, 3], 11);
  const p = (gm.execute({ input }, 'Identity') as tf.Tensor).dataSync()[0];
  const ex = explainTensor(c, input, { methods: [getMethod('cam')], layers: ['feat'], classes: [0, 1], topK: 2, score: 'logit' });
  expectClose(ex.probabilities, [1 - p, p], 1e-6);
  gm.dispose();
});

test('graph: a fused MatMul with Relu after the pooling is named as what stops CAM', async () => {
  const g = new GraphWriter();
  graphBody(g, 4);
  const axes = g.constant('gap/axes', [2], Int32Array.from([1, 2]));
  const gap = g.op('gap', 'Mean', ['feat', axes], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  const hidden = g.op('hidden/Relu', '_FusedMatMul', [gap, g.constant('hidden/kernel', [4, 6], randomValues(24, 5)), g.constant('hidden/bias', [6], randomValues(6, 6))], {
    transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: { list: { s: [str('BiasAdd').s!, str('Relu').s!] } }, num_args: { i: '1' }, epsilon: { f: 0 },
  });
  const mm = g.op('fc/MatMul', 'MatMul', [hidden, g.constant('fc/kernel', [6, 3], randomValues(18, 7))], { transpose_a: { b: false }, transpose_b: { b: false } });
  g.op('Identity', 'Identity', [mm]);
  const c = (await loadGraph(g, 'graph-relu-head')).classifier;
  expect(c.head.kind).toBe('linear');
  expect(c.camHead('feat')).toEqual({ kind: 'none', reason: "'hidden/Relu' (_FusedMatMul) applies relu, which is not linear" });
});

test('graph: a sigmoid fused into the last MatMul is stepped over too (probabilities equal the graph output)', async () => {
  const g = new GraphWriter();
  graphBody(g, 4);
  const axes = g.constant('gap/axes', [2], Int32Array.from([1, 2]));
  const gap = g.op('gap', 'Mean', ['feat', axes], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  const W = randomValues(8, 12);
  const fused = g.op('out/Sigmoid', '_FusedMatMul', [gap, g.constant('out/kernel', [4, 2], W), g.constant('out/bias', [2], randomValues(2, 13))], {
    transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: { list: { s: [str('BiasAdd').s!, str('Sigmoid').s!] } }, num_args: { i: '1' }, epsilon: { f: 0 },
  });
  g.op('Identity', 'Identity', [fused]);
  const input = seededInput([1, 8, 8, 3], 14);
  const gm = await tf.loadGraphModel({ load: async () => g.artifacts() });
  const own = (gm.execute({ input }, 'Identity') as tf.Tensor).dataSync();
  gm.dispose();
  const c = (await loadGraph(g, 'graph-fused-sigmoid')).classifier;
  expect(c.head).toEqual({ kind: 'sigmoid', binary: false, activationAt: "'out/Sigmoid' (_FusedMatMul with a fused sigmoid)" });
  const ex = explainTensor(c, input, { methods: [getMethod('cam')], layers: ['feat'], topK: 2, score: 'logit' });
  expectClose(ex.probabilities, own, 1e-6);
  expectClose(ex.logits, Array.from(own, (p) => Math.log(p / (1 - p))), 1e-4);
});
