// Shared pieces of the topology tests: saving a tfjs model to artifacts, loading artifacts back, seeded weights,
// comparing outputs, and a small Keras 3 writer (Keras 2 JSON -> Keras 3 JSON, the inverse of the module under test,
// written from the Keras 3 format description, not from the translator).
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../../src/util/random';

export type J = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The artifacts tfjs writes for `model` (Keras 2 topology, weight specs, weight data). */
export async function saveArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved as tf.io.ModelArtifacts;
}

/** Builds a model from artifacts with tfjs' strict weight loading: every weight must find its variable and back. */
export function loadFrom(artifacts: tf.io.ModelArtifacts, modelTopology?: object, weightSpecs?: tf.io.WeightsManifestEntry[]): Promise<tf.LayersModel> {
  const a: tf.io.ModelArtifacts = { ...artifacts, modelTopology: modelTopology ?? artifacts.modelTopology, weightSpecs: weightSpecs ?? artifacts.weightSpecs };
  return tf.loadLayersModel({ load: async () => a }, { strict: true });
}

/** Replaces every weight with seeded values (moving variances kept positive), so outputs depend on every weight. */
export function seedWeights(model: tf.LayersModel, seed: number): void {
  const rng = mulberry32(seed);
  model.weights.forEach((w) => {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const variance = /moving_variance$/.test(w.originalName);
    for (let i = 0; i < n; i++) v[i] = variance ? 0.5 + rng() : rng() - 0.5;
    w.write(tf.tensor(v, shape));
  });
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Predicts one input with each model and returns the largest absolute difference of their outputs. */
export function outputDiff(m1: tf.LayersModel, m2: tf.LayersModel, x: tf.Tensor): number {
  const a = m1.predict(x) as tf.Tensor;
  const b = m2.predict(x) as tf.Tensor;
  const d = maxAbsDiff(a, b);
  expect(tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0])).toBeGreaterThan(0);
  tf.dispose([a, b]);
  return d;
}

/** Every layer name of a topology, nested models included, as a flat list. */
export function topologyLayerNames(modelConfig: J): string[] {
  const layers: J[] = Array.isArray(modelConfig.config) ? modelConfig.config : modelConfig.config.layers;
  return layers.flatMap((l) => {
    const name = l.name ?? l.config.name;
    return ['Sequential', 'Model', 'Functional'].includes(l.class_name) ? [name, ...topologyLayerNames(l)] : [name];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Keras 3 writer

export interface Keras3Options {
  /** Layer names whose dtype policy is written as mixed_float16 (compute float16, variables float32). */
  mixed?: string[];
  /** Write a model with one input as a flat [name, node, tensor] (Keras 3 does for single inputs). */
  flatInputs?: boolean;
}

const policy = (name: string) => ({ module: 'keras', class_name: 'DTypePolicy', config: { name }, registered_name: null });

/** Every serialized Keras 3 object carries module and registered_name. */
function withModule(v: J): J {
  if (Array.isArray(v)) return v.map(withModule);
  if (v === null || typeof v !== 'object') return v;
  const out: J = {};
  for (const [k, x] of Object.entries(v)) out[k] = withModule(x);
  if (typeof v.class_name === 'string') {
    return { module: 'keras.initializers', ...out, registered_name: null };
  }
  return out;
}

function layerConfig(cls: string, config: J, opts: Keras3Options): J {
  const { batch_input_shape: _shape, dtype: _dtype, ...rest } = config;
  const out = withModule(rest);
  out.dtype = policy(opts.mixed?.includes(config.name) ? 'mixed_float16' : 'float32');
  return out;
}

/**
 * A Keras 2 reference renumbered as Keras 3 numbers it: Keras 2 counts a nested model's own inner node as its
 * node 0 and its calls from 1; Keras 3 counts calls from 0.
 */
const keras3Ref = (e: J[], models: Set<string>): J[] => [e[0], models.has(e[0]) ? e[1] - 1 : e[1], e[2]];

const tensor = (e: J[], models: Set<string>): J => ({
  class_name: '__keras_tensor__',
  config: { shape: null, dtype: 'float32', keras_history: keras3Ref(e, models) },
});

/** Keras 2 call [[name, node, tensor, kwargs], ...] -> Keras 3 {args, kwargs}; several tensors go in as one list. */
function call(node: J[][], kwargs: J, models: Set<string>): J {
  return { args: node.length === 1 ? [tensor(node[0], models)] : [node.map((e) => tensor(e, models))], kwargs };
}

const isModel = (cls: string) => ['Sequential', 'Model', 'Functional'].includes(cls);

function callKwargs(cls: string): J {
  // Keras 3 records the mask argument of mask-aware layers, and training/mask for nested model calls.
  if (isModel(cls)) return { training: false, mask: null };
  if (cls === 'BatchNormalization') return { mask: null };
  return {};
}

function inputLayer(name: string, batchShape: J[]): J {
  return { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: batchShape, dtype: 'float32', sparse: false, name }, registered_name: null };
}

function functionalLayer(l: J, opts: Keras3Options, models: Set<string>): J {
  if (l.class_name === 'InputLayer') {
    return { ...inputLayer(l.name, l.config.batch_input_shape), name: l.name, inbound_nodes: [] };
  }
  if (isModel(l.class_name)) {
    return { ...writeKeras3Model(l, opts), name: l.name, inbound_nodes: l.inbound_nodes.map((n: J[][]) => call(n, callKwargs(l.class_name), models)) };
  }
  return {
    module: 'keras.layers',
    class_name: l.class_name,
    config: layerConfig(l.class_name, l.config, opts),
    registered_name: null,
    build_config: { input_shape: null },
    name: l.name,
    inbound_nodes: l.inbound_nodes.map((n: J[][]) => call(n, callKwargs(l.class_name), models)),
  };
}

function sequentialLayer(l: J, opts: Keras3Options): J {
  if (isModel(l.class_name)) return writeKeras3Model(l, opts);
  return { module: 'keras.layers', class_name: l.class_name, config: layerConfig(l.class_name, l.config, opts), registered_name: null, build_config: { input_shape: null } };
}

/** A Keras 2 model config {class_name, config} written as Keras 3 would write it. */
export function writeKeras3Model(model: J, opts: Keras3Options = {}): J {
  if (model.class_name === 'Sequential') {
    const layers: J[] = Array.isArray(model.config) ? model.config : model.config.layers;
    const first = layers[0];
    // Keras 3 serializes a built Sequential with its InputLayer first; the first layer keeps no input shape.
    const input = first.config?.batch_input_shape ? [inputLayer(`${first.config.name}_input_layer`, first.config.batch_input_shape)] : [];
    return {
      module: 'keras',
      class_name: 'Sequential',
      config: { name: model.config.name, trainable: true, dtype: policy('float32'), layers: [...input, ...layers.map((l) => sequentialLayer(l, opts))] },
      registered_name: null,
      build_config: { input_shape: first.config?.batch_input_shape ?? null },
    };
  }
  const c = model.config;
  const models = new Set<string>(c.layers.filter((l: J) => isModel(l.class_name)).map((l: J) => l.name));
  const inputs = opts.flatInputs && c.input_layers.length === 1 ? c.input_layers[0] : c.input_layers;
  const outputs = c.output_layers.map((r: J[]) => keras3Ref(r, models));
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: { name: c.name, trainable: true, layers: c.layers.map((l: J) => functionalLayer(l, opts, models)), input_layers: inputs, output_layers: outputs },
    registered_name: 'Functional',
    build_config: { input_shape: null },
  };
}

/** Keras 3 names DepthwiseConv2D's weight `kernel` where Keras 2 and tfjs say `depthwise_kernel`. */
export function keras3WeightNames(specs: tf.io.WeightsManifestEntry[]): tf.io.WeightsManifestEntry[] {
  return specs.map((s) => ({ ...s, name: s.name.replace(/\/depthwise_kernel$/, '/kernel') }));
}

/** The whole model.json topology as a tfjs-converter 4.22 run on Keras 3 writes it. */
export function keras3Topology(keras2Topology: J, opts: Keras3Options = {}): J {
  const modelConfig = keras2Topology.model_config ?? keras2Topology;
  return {
    keras_version: '3.9.2',
    backend: 'tensorflow',
    model_config: { ...writeKeras3Model(modelConfig, opts), compile_config: { loss: 'categorical_crossentropy', optimizer: 'adam' } },
  };
}

/**
 * The manifest names Keras 3 gives a model's weights: a variable's path starts with the Sequential models whose
 * name scope it was built in. A Sequential builds its layers inside its scope (and inside the scopes of the
 * Sequentials building it, unless it was built on its own first: `builtAlone`); a Functional model's layers were
 * built before the model existed, outside any scope. So a layer gets the run of Sequentials directly above it:
 * `seq/dense/kernel`, `outer/inner/conv/kernel`, `conv/kernel` inside a Functional. DepthwiseConv2D's
 * `depthwise_kernel` is `kernel`, as keras3WeightNames writes it. Entries are matched to layers by their tfjs names,
 * the k-th entry of a name to the k-th layer of that name in the model's own order (as tfjs saves them).
 */
export function keras3ScopedWeightNames(keras2Topology: J, specs: tf.io.WeightsManifestEntry[], opts: { builtAlone?: string[] } = {}): tf.io.WeightsManifestEntry[] {
  const prefixes: { name: string; prefix: string[] }[] = [];
  const walk = (model: J, run: string[]) => {
    const layers: J[] = Array.isArray(model.config) ? model.config : model.config.layers;
    for (const l of layers) {
      const name = l.name ?? l.config.name;
      if (l.class_name === 'Sequential') walk(l, opts.builtAlone?.includes(name) ? [name] : [...run, name]);
      else if (isModel(l.class_name)) walk(l, []);
      else prefixes.push({ name, prefix: run });
    }
  };
  const top = keras2Topology.model_config ?? keras2Topology;
  const topName = Array.isArray(top.config) ? undefined : top.config.name;
  walk(top, top.class_name === 'Sequential' ? [topName] : []);
  const seen = new Map<string, number>();
  return keras3WeightNames(specs).map((s) => {
    const k = seen.get(s.name) ?? 0;
    seen.set(s.name, k + 1);
    const layer = s.name.slice(0, s.name.lastIndexOf('/'));
    const owner = prefixes.filter((p) => p.name === layer)[k];
    if (!owner) throw new Error(`fixture: no layer for weight ${s.name}`);
    return { ...s, name: [...owner.prefix, s.name].join('/') };
  });
}
