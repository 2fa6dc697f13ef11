/**
 * Nested models -> one flat functional topology.
 *
 * Keras and tfjs let a model be used as a layer (Teachable Machine exports are a Sequential holding a Sequential
 * holding a functional MobileNet; Keras 3 transfer-learning models call a functional base model). tfjs then sees
 * the inner layers only through the nested model, so they cannot be looked up by name or used as CAM targets.
 * Here every nested model is inlined: its InputLayers are replaced by the tensors that feed it, and references to
 * its outputs by the inner tensors they stand for. A Sequential becomes a chain of calls. The result is a Keras 2
 * functional topology `{class_name: 'Model', config: {name, layers, input_layers, output_layers}}` that computes
 * exactly what the nested one did, with the same layers and the same weights.
 *
 * Layers keep their names, so the weights in the manifest (named `<layer>/<weight>`) still find them. A name that
 * would occur twice is qualified as `<enclosing model>/<name>` (then the full path), and the manifest entries are
 * renamed to match (weight-names.ts, which also reads Keras 3's `<model>/<layer>/<weight>` names).
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../util/errors';
import {
  FunctionalConfig,
  Json,
  JsonObject,
  Keras2Layer,
  cloneJson,
  MODEL_CLASSES,
  NodeEntry,
  TensorRef,
  describeValue,
  isObject,
  layerNameOf,
  q,
  validateFunctionalTopology,
} from './validate';
import { matchWeightNames } from './weight-names';

export interface FlattenResult {
  topology: { class_name: 'Model'; config: FunctionalConfig };
  /** The manifest entries in their original order (the weight data follows it), renamed where their layer was. */
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** Every flat layer name -> its path of model names from the top model down (top-level layers: themselves). */
  qualifiedNames: Map<string, string>;
  /** Qualified names of the nested models that were inlined, outermost first. */
  flattened: string[];
}

/** One layer of the flat model, before its final name is chosen. */
interface FlatLayer {
  /** Its name inside the model that held it. */
  original: string;
  /** Names of the nested models around it, outermost first (the top model is not included). */
  path: string[];
  class_name: string;
  config: JsonObject;
  nodes: FlatEntry[][];
  flatName: string;
}

/** A tensor of the flat graph: output `tensor` of call `node` of `layer`. */
interface FlatRef {
  layer: FlatLayer;
  node: number;
  tensor: number;
}

interface FlatEntry extends FlatRef {
  kwargs: JsonObject;
}

interface Ends {
  inputs: FlatRef[];
  outputs: FlatRef[];
}

/**
 * Keys that give a layer its own input shape. Only an InputLayer needs one in a functional graph; elsewhere it
 * means nothing but a shape warning from tfjs (a Sequential's second layer carrying a stale batch_input_shape).
 */
const SHAPE_KEYS = ['batch_input_shape', 'batchInputShape', 'input_shape', 'inputShape'];
const BATCH_SIZE_KEYS = ['batch_size', 'batchSize'];

const isModelEntry = (l: { class_name?: unknown }): boolean => typeof l.class_name === 'string' && MODEL_CLASSES.has(l.class_name);

function batchInputShapeOf(config: JsonObject): Json[] | null {
  for (const k of ['batch_input_shape', 'batchInputShape']) if (Array.isArray(config[k])) return config[k] as Json[];
  for (const k of ['input_shape', 'inputShape']) {
    if (Array.isArray(config[k])) {
      const batch = config.batch_size ?? config.batchSize ?? null;
      return [batch, ...(config[k] as Json[])];
    }
  }
  // tfjs' Dense (like Keras 1) also takes input_dim as its input shape.
  const dim = config.input_dim ?? config.inputDim;
  return typeof dim === 'number' ? [null, dim] : null;
}

function withoutInputShape(config: JsonObject): JsonObject {
  const out: JsonObject = {};
  const hadShape = SHAPE_KEYS.some((k) => k in config);
  for (const [k, v] of Object.entries(config)) {
    if (SHAPE_KEYS.includes(k) || (hadShape && BATCH_SIZE_KEYS.includes(k))) continue;
    out[k] = v;
  }
  return out;
}

class Flattener {
  readonly layers: FlatLayer[] = [];
  readonly flattened: string[] = [];

  constructor(
    private readonly where: string,
    private readonly topName: string,
  ) {}

  private fail(scope: string[], what: string): never {
    const label = scope.length > 0 ? scope.join('/') : this.topName;
    throw new ModelError(`${this.where}: model ${q(label)}: ${what}`);
  }

  private newLayer(entry: JsonObject, name: string, path: string[]): FlatLayer {
    const config = cloneJson(entry.config) as JsonObject;
    const cls = entry.class_name as string;
    return { original: name, path, class_name: cls, config: cls === 'InputLayer' ? config : withoutInputShape(config), nodes: [], flatName: name };
  }

  /** Flattens one model. `feeds`: the flat tensors its inputs receive, or null where its own InputLayers stay. */
  model(entry: JsonObject, path: string[], feeds: FlatRef[] | null): Ends {
    if (path.length > 0) this.flattened.push(path.join('/'));
    return entry.class_name === 'Sequential' ? this.sequential(entry.config, path, feeds) : this.functional(entry.config, path, feeds);
  }

  private functional(config: Json, path: string[], feeds: FlatRef[] | null): Ends {
    // Checked before walking: every reference resolves, nothing waits for itself.
    validateFunctionalTopology(config, this.where, path.length > 0 ? path.join('/') : undefined);
    const byName = new Map(config.layers.map((l) => [l.name, l]));
    const inputIndex = new Map(config.input_layers.map((r, i) => [r[0], i]));
    if (feeds && feeds.length !== config.input_layers.length) {
      this.fail(path, `it has ${config.input_layers.length} input(s) but is called with ${feeds.length} tensor(s)`);
    }
    const own = new Map<string, FlatLayer>();
    for (const l of config.layers) {
      if (isModelEntry(l) || (feeds && l.class_name === 'InputLayer')) continue;
      own.set(l.name, this.newLayer(l, l.name, path));
    }
    const nestedEnds = new Map<string, FlatRef[]>();

    const resolve = (ref: TensorRef | NodeEntry): FlatRef => {
      const [name, node, tensor] = ref;
      const l = byName.get(name) as Keras2Layer;
      if (feeds && l.class_name === 'InputLayer') {
        const i = inputIndex.get(name);
        if (i === undefined) this.fail(path, `its InputLayer ${q(name)} is not one of its input_layers, so nothing feeds it`);
        return feeds[i as number];
      }
      if (isModelEntry(l)) {
        const outs = nested(l);
        if (tensor >= outs.length) this.fail(path, `output ${tensor} of nested model ${q(name)} is used, but it has ${outs.length} output(s)`);
        return outs[tensor];
      }
      return { layer: own.get(name) as FlatLayer, node, tensor };
    };

    const nested = (l: Keras2Layer): FlatRef[] => {
      const done = nestedEnds.get(l.name);
      if (done) return done;
      const inner = [...path, l.name];
      if (l.inbound_nodes.length > 1) {
        this.fail(inner, `this nested model is applied ${l.inbound_nodes.length} times (shared weights); it cannot be flattened into one graph, which would need a copy of its layers per call`);
      }
      if (l.inbound_nodes.length === 0) this.fail(inner, 'this nested model is never called (it has no inbound nodes)');
      // Validation ruled out cycles, so resolving its inputs terminates.
      const outs = this.model(l, inner, l.inbound_nodes[0].map(resolve)).outputs;
      nestedEnds.set(l.name, outs);
      return outs;
    };

    // Config order, nested models expanded in place: the flat layer list reads like the original.
    for (const l of config.layers) {
      if (isModelEntry(l)) nested(l);
      else if (own.has(l.name)) this.layers.push(own.get(l.name) as FlatLayer);
    }
    for (const l of config.layers) {
      const flat = own.get(l.name);
      if (!flat || isModelEntry(l)) continue;
      flat.nodes = l.inbound_nodes.map((node) => node.map((e) => ({ ...resolve(e), kwargs: isObject(e[3]) ? cloneJson(e[3]) : {} })));
    }
    return { inputs: feeds ?? config.input_layers.map(resolve), outputs: config.output_layers.map(resolve) };
  }

  private sequential(config: Json, path: string[], feeds: FlatRef[] | null): Ends {
    const entries = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
    if (!Array.isArray(entries) || entries.length === 0) return this.fail(path, `a Sequential model without layers (found ${describeValue(entries)})`);
    if (feeds && feeds.length !== 1) this.fail(path, `a Sequential model takes one input but is called with ${feeds.length}`);
    // The chain: `current` is the tensor the next layer is applied to; null until the Sequential has an input.
    let current: FlatRef | null = feeds ? feeds[0] : null;
    let inputs: FlatRef[] = feeds ?? [];
    const startAt = (input: FlatLayer): FlatRef => {
      this.layers.push(input);
      inputs = [{ layer: input, node: 0, tensor: 0 }];
      return inputs[0];
    };
    const names = new Set<string>();
    for (const [i, entry] of entries.entries()) {
      if (!isObject(entry) || typeof entry.class_name !== 'string') return this.fail(path, `layer #${i} is ${describeValue(entry)}, not a layer object`);
      const name = layerNameOf(entry);
      if (name === undefined || name === '') return this.fail(path, `layer #${i} (${entry.class_name}) has no name`);
      if (names.has(name)) return this.fail(path, `the layer name ${q(name)} is used twice`);
      names.add(name);
      if (!isObject(entry.config) && !(entry.class_name === 'Sequential' && Array.isArray(entry.config))) {
        return this.fail(path, `layer ${q(name)}: config is ${describeValue(entry.config)}, not an object`);
      }
      if (entry.class_name === 'InputLayer') {
        if (i > 0) return this.fail(path, `InputLayer ${q(name)} is layer #${i}; in a Sequential model it can only come first`);
        // Nested, the tensor that feeds the Sequential replaces its InputLayer.
        if (current === null) current = startAt(this.newLayer(entry, name, path));
        continue;
      }
      if (isModelEntry(entry)) {
        const inner = [...path, name];
        const ends = this.model(entry, inner, current ? [current] : null);
        if (ends.outputs.length !== 1) return this.fail(inner, `in a Sequential model a nested model must have one output (it has ${ends.outputs.length})`);
        if (current === null) {
          if (ends.inputs.length !== 1) return this.fail(inner, `in a Sequential model a nested model must have one input (it has ${ends.inputs.length})`);
          inputs = ends.inputs;
        }
        current = ends.outputs[0];
        continue;
      }
      if (current === null) {
        // As tfjs does for a Sequential: an InputLayer named after the first layer, from its batch_input_shape.
        const shape = batchInputShapeOf(entry.config as JsonObject);
        if (shape === null) return this.fail(path, `its first layer ${q(name)} has no batch_input_shape, so the model's input shape is unknown`);
        const dtype = (entry.config as JsonObject).dtype;
        const inputName = `${name}_input`;
        const config = { batch_input_shape: shape, dtype: typeof dtype === 'string' ? dtype : 'float32', sparse: false, name: inputName };
        current = startAt(this.newLayer({ class_name: 'InputLayer', config }, inputName, path));
      }
      const flat = this.newLayer(entry, name, path);
      flat.nodes = [[{ ...current, kwargs: {} }]];
      this.layers.push(flat);
      current = { layer: flat, node: 0, tensor: 0 };
    }
    return { inputs, outputs: [current as FlatRef] };
  }
}

/**
 * Gives every flat layer a unique name. Shallower layers claim their plain names first (top-level names are the
 * ones users know), then layers in flat order; a layer that finds its name taken is qualified by its enclosing
 * model, then by its full path, then numbered.
 */
function assignNames(layers: FlatLayer[]): void {
  const order = layers.map((l, i) => ({ l, i })).sort((a, b) => a.l.path.length - b.l.path.length || a.i - b.i);
  const taken = new Set<string>();
  for (const { l } of order) {
    const full = [...l.path, l.original].join('/');
    const candidates = [l.original, [...l.path.slice(-1), l.original].join('/'), full];
    let name = candidates.find((c) => !taken.has(c));
    for (let n = 1; name === undefined; n++) if (!taken.has(`${full}_${n}`)) name = `${full}_${n}`;
    taken.add(name);
    l.flatName = name;
  }
}

function toKeras2(l: FlatLayer): Keras2Layer {
  return {
    name: l.flatName,
    class_name: l.class_name,
    config: { ...l.config, name: l.flatName },
    inbound_nodes: l.nodes.map((node) => node.map((e): NodeEntry => [e.layer.flatName, e.node, e.tensor, e.kwargs])),
  };
}

const refOf = (r: FlatRef): TensorRef => [r.layer.flatName, r.node, r.tensor];

/**
 * Flattens a Keras 2 model config `{class_name, config}` (Sequential, Model or Functional, nested models at any
 * depth) into one functional topology. `weightSpecs`: the manifest entries, renamed where their layer is.
 */
export function flattenTopology(modelConfig: unknown, weightSpecs: tf.io.WeightsManifestEntry[], where: string): FlattenResult {
  if (!isObject(modelConfig) || typeof modelConfig.class_name !== 'string' || !MODEL_CLASSES.has(modelConfig.class_name)) {
    const cls = isObject(modelConfig) ? modelConfig.class_name : undefined;
    throw new ModelError(`${where}: the model is ${typeof cls === 'string' ? `a ${q(cls)}` : describeValue(modelConfig)}, not a Sequential, Model or Functional`);
  }
  const topName = layerNameOf(modelConfig) ?? (modelConfig.class_name === 'Sequential' ? 'sequential' : 'model');
  const flattener = new Flattener(where, topName);
  const ends = flattener.model(modelConfig, [], null);
  assignNames(flattener.layers);
  const config: FunctionalConfig = {
    name: topName,
    layers: flattener.layers.map(toKeras2),
    input_layers: ends.inputs.map(refOf),
    output_layers: ends.outputs.map(refOf),
  };
  const qualifiedNames = new Map(flattener.layers.map((l) => [l.flatName, [...l.path, l.original].join('/')]));
  return {
    topology: { class_name: 'Model', config },
    weightSpecs: matchWeightNames(
      flattener.layers.map((l) => ({ flatName: l.flatName, original: l.original, scopes: [topName, ...l.path], className: l.class_name })),
      weightSpecs,
      where,
    ),
    qualifiedNames,
    flattened: flattener.flattened,
  };
}
