// Flattening nested models is exact: the flat functional model computes the same outputs as the nested original
// (max abs difference 0), tfjs' strict loading matches every weight, layer names stay (qualified only where they
// would clash, with the manifest renamed to match), and what cannot be flattened is refused by name.
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../../src/util/errors';
import { normalizeLayersTopology } from '../../../src/model/topology';
import { seededInput } from '../../helpers/models';
import { J, keras3Topology, keras3WeightNames, loadFrom, outputDiff, saveArtifacts, seedWeights } from './fixtures';

const WHERE = '/m/model.json';

/** A MobileNet-like functional base with a skip connection. */
function base(size: number): tf.LayersModel {
  const x = tf.input({ shape: [size, size, 3], name: 'base_in' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(x) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(c1) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(dw) as tf.SymbolicTensor;
  const r = tf.layers.reLU({ maxValue: 6, name: 'r' }).apply(bn) as tf.SymbolicTensor;
  const add = tf.layers.add({ name: 'block_add' }).apply([c1, r]) as tf.SymbolicTensor;
  const out = tf.layers.reLU({ maxValue: 6, name: 'out_relu' }).apply(add) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: out, name: 'base' });
}

/** Teachable Machine's shape: Sequential[Sequential[functional base, GAP], Sequential[Dense relu, Dense softmax]]. */
function teachableLike(): tf.Sequential {
  const features = tf.sequential({ name: 'features', layers: [base(12), tf.layers.globalAveragePooling2d({ name: 'gap' })] });
  const head = tf.sequential({
    name: 'head',
    layers: [tf.layers.dense({ inputShape: [4], units: 6, activation: 'relu', name: 'fc1' }), tf.layers.dense({ units: 3, activation: 'softmax', name: 'fc2' })],
  });
  const m = tf.sequential({ name: 'outer', layers: [features, head] });
  seedWeights(m, 21);
  return m;
}

/** A functional model calling a one-input nested model and a two-input nested model, with a skip around both. */
function functionalWithNested(): tf.LayersModel {
  const bx = tf.input({ shape: [8, 8, 4], name: 'blk_in' });
  const bc = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'blk_conv' }).apply(bx) as tf.SymbolicTensor;
  const block = tf.model({ inputs: bx, outputs: bc, name: 'block' });
  const ma = tf.input({ shape: [8, 8, 4], name: 'mix_a' });
  const mb = tf.input({ shape: [8, 8, 3], name: 'mix_b' });
  const mcat = tf.layers.concatenate({ name: 'mix_cat' }).apply([ma, mb]) as tf.SymbolicTensor;
  const mconv = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'mix_conv' }).apply(mcat) as tf.SymbolicTensor;
  const mix = tf.model({ inputs: [ma, mb], outputs: mconv, name: 'mix' });

  const x = tf.input({ shape: [8, 8, 3], name: 'image' });
  const pre = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'pre' }).apply(x) as tf.SymbolicTensor;
  const b = block.apply(pre) as tf.SymbolicTensor;
  const merged = tf.layers.add({ name: 'merge' }).apply([pre, b]) as tf.SymbolicTensor;
  const mixed = mix.apply([merged, x]) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(mixed) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, name: 'logits' }).apply(gap) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: out, name: 'top' });
  seedWeights(m, 22);
  return m;
}

const layerNames = (topology: J): string[] => topology.model_config.config.layers.map((l: J) => l.name);

function refusal(fn: () => unknown): { err: Error; ms: number } {
  const t0 = performance.now();
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  expect(err).toBeInstanceOf(ModelError);
  const msg = (err as Error).message;
  expect(msg.startsWith(`${WHERE}: `)).toBe(true);
  expect(msg).not.toContain('\n');
  return { err: err as Error, ms };
}

test("Teachable Machine's nesting (Sequential in Sequential holding a functional model): flat, exact, names qualified", async () => {
  const m = teachableLike();
  const saved = await saveArtifacts(m);
  const n = normalizeLayersTopology(saved.modelTopology as object, saved.weightSpecs ?? [], WHERE);
  const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
  const x = seededInput([2, 12, 12, 3], 5);
  expect(outputDiff(m, flat, x)).toBe(0);
  // The nested original, built by plain tfjs from the same file, agrees too.
  const plain = await loadFrom(saved);
  expect(outputDiff(plain, flat, x)).toBe(0);
  expect(flat.weights.length).toBe(n.weightSpecs.length);

  expect(n.notes).toEqual({ keras3: false, flattened: ['features', 'features/base', 'head'] });
  expect(layerNames(n.modelTopology)).toEqual(['base_in', 'c1', 'dw', 'bn', 'r', 'block_add', 'out_relu', 'gap', 'fc1', 'fc2']);
  expect(n.modelTopology.model_config.class_name).toBe('Model');
  expect(n.modelTopology.keras_version).toBe('tfjs-layers 4.22.0');
  expect(n.qualifiedNames.get('out_relu')).toBe('features/base/out_relu');
  expect(n.qualifiedNames.get('gap')).toBe('features/gap');
  expect(n.qualifiedNames.get('fc2')).toBe('head/fc2');
  // Inner layers are now plain layers of the model: reachable by name, usable as targets.
  expect(flat.getLayer('out_relu').outputShape).toEqual([null, 12, 12, 4]);
  // The head's own batch_input_shape described its input inside the nested Sequential; fed from gap, it is gone.
  const fc1 = n.modelTopology.model_config.config.layers.find((l) => l.name === 'fc1') as J;
  expect(fc1.config.batch_input_shape).toBeUndefined();
  expect(fc1.inbound_nodes).toEqual([[['gap', 0, 0, {}]]]);
  tf.dispose([x]);
  [m, flat, plain].forEach((d) => d.dispose());
});

test('the same model written by Keras 3 (three levels of nesting): translated and flattened, exact', async () => {
  const m = teachableLike();
  const saved = await saveArtifacts(m);
  const n = normalizeLayersTopology(keras3Topology(saved.modelTopology), keras3WeightNames(saved.weightSpecs ?? []), WHERE);
  expect(n.notes).toEqual({ keras3: true, flattened: ['features', 'features/base', 'head'] });
  const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
  const x = seededInput([1, 12, 12, 3], 6);
  expect(outputDiff(m, flat, x)).toBe(0);
  tf.dispose([x]);
  [m, flat].forEach((d) => d.dispose());
});

test('functional model calling nested models (one with two inputs) around a skip connection: exact', async () => {
  const m = functionalWithNested();
  const saved = await saveArtifacts(m);
  const n = normalizeLayersTopology(saved.modelTopology as object, saved.weightSpecs ?? [], WHERE);
  const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
  const x = seededInput([2, 8, 8, 3], 8);
  expect(outputDiff(m, flat, x)).toBe(0);
  expect(n.notes.flattened).toEqual(['block', 'mix']);
  const layers = n.modelTopology.model_config.config.layers as J[];
  const find = (name: string) => layers.find((l) => l.name === name);
  // The nested models' InputLayers are gone, replaced by the tensors that fed them.
  expect(find('blk_in')).toBeUndefined();
  expect(find('blk_conv').inbound_nodes).toEqual([[['pre', 0, 0, {}]]]);
  expect(find('mix_cat').inbound_nodes).toEqual([[['merge', 0, 0, {}], ['image', 0, 0, {}]]]);
  expect(find('merge').inbound_nodes).toEqual([[['pre', 0, 0, {}], ['blk_conv', 0, 0, {}]]]);
  tf.dispose([x]);
  [m, flat].forEach((d) => d.dispose());
});

test('a name used in two nested models is qualified, with its weights renamed: plain tfjs cannot load it, flat can', async () => {
  const make = (name: string, inDim: number, units: number) => {
    const i = tf.input({ shape: [inDim], name: `${name}_in` });
    return tf.model({ inputs: i, outputs: tf.layers.dense({ units, name: 'dense' }).apply(i) as tf.SymbolicTensor, name });
  };
  const m = tf.sequential({ name: 'twice', layers: [make('inner1', 4, 3), make('inner2', 3, 2)] });
  seedWeights(m, 23);
  const saved = await saveArtifacts(m);
  expect((saved.weightSpecs ?? []).map((w) => w.name)).toEqual(['dense/kernel', 'dense/bias', 'dense/kernel', 'dense/bias']);
  await expect(loadFrom(saved)).rejects.toThrow(/Duplicate weight name|weights are not set/);

  const n = normalizeLayersTopology(saved.modelTopology as object, saved.weightSpecs ?? [], WHERE);
  expect(layerNames(n.modelTopology)).toEqual(['inner1_in', 'dense', 'inner2/dense']);
  expect(n.weightSpecs.map((w) => w.name)).toEqual(['dense/kernel', 'dense/bias', 'inner2/dense/kernel', 'inner2/dense/bias']);
  expect(n.qualifiedNames.get('inner2/dense')).toBe('inner2/dense');
  expect(n.qualifiedNames.get('dense')).toBe('inner1/dense');
  const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
  const x = tf.tensor2d([[0.3, -0.2, 0.9, 0.1]]);
  expect(outputDiff(m, flat, x)).toBe(0);
  tf.dispose([x]);
  [m, flat].forEach((d) => d.dispose());
});

test('a nested model applied twice (shared weights) is refused, naming it', async () => {
  const i = tf.input({ shape: [4], name: 'shared_in' });
  const shared = tf.model({ inputs: i, outputs: tf.layers.dense({ units: 4, name: 'sd' }).apply(i) as tf.SymbolicTensor, name: 'shared_block' });
  const x = tf.input({ shape: [4], name: 'x' });
  const y = shared.apply(shared.apply(x)) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: y, name: 'twice_applied' });
  const saved = await saveArtifacts(m);
  const { err } = refusal(() => normalizeLayersTopology(saved.modelTopology as object, saved.weightSpecs ?? [], WHERE));
  expect(err.message).toBe(
    `${WHERE}: model 'shared_block': this nested model is applied 2 times (shared weights); it cannot be flattened into one graph, which would need a copy of its layers per call`,
  );
  m.dispose();
});

test("a Sequential's stale batch_input_shape on a later layer (doodlenet) is dropped: no shape warning, same outputs", async () => {
  const m = tf.sequential({
    name: 'doodle',
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, padding: 'same', name: 'conv2d' }),
      tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'conv2d_1' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 2, name: 'out' }),
    ],
  });
  seedWeights(m, 24);
  const saved = await saveArtifacts(m);
  // What doodlenet's file holds: the second layer repeats the first one's input shape.
  const topo: J = JSON.parse(JSON.stringify(saved.modelTopology));
  topo.config.layers[1].config.batch_input_shape = [null, 8, 8, 1];
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const plain = await loadFrom(saved, topo);
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/conv2d_1/);
    warn.mockClear();
    const n = normalizeLayersTopology(topo, saved.weightSpecs ?? [], WHERE);
    const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
    expect(warn).not.toHaveBeenCalled();
    const withShape = (n.modelTopology.model_config.config.layers as J[]).filter((l) => 'batch_input_shape' in l.config).map((l) => l.name);
    expect(withShape).toEqual(['conv2d_input']);
    const x = seededInput([1, 8, 8, 1], 9);
    expect(outputDiff(plain, flat, x)).toBe(0);
    tf.dispose([x]);
    [plain, flat].forEach((d) => d.dispose());
  } finally {
    warn.mockRestore();
  }
  m.dispose();
});

test('both topology shapes and an old Sequential whose config is a bare list of layers', async () => {
  const m = tf.sequential({ name: 'old', layers: [tf.layers.dense({ inputShape: [3], units: 2, name: 'd1' }), tf.layers.dense({ units: 2, name: 'd2' })] });
  seedWeights(m, 25);
  const saved = await saveArtifacts(m);
  const bare: J = saved.modelTopology;
  const converter = { model_config: { class_name: bare.class_name, config: bare.config }, keras_version: '2.2.4', backend: 'tensorflow' };
  const oldList = { class_name: 'Sequential', config: bare.config.layers };
  const x = tf.tensor2d([[0.5, -1, 2]]);
  for (const topo of [bare, converter, oldList]) {
    const n = normalizeLayersTopology(topo, saved.weightSpecs ?? [], WHERE);
    expect(Object.keys(n.modelTopology).sort()).toEqual(topo === oldList ? ['model_config'] : ['backend', 'keras_version', 'model_config']);
    expect(layerNames(n.modelTopology)).toEqual(['d1_input', 'd1', 'd2']);
    const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
    expect(outputDiff(m, flat, x)).toBe(0);
    flat.dispose();
  }
  expect(normalizeLayersTopology(converter, [], WHERE).modelTopology.keras_version).toBe('2.2.4');
  x.dispose();
  m.dispose();
});

test('a functional model without nesting passes through unchanged', async () => {
  const x = tf.input({ shape: [4, 4, 2], name: 'in' });
  const c = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c' }).apply(x) as tf.SymbolicTensor;
  const a = tf.layers.add({ name: 'a' }).apply([x, c]) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: a, name: 'plainfn' });
  const saved = await saveArtifacts(m);
  const before = JSON.parse(JSON.stringify(saved.modelTopology));
  const n = normalizeLayersTopology(saved.modelTopology as object, saved.weightSpecs ?? [], WHERE);
  expect(saved.modelTopology).toEqual(before); // the input is not changed
  expect(n.modelTopology.model_config.config).toEqual(before.config);
  expect(n.weightSpecs).toEqual(saved.weightSpecs);
  expect([...n.qualifiedNames].every(([flatName, q]) => flatName === q)).toBe(true);
  m.dispose();
});

test('a 160-layer nested model is normalized to 161 flat layers', () => {
  // JSON only: a Keras 3 chain of 80 conv+BN pairs, nested once, like a MobileNet base.
  const tensor = (name: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 8, 8, 4], dtype: 'float32', keras_history: [name, 0, 0] } });
  const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  const inner: J[] = [{ class_name: 'InputLayer', config: { batch_shape: [null, 8, 8, 4], dtype: 'float32', name: 'inner_in' }, name: 'inner_in', inbound_nodes: [] }];
  let prev = 'inner_in';
  for (let i = 0; i < 80; i++) {
    for (const [cls, name] of [['Conv2D', `conv_${i}`], ['BatchNormalization', `bn_${i}`]]) {
      inner.push({ module: 'keras.layers', class_name: cls, config: { name, dtype: policy, filters: 4, kernel_size: [1, 1] }, registered_name: null, name, inbound_nodes: [{ args: [tensor(prev)], kwargs: cls === 'BatchNormalization' ? { mask: null } : {} }] });
      prev = name;
    }
  }
  const topo = {
    keras_version: '3.9.2',
    model_config: {
      class_name: 'Functional',
      config: {
        name: 'outer',
        layers: [
          { class_name: 'InputLayer', config: { batch_shape: [null, 8, 8, 4], dtype: 'float32', name: 'x' }, name: 'x', inbound_nodes: [] },
          { class_name: 'Functional', config: { name: 'inner', layers: inner, input_layers: ['inner_in', 0, 0], output_layers: [prev, 0, 0] }, name: 'inner', inbound_nodes: [{ args: [tensor('x')], kwargs: { training: false, mask: null } }] },
        ],
        input_layers: [['x', 0, 0]],
        output_layers: [['inner', 0, 0]],
      },
    },
  };
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const n = normalizeLayersTopology(topo, [], WHERE);
    runs.push(performance.now() - t0);
    expect(n.modelTopology.model_config.config.layers.length).toBe(161);
    expect(n.modelTopology.model_config.config.output_layers).toEqual([['bn_79', 0, 0]]);
  }
  console.log(`normalizeLayersTopology, 161 flat layers: ${runs.map((t) => t.toFixed(1)).join(', ')} ms`);
  // How long it takes is the benchmark's business (no timed tests): a loop that never ends is caught by jest's timeout.
});
