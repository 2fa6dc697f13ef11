// Keras 3 -> Keras 2 translation is exact: tfjs models are saved (Keras 2 JSON + weights), written out as Keras 3
// would write them (fixtures.ts, the inverse direction), translated back by the module and loaded with tfjs'
// strict weight loading; the outputs must equal the original model's bit for bit.
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../../src/util/errors';
import { isKeras3Topology, keras3ToKeras2, normalizeLayersTopology, translateLayersTopology } from '../../../src/model/topology';
import { seededInput } from '../../helpers/models';
import { buildClassifier } from '../../../src/model/build';
import { J, keras3ScopedWeightNames, keras3Topology, keras3WeightNames, loadFrom, maxAbsDiff, outputDiff, saveArtifacts, seedWeights } from './fixtures';

const WHERE = '/models/m/model.json';

/** conv -> depthwise -> BN, an Add skip around them, a Concatenate, GAP, softmax Dense. */
function functionalModel(): tf.LayersModel {
  const x = tf.input({ shape: [8, 8, 3], name: 'image' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(x) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(c1) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(dw) as tf.SymbolicTensor;
  const add = tf.layers.add({ name: 'add' }).apply([c1, bn]) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu', name: 'c2' }).apply(add) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([add, c2]) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(cat) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax', name: 'logits' }).apply(gap) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: out, name: 'func' });
  seedWeights(m, 1);
  return m;
}

function sequentialModel(): tf.Sequential {
  const m = tf.sequential({
    name: 'seq',
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'sc1' }),
      tf.layers.batchNormalization({ name: 'sbn' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'spool' }),
      tf.layers.flatten({ name: 'sflat' }),
      tf.layers.dense({ units: 3, name: 'sout' }),
    ],
  });
  seedWeights(m, 2);
  return m;
}

/** A functional base (with a skip connection) as tfjs nests it: in a Sequential, or called from a functional model. */
function base(): tf.LayersModel {
  const x = tf.input({ shape: [8, 8, 3], name: 'base_in' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'b_c1' }).apply(x) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'b_dw' }).apply(c1) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'b_bn' }).apply(dw) as tf.SymbolicTensor;
  const add = tf.layers.add({ name: 'b_add' }).apply([c1, bn]) as tf.SymbolicTensor;
  const r = tf.layers.reLU({ maxValue: 6, name: 'out_relu' }).apply(add) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: r, name: 'base' });
}

function nestedInSequential(): tf.Sequential {
  const m = tf.sequential({ name: 'outer', layers: [base(), tf.layers.globalAveragePooling2d({ name: 'pool' }), tf.layers.dense({ units: 4, name: 'head' })] });
  seedWeights(m, 3);
  return m;
}

/** The shape of catmood-mobilenet25: an outer functional model calling a functional base once. */
function nestedInFunctional(): tf.LayersModel {
  const b = base();
  const x = tf.input({ shape: [8, 8, 3], name: 'img' });
  const f = b.apply(x) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap2' }).apply(f) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4, name: 'dense_out' }).apply(gap) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: out, name: 'outer_f' });
  seedWeights(m, 4);
  return m;
}

const x = seededInput([2, 8, 8, 3], 11);
afterAll(() => x.dispose());

/** Saves `model`, writes it as Keras 3, translates back (alone, and with flattening) and compares outputs. */
async function roundTrip(model: tf.LayersModel, opts: Parameters<typeof keras3Topology>[1] = {}) {
  const saved = await saveArtifacts(model);
  const k3 = keras3Topology(saved.modelTopology, opts);
  const k3Specs = keras3WeightNames(saved.weightSpecs ?? []);
  expect(isKeras3Topology(k3)).toBe(true);
  expect(isKeras3Topology(saved.modelTopology)).toBe(false);

  const translated = translateLayersTopology(k3, k3Specs, WHERE);
  expect(translated.keras3).toBe(true);
  const text = JSON.stringify(translated.modelTopology);
  for (const gone of ['"module"', 'registered_name', '__keras_tensor__', 'DTypePolicy', 'build_config', 'compile_config', '"args"', 'batch_shape']) {
    expect(text).not.toContain(gone);
  }
  const alone = await loadFrom(saved, translated.modelTopology, translated.weightSpecs);
  const dAlone = outputDiff(model, alone, x);

  const normal = normalizeLayersTopology(k3, k3Specs, WHERE);
  const flat = await loadFrom(saved, normal.modelTopology, normal.weightSpecs);
  const dFlat = outputDiff(model, flat, x);
  // Strict loading already refuses unmatched weights either way; say it once more in numbers.
  expect(flat.weights.length).toBe(normal.weightSpecs.length);
  alone.dispose();
  flat.dispose();
  return { saved, k3, translated, normal, dAlone, dFlat };
}

test('functional model with Add, Concatenate, DepthwiseConv2D, BatchNormalization, a mixed_float16 layer: exact', async () => {
  const m = functionalModel();
  const r = await roundTrip(m, { mixed: ['c2'], flatInputs: true });
  expect(r.dAlone).toBe(0);
  expect(r.dFlat).toBe(0);
  // What plain tfjs makes of the Keras 3 form (with the InputLayer shape as tfjs-converter 4.22 renames it): the
  // error the zoo's Keras 3 models give.
  const asConverted = structuredClone(r.k3);
  const input = asConverted.model_config.config.layers[0];
  input.config = { ...input.config, batchInputShape: input.config.batch_shape, batch_shape: undefined };
  await expect(loadFrom(r.saved, JSON.parse(JSON.stringify(asConverted)), keras3WeightNames(r.saved.weightSpecs ?? []))).rejects.toThrow(/expected array for nodeData/);
  const layers: J[] = (r.translated.modelTopology.model_config.config as J).layers;
  const byName = (n: string) => layers.find((l) => l.name === n);
  expect(byName('c2').config.dtype).toBe('float32');
  expect(byName('image').config.batch_input_shape).toEqual([null, 8, 8, 3]);
  // Several tensors: one entry each; kwargs without training and without null values.
  expect(byName('add').inbound_nodes).toEqual([[['c1', 0, 0, {}], ['bn', 0, 0, {}]]]);
  expect(byName('bn').inbound_nodes).toEqual([[['dw', 0, 0, {}]]]);
  expect((r.translated.modelTopology.model_config.config as J).input_layers).toEqual([['image', 0, 0]]);
  expect(r.normal.notes).toEqual({ keras3: true, flattened: [] });
  m.dispose();
});

test('Sequential (Keras 3 writes an InputLayer first): exact, translated alone and flattened', async () => {
  const m = sequentialModel();
  const r = await roundTrip(m);
  expect(r.dAlone).toBe(0);
  expect(r.dFlat).toBe(0);
  const flat: J = r.normal.modelTopology.model_config.config;
  expect(flat.layers.map((l: J) => l.name)).toEqual(['sc1_input_layer', 'sc1', 'sbn', 'spool', 'sflat', 'sout']);
  m.dispose();
});

test('functional model nested in a Sequential, and called once from a functional model (training/mask kwargs): exact', async () => {
  for (const m of [nestedInSequential(), nestedInFunctional()]) {
    const r = await roundTrip(m);
    expect(r.dAlone).toBe(0);
    expect(r.dFlat).toBe(0);
    expect(r.normal.notes.flattened).toEqual(['base']);
    expect(r.normal.qualifiedNames.get('out_relu')).toBe('base/out_relu');
    m.dispose();
  }
});

describe('what Keras 2 form cannot express is refused, naming the layer', () => {
  let k3: J;
  beforeAll(async () => {
    const m = functionalModel();
    k3 = keras3Topology((await saveArtifacts(m)).modelTopology);
    m.dispose();
  });
  const layer = (t: J, name: string) => t.model_config.config.layers.find((l: J) => l.name === name);
  const expectRefused = (edit: (t: J) => void, re: RegExp) => {
    const t = structuredClone(k3);
    edit(t);
    let err: unknown;
    try {
      keras3ToKeras2(t.model_config, WHERE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelError);
    const msg = (err as Error).message;
    expect(msg.startsWith(`${WHERE}: `)).toBe(true);
    expect(msg).not.toContain('\n');
    expect(msg).toMatch(re);
  };

  test('a tensor passed as a keyword argument', () => {
    expectRefused((t) => {
      const bn = layer(t, 'bn');
      bn.inbound_nodes[0].kwargs.mask = bn.inbound_nodes[0].args[0];
    }, /layer 'bn': inbound node 0 passes a tensor as keyword argument 'mask'/);
  });

  test('a non-tensor positional argument, and a second tensor as its own positional argument', () => {
    expectRefused((t) => layer(t, 'c2').inbound_nodes[0].args.push(3), /layer 'c2': inbound node 0 passes number 3 as positional argument 2, which Keras 2 form cannot express/);
    expectRefused((t) => {
      const add = layer(t, 'add');
      add.inbound_nodes[0].args = add.inbound_nodes[0].args[0];
    }, /layer 'add': inbound node 0 passes a tensor as positional argument 2/);
    expectRefused((t) => {
      layer(t, 'add').inbound_nodes[0].args[0].push(1.5);
    }, /layer 'add': inbound node 0, input 2 is number 1.5, not a tensor/);
  });

  test('keyword arguments tfjs does not take, quantized dtype policies, options tfjs would ignore', () => {
    expectRefused((t) => (layer(t, 'c1').inbound_nodes[0].kwargs.scale = 2), /layer 'c1': inbound node 0 is called with scale=2, which tfjs-layers does not take/);
    expectRefused((t) => (layer(t, 'c1').config.dtype = { module: 'keras', class_name: 'QuantizedDTypePolicy', config: { name: 'int8_from_float32' }, registered_name: null }), /layer 'c1': it uses the quantized dtype policy 'int8_from_float32'/);
    expectRefused((t) => (layer(t, 'c1').config.groups = 2), /layer 'c1': Conv2D option groups=2 has no equivalent in tfjs-layers/);
    expectRefused((t) => (t.model_config.config.input_layers = { image: ['image', 0, 0] }), /input_layers is an object; Keras 2 form needs a list/);
  });

  test('null kwargs and training are dropped; nested models are translated at any depth', () => {
    const t = structuredClone(k3);
    layer(t, 'c1').inbound_nodes[0].kwargs = { training: true, mask: null };
    const out: J = keras3ToKeras2(t.model_config, WHERE);
    expect(out.config.layers.find((l: J) => l.name === 'c1').inbound_nodes).toEqual([[['image', 0, 0, {}]]]);
  });
});

describe("Keras 3 Sequential: weights named after the model's scope (<model>/<layer>/<weight>)", () => {
  /** The shape of the failing export: conv, BatchNormalization, DepthwiseConv2D, pooling, softmax Dense. */
  function keras3Sequential(): tf.Sequential {
    const m = tf.sequential({
      name: 'sequential_19',
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'conv2d' }),
        tf.layers.batchNormalization({ name: 'batch_normalization' }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'depthwise_conv2d' }),
        tf.layers.maxPooling2d({ poolSize: 2, name: 'max_pooling2d' }),
        tf.layers.flatten({ name: 'flatten' }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'dense' }),
      ],
    });
    seedWeights(m, 31);
    return m;
  }

  /** The Keras 2 form (as tfjs saves the model) and the Keras 3 form of the same network and weight data. */
  async function bothForms(m: tf.LayersModel, opts: { builtAlone?: string[] } = {}) {
    const saved = await saveArtifacts(m);
    const k3: tf.io.ModelArtifacts = { ...saved, modelTopology: keras3Topology(saved.modelTopology), weightSpecs: keras3ScopedWeightNames(saved.modelTopology, saved.weightSpecs ?? [], opts) };
    return { saved, k3 };
  }

  test('loads, with the same predictions as the Keras 2 form, through the loader tfjs-cam uses', async () => {
    const m = keras3Sequential();
    const { saved, k3 } = await bothForms(m);
    const names = (k3.weightSpecs ?? []).map((w) => w.name);
    expect(names).toEqual([
      'sequential_19/conv2d/kernel', 'sequential_19/conv2d/bias',
      'sequential_19/batch_normalization/gamma', 'sequential_19/batch_normalization/beta',
      'sequential_19/depthwise_conv2d/kernel', 'sequential_19/depthwise_conv2d/bias',
      'sequential_19/dense/kernel', 'sequential_19/dense/bias',
      'sequential_19/batch_normalization/moving_mean', 'sequential_19/batch_normalization/moving_variance',
    ]);
    // The failure the issue reports: translated but matched by name only, the first weight finds no variable.
    const translated = translateLayersTopology(k3.modelTopology as object, k3.weightSpecs ?? [], WHERE);
    await expect(loadFrom(saved, translated.modelTopology, translated.weightSpecs)).rejects.toThrow('Provided weight data has no target variable: sequential_19/conv2d/kernel');

    const n = normalizeLayersTopology(k3.modelTopology as object, k3.weightSpecs ?? [], WHERE);
    // Every entry now names its tfjs variable, in the manifest's order (the weight data follows it).
    expect(n.weightSpecs.map((w) => w.name)).toEqual((saved.weightSpecs ?? []).map((w) => w.name));
    const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
    expect(outputDiff(m, flat, x)).toBe(0);

    // The classifiers built from either form (final softmax stepped over) give the same logits.
    const c2 = await buildClassifier(saved, 'layers-model', WHERE);
    const c3 = await buildClassifier(k3, 'layers-model', WHERE);
    const [l2, l3] = [c2.predict(x), c3.predict(x)];
    expect(tf.tidy(() => tf.max(tf.abs(l2)).dataSync()[0])).toBeGreaterThan(0);
    expect(maxAbsDiff(l2, l3)).toBe(0);
    tf.dispose([l2, l3]);
    [m, flat].forEach((d) => d.dispose());
    c2.dispose();
    c3.dispose();
  });

  test('nested: a Sequential in a Sequential (built by it, or on its own), a Sequential in a Functional model', async () => {
    const inner = () => tf.sequential({
      name: 'inner',
      layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, name: 'conv' }), tf.layers.batchNormalization({ name: 'bn' })],
    });
    const outer = tf.sequential({ name: 'outer', layers: [inner(), tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 3, name: 'head' })] });
    seedWeights(outer, 32);
    for (const builtAlone of [[], ['inner']]) {
      const { saved, k3 } = await bothForms(outer, { builtAlone });
      const prefix = builtAlone.length ? 'inner' : 'outer/inner';
      expect((k3.weightSpecs ?? []).map((w) => w.name)).toEqual([`${prefix}/conv/kernel`, `${prefix}/conv/bias`, `${prefix}/bn/gamma`, `${prefix}/bn/beta`, 'outer/head/kernel', 'outer/head/bias', `${prefix}/bn/moving_mean`, `${prefix}/bn/moving_variance`]);
      const n = normalizeLayersTopology(k3.modelTopology as object, k3.weightSpecs ?? [], WHERE);
      const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
      expect(outputDiff(outer, flat, x)).toBe(0);
      flat.dispose();
    }
    outer.dispose();

    const input = tf.input({ shape: [8, 8, 3], name: 'image' });
    const stem = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'stem' }).apply(input) as tf.SymbolicTensor;
    const block = tf.sequential({ name: 'block', layers: [tf.layers.depthwiseConv2d({ inputShape: [8, 8, 4], kernelSize: 3, name: 'dw' }), tf.layers.batchNormalization({ name: 'bn' })] });
    const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(block.apply(stem) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const func = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3, name: 'dense' }).apply(gap) as tf.SymbolicTensor, name: 'functional' });
    seedWeights(func, 33);
    const { saved, k3 } = await bothForms(func);
    expect((k3.weightSpecs ?? []).map((w) => w.name).filter((w) => !w.startsWith('block/'))).toEqual(['stem/kernel', 'stem/bias', 'dense/kernel', 'dense/bias']);
    expect((k3.weightSpecs ?? []).map((w) => w.name)).toContain('block/dw/kernel');
    const n = normalizeLayersTopology(k3.modelTopology as object, k3.weightSpecs ?? [], WHERE);
    expect(n.weightSpecs.map((w) => w.name)).toEqual((saved.weightSpecs ?? []).map((w) => w.name));
    const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
    expect(outputDiff(func, flat, x)).toBe(0);
    [func, flat].forEach((d) => d.dispose());
  });

  test('a base model built first, then put in a Sequential: its weights unscoped, a name shared with the head told apart', async () => {
    // Transfer learning in Keras 3: Sequential([base, pooling, Dense]); the base's layers were built outside any
    // scope, the head's inside the Sequential's. Both have a layer 'dense': 'dense/kernel' is the base's. tfjs
    // cannot run a model with a name used twice, so the reference is the same network with the head named 'head'.
    const bx = tf.input({ shape: [8, 8, 3], name: 'base_in' });
    const bc = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv' }).apply(bx) as tf.SymbolicTensor;
    const bd = tf.layers.dense({ units: 5, activation: 'relu', name: 'dense' }).apply(bc) as tf.SymbolicTensor;
    const b = tf.model({ inputs: bx, outputs: bd, name: 'base' });
    const m = tf.sequential({ name: 'sequential', layers: [b, tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 3, name: 'head' })] });
    seedWeights(m, 34);
    const saved = await saveArtifacts(m);
    const keras2: J = JSON.parse(JSON.stringify(saved.modelTopology).replace(/"head"/g, '"dense"'));
    const specs = (saved.weightSpecs ?? []).map((w) => ({ ...w, name: w.name.replace(/^head\//, 'dense/') }));
    const k3Specs = keras3ScopedWeightNames(keras2, specs);
    expect(k3Specs.map((w) => w.name)).toEqual(['conv/kernel', 'conv/bias', 'dense/kernel', 'dense/bias', 'sequential/dense/kernel', 'sequential/dense/bias']);
    const n = normalizeLayersTopology(keras3Topology(keras2), k3Specs, WHERE);
    // The head keeps the plain name (top-level layers claim theirs first); the base's is qualified.
    expect(n.weightSpecs.map((w) => w.name)).toEqual(['conv/kernel', 'conv/bias', 'base/dense/kernel', 'base/dense/bias', 'dense/kernel', 'dense/bias']);
    const flat = await loadFrom(saved, n.modelTopology, n.weightSpecs);
    expect(outputDiff(m, flat, x)).toBe(0);
    [m, flat].forEach((d) => d.dispose());
  });

  test('only a real ambiguity is refused, naming both candidates', async () => {
    const refused = (run: () => unknown): string => {
      try {
        run();
      } catch (e) {
        expect(e).toBeInstanceOf(ModelError);
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    // One variable named twice, with and without the model prefix.
    const m = keras3Sequential();
    const { k3 } = await bothForms(m);
    const twice = (k3.weightSpecs ?? []).map((w) => (w.name === 'sequential_19/dense/bias' ? { ...w, name: 'conv2d/bias' } : w));
    expect(refused(() => normalizeLayersTopology(k3.modelTopology as object, twice, WHERE))).toBe(
      `${WHERE}: the weights manifest gives variable 'bias' of layer 'conv2d' twice: weights 'sequential_19/conv2d/bias' and 'conv2d/bias' both name it`,
    );
    m.dispose();

    // Two layers named 'dense' (in two nested models) and one entry 'dense/kernel' for them: it could be either.
    const make = (name: string, inDim: number, units: number) => {
      const i = tf.input({ shape: [inDim], name: `${name}_in` });
      return tf.model({ inputs: i, outputs: tf.layers.dense({ units, name: 'dense' }).apply(i) as tf.SymbolicTensor, name });
    };
    const two = tf.sequential({ name: 'twice', layers: [make('inner1', 4, 3), make('inner2', 3, 2)] });
    const saved = await saveArtifacts(two);
    const specs = saved.weightSpecs ?? [];
    expect(specs.map((w) => w.name)).toEqual(['dense/kernel', 'dense/bias', 'dense/kernel', 'dense/bias']);
    // Told apart by a prefix on either entry: no doubt left, nothing refused.
    for (const k of [0, 2]) {
      const named = specs.map((w, i) => (i === k || i === k + 1 ? { ...w, name: `${k ? 'inner2' : 'inner1'}/${w.name}` } : w));
      expect(normalizeLayersTopology(saved.modelTopology as object, named, WHERE).weightSpecs.map((w) => w.name)).toEqual(['dense/kernel', 'dense/bias', 'inner2/dense/kernel', 'inner2/dense/bias']);
    }
    const oneKernel = specs.map((w, i) => (i === 2 ? { ...w, name: 'inner2/dense/weights' } : w));
    expect(refused(() => normalizeLayersTopology(saved.modelTopology as object, oneKernel, WHERE))).toBe(
      `${WHERE}: the weights manifest is ambiguous: weight 'dense/kernel' could belong to layer 'dense' (inner1/dense) or 'inner2/dense'; rename the layers so that their names differ`,
    );
    two.dispose();
  });
});
