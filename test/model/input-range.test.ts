// The input range a model says itself (src/model/input-range.ts): models built here and saved in their published
// forms (a Keras 2 and a Keras 3 model.json with Rescaling or Normalization first; a converted graph with Mul/Add or
// Mul/Sub before its first convolution), loaded by the real loader, and resolved as every surface resolves them.
// The Normalization layer tfjs-layers lacks (src/model/normalization-layer.ts) is checked against hand-computed values.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { buildClassifier } from '../../src/model/build';
import { Classifier } from '../../src/model/classifier';
import { compose, rangeOfAffine } from '../../src/model/input-range';
import { loadModelFrom } from '../../src/model/load';
import { ModelFolder, resolveModel } from '../../src/model/resolve';
import { Sidecar } from '../../src/model/sidecar';
import { GraphWriter, str, ints } from '../../scripts/export-graph';
import { hasShared, SHARED, skipNotice } from '../helpers/cli';
import { J, keras3ScopedWeightNames, keras3Topology, saveArtifacts, seedWeights } from './topology/fixtures';

const folder = (sidecar: Sidecar | null = null): ModelFolder => ({ sidecar, sidecarAt: '/m/tfjs-cam.json', sidecarLabels: null, modelLabels: null, modelPreprocess: null, used: [] });
const built: Classifier[] = [];
async function build(a: tf.io.ModelArtifacts, format: Classifier['format'] = 'layers-model'): Promise<Classifier> {
  const c = await buildClassifier(a, format, 'mem/model.json');
  built.push(c);
  return c;
}

/** rescaling(scale, offset) named `first` -> conv -> GAP -> dense: a Keras `Sequential` as tfjs saves it. */
async function rescalingFirst(scale: number, offset: number): Promise<tf.io.ModelArtifacts> {
  const m = tf.sequential({
    name: 'sequential_3',
    layers: [
      tf.layers.rescaling({ inputShape: [4, 4, 3], scale, offset, name: 'first' }),
      tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 3, name: 'fc' }),
    ],
  });
  seedWeights(m, 5);
  const a = await saveArtifacts(m);
  m.dispose();
  return a;
}

/**
 * The same network with a Keras Normalization first, as Keras 2 writes it after adapt(): mean, variance (and count)
 * stored as weights `normalization/...`, the config's own mean and variance null.
 */
function withNormalization(a: tf.io.ModelArtifacts, mean: number[], variance: number[]): tf.io.ModelArtifacts {
  const topology = JSON.parse(JSON.stringify(a.modelTopology)) as J;
  const first = (topology.model_config ?? topology).config.layers[0];
  first.class_name = 'Normalization';
  const { scale: _s, offset: _o, ...rest } = first.config;
  first.config = { ...rest, name: 'normalization', axis: -1, mean: null, variance: null, invert: false };
  const extra = [Float32Array.from(mean), Float32Array.from(variance), Int32Array.from([1000])];
  const data = tf.io.concatenateArrayBuffers([a.weightData as ArrayBuffer, ...extra.map((x) => x.buffer as ArrayBuffer)]);
  const specs: tf.io.WeightsManifestEntry[] = [
    ...(a.weightSpecs ?? []),
    { name: 'normalization/mean', shape: [mean.length], dtype: 'float32' },
    { name: 'normalization/variance', shape: [variance.length], dtype: 'float32' },
    { name: 'normalization/count', shape: [], dtype: 'int32' },
  ];
  return { ...a, modelTopology: topology, weightSpecs: specs, weightData: data };
}

/** A deterministic 1x4x4x3 image of 0..255 values. */
const pixels = Float32Array.from({ length: 48 }, (_, i) => (i * 37 + 11) % 256);

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(() => built.forEach((c) => c.dispose()));

test('an affine first step fits one candidate range or says nothing', () => {
  // (x - m) / s per channel, m and s taken from the map: Rescaling(1/255): m 0, s 255.
  expect(rangeOfAffine({ a: [1 / 255], b: [0] })).toEqual([0, 255]);
  expect(rangeOfAffine({ a: [1 / 127.5], b: [-1] })).toEqual([0, 255]);
  // Normalization adapted on raw pixels: mean ~[124, 116, 104], sd ~[58, 57, 57].
  expect(rangeOfAffine({ a: [1 / 58, 1 / 57, 1 / 57], b: [-124 / 58, -116 / 57, -104 / 57] })).toEqual([0, 255]);
  // Caffe's mean subtraction alone: x - 123.68.
  expect(rangeOfAffine({ a: [1], b: [-123.68] })).toEqual([0, 255]);
  // TF-Hub's x * 2 - 1 and ImageNet's mean/std on [0, 1] inputs.
  expect(rangeOfAffine({ a: [2], b: [-1] })).toEqual([0, 1]);
  expect(rangeOfAffine({ a: [1 / 0.229], b: [-0.485 / 0.229] })).toEqual([0, 1]);
  // A map that does nothing, or an unadapted Normalization (mean 0, variance 1), fits both: nothing said.
  expect(rangeOfAffine({ a: [1], b: [0] })).toBeNull();
  // One channel that fits neither spoils the rest.
  expect(rangeOfAffine({ a: [1 / 255, 1000], b: [0, 0] })).toBeNull();
  // Composition: Rescaling(1/255) then a Normalization with ImageNet's statistics = (x - 123.675) / 58.395.
  const total = compose({ a: [1 / 255], b: [0] }, { a: [1 / 0.229], b: [-0.485 / 0.229] })!;
  expect(total.a[0]).toBeCloseTo(1 / 58.395, 8);
  expect(-total.b[0] / total.a[0]).toBeCloseTo(123.675, 4);
  expect(rangeOfAffine(total)).toEqual([0, 255]);
});

test('Rescaling first, Keras 2 and Keras 3 model.json: the default input is 0..255, source "model"; flags and the sidecar win', async () => {
  for (const [scale, offset] of [[1 / 255, 0], [1 / 127.5, -1]]) {
    const a = await rescalingFirst(scale, offset);
    const k3 = { ...a, modelTopology: keras3Topology(a.modelTopology), weightSpecs: keras3ScopedWeightNames(a.modelTopology, a.weightSpecs ?? []) };
    for (const c of [await build(a), await build(k3)]) {
      expect(c.inputRange?.scale).toEqual([0, 255]);
      expect(c.inputRange?.what).toBe(`layer 'first' (Rescaling x * ${Number(scale.toPrecision(6))} + ${offset})`);
      const s = resolveModel(c, folder());
      expect([s.preprocess.scale, s.preprocess.sources.scale, s.inputRangeFrom]).toEqual([[0, 255], 'model', c.inputRange?.what]);
      expect(resolveModel(c, folder(), { preprocess: { scale: [0, 1] } }).preprocess.sources.scale).toBe('flags');
      const side = resolveModel(c, folder({ preprocess: { scale: [-1, 1] } }));
      expect([side.preprocess.scale, side.preprocess.sources.scale, side.inputRangeFrom]).toEqual([[-1, 1], 'tfjs-cam.json', undefined]);
    }
  }
});

test('Normalization first (stored mean and variance), Keras 2 and Keras 3: loads, computes (x - mean) / sqrt(var), and says 0..255', async () => {
  const mean = [120, 110, 100];
  const variance = [3600, 2500, 1600];
  const reference = await build(await rescalingFirst(1, 0)); // the same network with an identity first layer
  const a = withNormalization(await rescalingFirst(1, 0), mean, variance);
  const k3 = { ...a, modelTopology: keras3Topology(a.modelTopology), weightSpecs: keras3ScopedWeightNames(a.modelTopology, a.weightSpecs ?? []) };
  expect(k3.weightSpecs.map((w) => w.name)).toContain('sequential_3/normalization/mean');
  // By hand: each value minus its channel's mean, over the channel's standard deviation.
  const normalized = pixels.map((v, i) => (v - mean[i % 3]) / Math.sqrt(variance[i % 3]));
  const want = tf.tidy(() => reference.predict(tf.tensor4d(normalized, [1, 4, 4, 3])).dataSync());
  expect(Math.max(...Array.from(want).map(Math.abs))).toBeGreaterThan(1e-3);
  for (const c of [await build(a), await build(k3)]) {
    const got = tf.tidy(() => c.predict(tf.tensor4d(pixels, [1, 4, 4, 3])).dataSync());
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(c.inputRange?.scale).toEqual([0, 255]);
    expect(resolveModel(c, folder()).preprocess.sources.scale).toBe('model');
  }
  // The randomized-weights baseline shuffles every weight in its own dtype (count is int32) and still runs.
  const shuffled = await build(a);
  shuffled.randomizeWeights(3);
  const after = tf.tidy(() => shuffled.predict(tf.tensor4d(pixels, [1, 4, 4, 3])).dataSync());
  expect(Array.from(after).every(Number.isFinite)).toBe(true);
});

test('Normalization with its mean and variance in the config (no weights), and inverted', async () => {
  const base = await rescalingFirst(1, 0);
  const reference = await build(base);
  const configured = (extra: object) => {
    const topology = JSON.parse(JSON.stringify(base.modelTopology)) as J;
    const first = (topology.model_config ?? topology).config.layers[0];
    first.class_name = 'Normalization';
    const { scale: _s, offset: _o, ...rest } = first.config;
    first.config = { ...rest, name: 'normalization', axis: -1, ...extra };
    return { ...base, modelTopology: topology };
  };
  // Statistics of [0, 1] images: the range said is 0..1, and the values are (x - 0.5) / 0.25.
  const c = await build(configured({ mean: [0.5, 0.5, 0.5], variance: [0.0625, 0.0625, 0.0625], invert: false }));
  const x = pixels.map((v) => v / 255);
  const want = tf.tidy(() => reference.predict(tf.tensor4d(x.map((v) => (v - 0.5) / 0.25), [1, 4, 4, 3])).dataSync());
  const got = tf.tidy(() => c.predict(tf.tensor4d(x, [1, 4, 4, 3])).dataSync());
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  expect(c.inputRange?.scale).toEqual([0, 1]);
  // invert: mean + x * sqrt(variance) (a de-normalization: not a range to read).
  const inv = await build(configured({ mean: [2], variance: [9], invert: true }));
  const wantInv = tf.tidy(() => reference.predict(tf.tensor4d(x.map((v) => 2 + v * 3), [1, 4, 4, 3])).dataSync());
  const gotInv = tf.tidy(() => inv.predict(tf.tensor4d(x, [1, 4, 4, 3])).dataSync());
  gotInv.forEach((v, i) => expect(v).toBeCloseTo(wantInv[i], 5));
});

/** input -> [Mul a] -> [Sub/Add b] -> Conv2D -> Mean -> MatMul -> Softmax, as tfjs-converter writes a graph. */
function graph(first: (g: GraphWriter, input: string) => string): tf.io.ModelArtifacts {
  const g = new GraphWriter();
  g.nodes.push({ name: 'input', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [-1, 4, 4, 3].map((d) => ({ size: String(d) })) } } } });
  const x = first(g, 'input');
  const kernel = Float32Array.from({ length: 3 * 3 * 3 * 2 }, (_, i) => ((i * 7) % 11) / 11 - 0.5);
  const conv = g.op('conv', 'Conv2D', [x, g.constant('conv/kernel', [3, 3, 3, 2], kernel)], { strides: ints([1, 1, 1, 1]), padding: str('SAME'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]) });
  const relu = g.op('relu', 'Relu', [conv]);
  const gap = g.op('gap', 'Mean', [relu, g.constant('gap/axes', [2], Int32Array.from([1, 2]))], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  const fc = g.op('fc', 'MatMul', [gap, g.constant('fc/kernel', [2, 3], Float32Array.from([1, -1, 0.5, -0.5, 2, 1]))], { transpose_a: { b: false }, transpose_b: { b: false } });
  g.op('probs', 'Softmax', [fc]);
  return g.artifacts();
}

test('a graph that multiplies and adds constants before its first convolution: read where unambiguous', async () => {
  // x / 127.5 - 1 (a Mul by a scalar, a Sub of a scalar): 0..255.
  const keras = await build(graph((g, x) => g.op('sub', 'Sub', [g.op('mul', 'Mul', [x, g.constant('mul/y', [], Float32Array.from([1 / 127.5]))]), g.constant('sub/y', [], Float32Array.from([1]))])), 'graph-model');
  expect(keras.inputRange?.scale).toEqual([0, 255]);
  expect(keras.inputRange?.what).toBe("op 'mul' (Mul x * 0.00784314 + 0), then op 'sub' (Sub x * 1 + -1): x * 0.00784314 + -1");
  expect(resolveModel(keras, folder()).preprocess.sources.scale).toBe('model');
  // Per-channel mean subtraction then division ([1, 1, 1, 3] constants, the constant first in the Add): 0..255.
  const caffe = await build(graph((g, x) => g.op('div', 'RealDiv', [g.op('add', 'AddV2', [g.constant('add/y', [1, 1, 1, 3], Float32Array.from([-123.68, -116.78, -103.94])), x]), g.constant('div/y', [3], Float32Array.from([58.4, 57.1, 57.4]))])), 'graph-model');
  expect(caffe.inputRange?.scale).toEqual([0, 255]);
  // x * 2 - 1 (TF-Hub): 0..1, said by the model.
  const hub = await build(graph((g, x) => g.op('sub', 'Sub', [g.op('mul', 'Mul', [g.constant('mul/y', [], Float32Array.from([2])), x]), g.constant('sub/y', [], Float32Array.from([1]))])), 'graph-model');
  expect(hub.inputRange?.scale).toEqual([0, 1]);
  // Nothing before the convolution, the input read by two ops, or a constant divided by the input: nothing said.
  expect((await build(graph((_g, x) => x), 'graph-model')).inputRange).toBeNull();
  const branch = await build(graph((g, x) => g.op('add', 'AddV2', [g.op('mul', 'Mul', [x, g.constant('mul/y', [], Float32Array.from([1 / 255]))]), g.op('mul2', 'Mul', [x, g.constant('mul2/y', [], Float32Array.from([1 / 255]))])])), 'graph-model');
  expect(branch.inputRange).toBeNull();
  expect(resolveModel(branch, folder()).preprocess.sources.scale).toBe('default');
  const inverse = await build(graph((g, x) => g.op('div', 'RealDiv', [g.constant('div/x', [], Float32Array.from([255])), x])), 'graph-model');
  expect(inverse.inputRange).toBeNull();
});

const zoo = path.join(SHARED, 'zoo');
(hasShared && fs.existsSync(zoo) ? test : test.skip)("zoo: the TF-Hub graph's own x * 2 - 1 says [0, 1]; models without such a first step say nothing", async () => {
  const mid = await loadModelFrom(path.join(zoo, 'nsfwjs-mobilenet-v2-mid'));
  built.push(mid.classifier);
  expect(mid.classifier.inputRange?.scale).toEqual([0, 1]);
  expect(mid.classifier.inputRange?.what).toMatch(/hub_input\/Mul' \(Mul x \* 2 \+ 0\), then op '.*hub_input\/Sub' \(Sub x \* 1 \+ -1\): x \* 2 \+ -1$/);
  for (const name of ['human-emotion', 'doodlenet']) {
    const m = await loadModelFrom(path.join(zoo, name));
    built.push(m.classifier);
    expect([name, m.classifier.inputRange ?? null]).toEqual([name, null]);
  }
});
if (!hasShared) skipNotice('zoo input ranges');
