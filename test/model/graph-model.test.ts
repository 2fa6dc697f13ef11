// GraphModel (tfjs-converter format) support: the same network as a LayersModel and as a GraphModel (written
// by the project's exporter) gives the same logits, the same gradients at a layer with a skip connection
// around it (checked against finite differences too), and the same maps.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { GraphClassifier } from '../../src/model/graph-classifier';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { classGradients } from '../../src/capture/gradients';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { getMethod } from '../../src/methods';
import { layersToGraph } from '../../scripts/export-graph';
import { seededInput } from '../helpers/models';

let layers: tf.LayersModel;
let graph: GraphClassifier;
let lc: LayersClassifier;

beforeAll(async () => {
  await initBackend('wasm');
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const x = tf.input({ shape: [8, 8, 1], name: 'image' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'c1' }).apply(x) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(2), name: 'c2' }).apply(c1) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn', movingVarianceInitializer: tf.initializers.constant({ value: 2 }), betaInitializer: tf.initializers.constant({ value: 0.1 }) }).apply(c2) as tf.SymbolicTensor;
  const r = tf.layers.activation({ activation: 'relu', name: 'r' }).apply(bn) as tf.SymbolicTensor;
  const add = tf.layers.add({ name: 'add' }).apply([c1, r]) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(add) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, kernelInitializer: init(4), name: 'logits', activation: 'softmax' }).apply(gap) as tf.SymbolicTensor;
  layers = tf.model({ inputs: x, outputs: out });
  const g = layersToGraph(layers, layers.toJSON(null, false) as never);
  graph = new GraphClassifier(await tf.loadGraphModel({ load: async () => g.artifacts() }));
  // The layers twin without the softmax (the loader does this for files; here we build it by hand).
  const logitsOnly = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 3, name: 'logits2' }).apply(gap) as tf.SymbolicTensor });
  logitsOnly.getLayer('logits2').setWeights(layers.getLayer('logits').getWeights());
  lc = new LayersClassifier(logitsOnly, { strippedActivation: { kind: 'softmax', layer: 'logits2' } });
});

test('the graph steps over its final Softmax, finds the default target and allows CAM', () => {
  expect(graph.softmaxSteppedOver).toBe(true);
  expect(graph.inputShape).toEqual([8, 8, 1]);
  expect(graph.numClasses).toBe(3);
  expect(graph.defaultTargetLayer()).toBe('add');
  const head = graph.camHead('add');
  expect(head.kind).toBe('weights');
  if (head.kind === 'weights') head.weights.dispose();
  expect(graph.camHead('r').kind).toBe('none');
});

test('same logits and same gradients at the layer with a skip connection around it', () => {
  const x = seededInput([1, 8, 8, 1], 9);
  const fg = graph.forward(x, ['r']);
  const fl = lc.forward(x, ['r']);
  const a = fg.logits.dataSync();
  fl.logits.dataSync().forEach((v, i) => expect(a[i]).toBeCloseTo(v, 4));
  const gg = classGradients(fg, 0, [0, 2], 'logit', 3);
  const gl = classGradients(fl, 0, [0, 2], 'logit', 3);
  const g1 = gg.dataSync();
  const g2 = gl.dataSync();
  expect(Math.max(...Array.from(g2).map(Math.abs))).toBeGreaterThan(1e-3);
  g2.forEach((v, i) => expect(g1[i]).toBeCloseTo(v, 4));
  // finite differences through the graph's own head
  const act = fg.activations[0].dataSync();
  const eps = 1e-3;
  for (const i of [0, 37, 101, 200]) {
    const f = (d: number) =>
      tf.tidy(() => {
        const v = Float32Array.from(act);
        v[i] += d;
        return fg.head(0, tf.tensor4d(v, [1, 8, 8, 4])).dataSync()[2];
      });
    const fd = (f(eps) - f(-eps)) / (2 * eps);
    expect(g1[256 + i]).toBeCloseTo(fd, 2); // row 1 = class 2
  }
  [gg, gl].forEach((t) => t.dispose());
  fg.dispose();
  fl.dispose();
  x.dispose();
});

test('Grad-CAM and CAM maps agree between the two formats', () => {
  const x = seededInput([1, 8, 8, 1], 4);
  for (const method of ['gradcam', 'cam']) {
    const opts = { methods: [getMethod(method)], layers: ['add'], classes: [0, 1, 2], topK: 3, score: 'logit' as const };
    const mg = explainTensor(graph, x, opts);
    const ml = explainTensor(lc, x, opts);
    mg.maps.forEach((m, k) => m.raw[0].data.forEach((v, i) => expect(v).toBeCloseTo(ml.maps[k].raw[0].data[i], 4)));
  }
  x.dispose();
});
