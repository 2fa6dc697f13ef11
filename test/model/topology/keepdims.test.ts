// Global pooling with keepdims=true (tf.keras >= 2.6's and Keras 3's MobileNet v1 head) has no tfjs-layers option:
// rewritten as the pooling followed by a Reshape, it must compute exactly what the model computes.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/backend';
import { normalizeLayersTopology } from '../../../src/model/topology';
import { J, keras3Topology, loadFrom, outputDiff, saveArtifacts, seedWeights } from './fixtures';

beforeAll(async () => {
  await initBackend('wasm');
});

/** MobileNet v1's head as tfjs can build it: GAP -> Reshape(1, 1, C) -> Dropout -> 1x1 conv -> softmax -> Reshape. */
function mobilenetV1Head(): tf.LayersModel {
  const x = tf.input({ shape: [6, 6, 3], name: 'image' });
  let t = tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'feat' }).apply(x) as tf.SymbolicTensor;
  t = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.reshape({ targetShape: [1, 1, 8], name: 'to_map' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.dropout({ rate: 0.001, name: 'dropout' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.conv2d({ filters: 5, kernelSize: 1, name: 'conv_preds' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.activation({ activation: 'softmax', name: 'act_softmax' }).apply(t) as tf.SymbolicTensor;
  t = tf.layers.reshape({ targetShape: [5], name: 'out' }).apply(t) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: t });
  seedWeights(m, 31);
  return m;
}

/** The same network as tf.keras >= 2.6 writes it: the Reshape folded into the pooling as keepdims=true. */
function asKeepdims(topology: J): J {
  const t = JSON.parse(JSON.stringify(topology));
  const config = (t.model_config ?? t).config;
  config.layers = config.layers.filter((l: J) => l.name !== 'to_map');
  config.layers.find((l: J) => l.name === 'gap').config.keepdims = true;
  config.layers.find((l: J) => l.name === 'dropout').inbound_nodes = [[['gap', 0, 0, {}]]];
  return t;
}

test('GAP(keepdims=true) in a Keras 2 topology: the rewritten model gives exactly the original outputs', async () => {
  const original = mobilenetV1Head();
  const a = await saveArtifacts(original);
  const n = normalizeLayersTopology(asKeepdims(a.modelTopology), a.weightSpecs!, 'model.json');
  const names = (n.modelTopology.model_config.config.layers as J[]).map((l) => `${l.class_name}:${l.name}`);
  expect(names).toEqual(expect.arrayContaining(['GlobalAveragePooling2D:gap', 'Reshape:gap_keepdims']));
  expect(names.indexOf('Reshape:gap_keepdims')).toBe(names.indexOf('GlobalAveragePooling2D:gap') + 1);
  const rebuilt = await loadFrom(a, n.modelTopology, n.weightSpecs);
  const x = tf.randomUniform([2, 6, 6, 3], 0, 1, 'float32', 7);
  expect(outputDiff(original, rebuilt, x)).toBe(0);
  // The kept dimensions are there: the Dropout reads [batch, 1, 1, 8].
  expect(rebuilt.getLayer('dropout').input).toHaveProperty('shape', [null, 1, 1, 8]);
  x.dispose();
  original.dispose();
  rebuilt.dispose();
});

test('the same in a Keras 3 topology, and a model output that is the pooling itself', async () => {
  const original = mobilenetV1Head();
  const a = await saveArtifacts(original);
  const k3 = keras3Topology(asKeepdims(a.modelTopology));
  const n = normalizeLayersTopology(k3, a.weightSpecs!, 'model.json');
  const rebuilt = await loadFrom(a, n.modelTopology, n.weightSpecs);
  const x = tf.randomUniform([1, 6, 6, 3], 0, 1, 'float32', 8);
  expect(outputDiff(original, rebuilt, x)).toBe(0);
  x.dispose();
  rebuilt.dispose();

  // GAP(keepdims) as the model's own output: the output becomes the Reshape, [batch, 1, 1, C].
  const t = asKeepdims(a.modelTopology);
  const config = (t.model_config ?? t).config;
  config.layers = config.layers.filter((l: J) => ['image', 'feat', 'gap'].includes(l.name));
  config.output_layers = [['gap', 0, 0]];
  const specs = a.weightSpecs!.filter((w) => w.name.startsWith('feat/'));
  const pooled = normalizeLayersTopology(t, specs, 'model.json');
  expect(pooled.modelTopology.model_config.config.output_layers).toEqual([['gap_keepdims', 0, 0]]);
  const m = await tf.loadLayersModel({ load: async () => ({ ...a, modelTopology: pooled.modelTopology, weightSpecs: specs, weightData: a.weightData }) });
  expect(m.outputs[0].shape).toEqual([null, 1, 1, 8]);
  m.dispose();
  original.dispose();
});
