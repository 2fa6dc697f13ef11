/**
 * Keras 3 topology -> Keras 2 topology, the form tfjs-layers 4.22 reads.
 *
 * tfjs-converter 4.22 copies a Keras 3 model's config as Keras 3 writes it, and tfjs-layers then fails with
 * "Corrupted configuration, expected array for nodeData". The differences that matter, and what becomes of them:
 * - a layer call is `{args: [...], kwargs: {...}}` whose tensors are `{class_name: '__keras_tensor__', config:
 *   {keras_history: [layer, node, tensor]}}`; Keras 2 writes a list of `[layer, node, tensor, kwargs]`. Layers taking
 *   several tensors get them as one list, `args: [[t1, t2]]`, which maps to one entry per tensor.
 * - every serialized object may carry `module` and `registered_name`: dropped.
 * - `dtype` is a DTypePolicy object: replaced by its name (mixed and 16-bit policies by float32, see policyDtype).
 * - InputLayer's `batch_shape` is Keras 2's `batch_input_shape`.
 * - `input_layers`/`output_layers` may be one flat `[name, node, tensor]` instead of a list of them.
 * - calls of a nested model are numbered from 0; Keras 2 (and tfjs, which gives every model a node of its own
 *   first) numbers them from 1, so references to a nested model's outputs move up by one.
 * - `build_config`/`compile_config` describe training, not the graph: dropped.
 * - a few weights have other names in Keras 3 (DepthwiseConv2D's `kernel` is tfjs' `depthwise_kernel`): the
 *   manifest entries are renamed by keras3WeightSpecs. (Weights created inside a Sequential's name scope are
 *   named `<model>/<layer>/<weight>`: flattening matches them to their layers, see weight-names.ts.)
 * Nested models (Functional, Model, Sequential) are translated the same way, at any depth.
 *
 * Anything the Keras 2 form cannot say (tensors in keyword arguments, extra positional arguments, quantized
 * policies) is refused with a ModelError naming the layer, rather than dropped: dropping it would change the model.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../util/errors';
import { Json, JsonObject, MODEL_CLASSES, NodeEntry, TensorRef, describeValue, isObject, isTensorRef, layerNameOf, q } from './validate';

/**
 * Context for messages: the model.json path and what is being translated ("layer 'base/conv1'", "model 'base'"),
 * named by its path of model names below the top model, as in qualified layer names.
 */
interface Ctx {
  where: string;
  subject: string;
}

const fail = (ctx: Ctx, what: string): never => {
  throw new ModelError(`${ctx.where}: ${ctx.subject}: ${what}`);
};

/** Keys Keras 3 adds to serialized objects that tfjs neither needs nor reads. */
const DROPPED_KEYS: ReadonlySet<string> = new Set(['module', 'registered_name', 'build_config', 'compile_config']);

/**
 * Keyword arguments of a call that carry meaning tfjs-layers also reads, other than tensors. `training` is not one
 * of them: it is dropped, since inference decides it (tfjs runs predict with training off).
 */
const KEPT_KWARGS: ReadonlySet<string> = new Set(['use_causal_mask']);

/**
 * Whether a model.json topology is in Keras 3 form: by its keras_version, or (for converters that do not write
 * one) by the marks only Keras 3 leaves: {args, kwargs} calls, __keras_tensor__ objects, DTypePolicy objects,
 * InputLayer batch_shape. `module`/`registered_name` alone do not count: tf.keras 2.13+ writes them too.
 */
export function isKeras3Topology(modelTopology: unknown): boolean {
  if (!isObject(modelTopology)) return false;
  const version = modelTopology.keras_version;
  if (typeof version === 'string' && /^3\./.test(version)) return true;
  return hasKeras3Marks(modelTopology);
}

function hasKeras3Marks(root: Json): boolean {
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const v = stack.pop() as Json;
    if (Array.isArray(v)) {
      stack.push(...v);
    } else if (isObject(v)) {
      const cls = v.class_name;
      if (cls === '__keras_tensor__' || (typeof cls === 'string' && cls.endsWith('DTypePolicy'))) return true;
      if (Array.isArray(v.inbound_nodes) && v.inbound_nodes.some(isObject)) return true;
      if (cls === 'InputLayer' && isObject(v.config) && 'batch_shape' in v.config) return true;
      stack.push(...Object.values(v));
    }
  }
  return false;
}

/**
 * Translates a Keras 3 model config `{class_name, config}` (Functional, Model or Sequential) to Keras 2 form.
 * Returns a new object; the input is not changed. Layer calls already written as Keras 2 lists are kept as they
 * are: validateFunctionalTopology says what is wrong with them if anything is.
 */
export function keras3ToKeras2(modelConfig: unknown, where = 'model.json'): JsonObject {
  if (!isObject(modelConfig) || typeof modelConfig.class_name !== 'string') {
    throw new ModelError(`${where}: the model config is ${describeValue(modelConfig)} without a class_name, not a Keras model`);
  }
  if (!MODEL_CLASSES.has(modelConfig.class_name)) {
    throw new ModelError(`${where}: the model is a ${q(modelConfig.class_name)}, not a Functional, Model or Sequential`);
  }
  return translateModel(modelConfig, where, null, new Set());
}

/**
 * `path`: the names of the models around this one below the top model; null for the top model itself.
 * `parentModels`: the nested models beside this one in its parent (its own call may take their outputs).
 */
function translateModel(entry: JsonObject, where: string, path: string[] | null, parentModels: ReadonlySet<string>): JsonObject {
  const name = layerNameOf(entry);
  const here = path === null ? [] : [...path, name ?? '?'];
  const ctx: Ctx = { where, subject: `model ${q(here.length > 0 ? here.join('/') : (name ?? 'model'))}` };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(entry)) {
    if (DROPPED_KEYS.has(k)) continue;
    if (k === 'config') out.config = entry.class_name === 'Sequential' ? sequentialConfig(v, ctx, here) : functionalConfig(v, ctx, here);
    else if (k === 'inbound_nodes') out.inbound_nodes = translateNodes(v, ctx, parentModels);
    else out[k] = clean(v, ctx);
  }
  return out;
}

function sequentialConfig(config: Json, ctx: Ctx, path: string[]): Json {
  // Old Sequential configs are a bare list of layers.
  const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(layers)) return fail(ctx, `a Sequential model without a list of layers (found ${describeValue(layers)})`);
  const translated = layers.map((l, i) => translateLayer(l, i, ctx, path, new Set()));
  if (Array.isArray(config)) return translated;
  return { ...cleanEntries(config as JsonObject, ctx, ['layers']), layers: translated };
}

function functionalConfig(config: Json, ctx: Ctx, path: string[]): Json {
  if (!isObject(config) || !Array.isArray(config.layers)) return fail(ctx, `a functional model without a list of layers`);
  const models = nestedModelNames(config.layers);
  return {
    ...cleanEntries(config, ctx, ['layers', 'input_layers', 'output_layers']),
    layers: config.layers.map((l, i) => translateLayer(l, i, ctx, path, models)),
    input_layers: ends(config.input_layers, 'input_layers', ctx, models),
    output_layers: ends(config.output_layers, 'output_layers', ctx, models),
  };
}

/** Names of the layers of a functional model that are models themselves. */
function nestedModelNames(layers: Json[]): Set<string> {
  const names = new Set<string>();
  for (const l of layers) {
    const name = isObject(l) ? layerNameOf(l) : undefined;
    if (name !== undefined && isObject(l) && typeof l.class_name === 'string' && MODEL_CLASSES.has(l.class_name)) names.add(name);
  }
  return names;
}

/** A Keras 3 reference to a layer's call, numbered as Keras 2 numbers it (calls of nested models from 1). */
function keras2Ref(ref: TensorRef, models: ReadonlySet<string>): TensorRef {
  return models.has(ref[0]) ? [ref[0], ref[1] + 1, ref[2]] : [ref[0], ref[1], ref[2]];
}

function cleanEntries(obj: JsonObject, ctx: Ctx, skip: string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!DROPPED_KEYS.has(k) && !skip.includes(k)) out[k] = clean(v, ctx);
  }
  return out;
}

/** Keras 3 writes a model with one input or output as a flat [name, node, tensor]; Keras 2 always as a list. */
function ends(v: Json, key: string, ctx: Ctx, models: ReadonlySet<string>): Json {
  if (isTensorRef(v)) return [keras2Ref(v, models)];
  if (Array.isArray(v) && v.every(isTensorRef)) return v.map((r) => keras2Ref(r as TensorRef, models));
  return fail(ctx, `${key} is ${describeValue(v)}; Keras 2 form needs a list of [layer name, node index, tensor index] (inputs or outputs given as a dict are not supported)`);
}

/** `models`: names of the nested models beside this layer, whose calls its inputs may refer to. */
function translateLayer(l: Json, i: number, parent: Ctx, path: string[], models: ReadonlySet<string>): JsonObject {
  if (!isObject(l)) return fail(parent, `layer #${i} is ${describeValue(l)}, not a layer object`);
  if (typeof l.class_name === 'string' && MODEL_CLASSES.has(l.class_name)) return translateModel(l, parent.where, path, models);
  const name = layerNameOf(l);
  const ctx: Ctx = { where: parent.where, subject: `layer ${q([...path, name ?? `#${i}`].join('/'))}` };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(l)) {
    if (DROPPED_KEYS.has(k)) continue;
    if (k === 'inbound_nodes') out.inbound_nodes = translateNodes(v, ctx, models);
    else if (k === 'config' && l.class_name === 'InputLayer') out.config = inputLayerConfig(clean(v, ctx));
    else if (k === 'config') out.config = checkSupported(l.class_name, clean(v, ctx), ctx);
    else out[k] = clean(v, ctx);
  }
  return out;
}

/**
 * Keras 3 options that tfjs-layers 4.22 does not have and would silently ignore, giving other outputs than Keras.
 * Each entry: the option and the value(s) that mean "not used". (Global pooling's keepdims has an exact
 * equivalent, a Reshape after it: keepdims.ts rewrites it.)
 */
const UNSUPPORTED: readonly { classes: RegExp; key: string; neutral: readonly Json[] }[] = [
  { classes: /^Conv[123]D$/, key: 'groups', neutral: [1] },
  { classes: /^ReLU$/, key: 'negative_slope', neutral: [0] },
  { classes: /^ReLU$/, key: 'threshold', neutral: [0] },
  { classes: /^(Dense|Embedding)$/, key: 'lora_rank', neutral: [null] },
];

function checkSupported(cls: Json, config: Json, ctx: Ctx): Json {
  if (typeof cls !== 'string' || !isObject(config)) return config;
  for (const { classes, key, neutral } of UNSUPPORTED) {
    if (!classes.test(cls) || !(key in config) || neutral.includes(config[key])) continue;
    fail(ctx, `${cls} option ${key}=${JSON.stringify(config[key])} has no equivalent in tfjs-layers, which would ignore it and compute something else`);
  }
  return config;
}

function inputLayerConfig(config: Json): Json {
  if (!isObject(config) || !('batch_shape' in config)) return config;
  const { batch_shape, ...rest } = config;
  // The tfjs converter already renames it batchInputShape in some files: never write both.
  if (rest.batch_input_shape != null || rest.batchInputShape != null) return rest;
  return { ...rest, batch_input_shape: batch_shape };
}

/**
 * Drops module/registered_name everywhere and turns objects tfjs cannot read into what it can: DTypePolicy ->
 * dtype name, a serialized function ({class_name: 'function', config: 'relu'}) -> its name.
 */
function clean(v: Json, ctx: Ctx): Json {
  if (Array.isArray(v)) return v.map((x) => clean(x, ctx));
  if (!isObject(v)) return v;
  const cls = v.class_name;
  if (typeof cls === 'string' && cls.endsWith('DTypePolicy')) return policyDtype(v, ctx);
  if (cls === 'function' && typeof v.config === 'string') return v.config;
  return cleanEntries(v, ctx, []);
}

const NARROW_FLOATS: ReadonlySet<string> = new Set(['float16', 'bfloat16', 'float64']);

/**
 * A layer's dtype from its DTypePolicy. Mixed-precision policies ('mixed_float16', 'mixed_bfloat16') keep their
 * variables in float32 and the converter stores weights as float32; tfjs has no 16- or 64-bit float tensors, so
 * those policies compute in float32 here. Quantized policies store int8/float8 weights with scales tfjs cannot use.
 */
function policyDtype(policy: JsonObject, ctx: Ctx): string {
  const name = isObject(policy.config) ? policy.config.name : undefined;
  if (typeof name !== 'string') return fail(ctx, `its dtype policy has no name (found ${describeValue(name)})`);
  if (String(policy.class_name).includes('Quantized') || /_from_/.test(name)) {
    return fail(ctx, `it uses the quantized dtype policy ${q(name)}, whose weights tfjs-layers cannot use (save the model without quantization)`);
  }
  if (name.startsWith('mixed_') || NARROW_FLOATS.has(name)) return 'float32';
  return name;
}

function isKerasTensor(v: Json): v is JsonObject {
  return isObject(v) && v.class_name === '__keras_tensor__' && isObject(v.config);
}

function containsTensor(v: Json): boolean {
  if (isKerasTensor(v)) return true;
  if (Array.isArray(v)) return v.some(containsTensor);
  return isObject(v) && Object.values(v).some(containsTensor);
}

function translateNodes(nodes: Json, ctx: Ctx, models: ReadonlySet<string>): Json {
  if (!Array.isArray(nodes)) return nodes; // validation names it
  return nodes.map((node, k) => translateNode(node, k, ctx, models));
}

function translateNode(node: Json, k: number, ctx: Ctx, models: ReadonlySet<string>): Json {
  if (Array.isArray(node)) return node;
  if (!isObject(node) || !Array.isArray(node.args)) {
    return fail(ctx, `inbound node ${k} is ${describeValue(node)}; expected a Keras 3 {args, kwargs} call or a Keras 2 list`);
  }
  const kwargs = translateKwargs(node.kwargs, k, ctx);
  const [first, ...extra] = node.args;
  extra.forEach((a, j) => {
    if (a === null) return; // an optional positional argument left unset
    if (containsTensor(a)) return fail(ctx, `inbound node ${k} passes a tensor as positional argument ${j + 2}; Keras 2 form holds one input, or one list of inputs, per call`);
    return fail(ctx, `inbound node ${k} passes ${describeValue(a)} as positional argument ${j + 2}, which Keras 2 form cannot express`);
  });
  const inputs = isKerasTensor(first) ? [first] : Array.isArray(first) ? first : null;
  if (inputs === null || inputs.length === 0) {
    return fail(ctx, `inbound node ${k}: its input is ${describeValue(first)}, not a tensor or a list of tensors, which Keras 2 form cannot express`);
  }
  return inputs.map((t, j): NodeEntry => {
    if (!isKerasTensor(t)) return fail(ctx, `inbound node ${k}, input ${j} is ${describeValue(t)}, not a tensor, which Keras 2 form cannot express`);
    const history = (t.config as JsonObject).keras_history;
    if (!isTensorRef(history)) return fail(ctx, `inbound node ${k}, input ${j}: a tensor without a valid keras_history (found ${describeValue(history)})`);
    const [layer, nodeIndex, tensorIndex] = keras2Ref(history as TensorRef, models);
    return [layer, nodeIndex, tensorIndex, { ...kwargs }];
  }) as unknown as Json;
}

function translateKwargs(kwargs: Json | undefined, k: number, ctx: Ctx): JsonObject {
  if (kwargs == null) return {};
  if (!isObject(kwargs)) return fail(ctx, `inbound node ${k} has kwargs that are ${describeValue(kwargs)}, not an object`);
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(kwargs)) {
    // Keras 3 writes optional call arguments it passed unset (mask: null); they say nothing.
    if (v === null || key === 'training') continue;
    if (containsTensor(v)) return fail(ctx, `inbound node ${k} passes a tensor as keyword argument ${q(key)}, which Keras 2 form cannot express`);
    if (!KEPT_KWARGS.has(key)) {
      return fail(ctx, `inbound node ${k} is called with ${key}=${JSON.stringify(v).slice(0, 40)}, which tfjs-layers does not take`);
    }
    out[key] = clean(v, ctx);
  }
  return out;
}

/** Keras 3 weight names that tfjs-layers knows under another name, by layer class. */
const WEIGHT_RENAMES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  DepthwiseConv2D: { kernel: 'depthwise_kernel' },
};

/** Layer name -> the classes of the layers with that name, at any depth of nesting. */
function layerClasses(modelConfig: Json): Map<string, Set<string>> {
  const classes = new Map<string, Set<string>>();
  const stack: Json[] = [modelConfig];
  while (stack.length > 0) {
    const v = stack.pop() as Json;
    if (!isObject(v)) continue;
    const config = v.config;
    const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
    if (typeof v.class_name === 'string' && MODEL_CLASSES.has(v.class_name) && Array.isArray(layers)) {
      for (const l of layers) {
        if (!isObject(l)) continue;
        const name = layerNameOf(l);
        if (name !== undefined && typeof l.class_name === 'string') classes.set(name, (classes.get(name) ?? new Set()).add(l.class_name));
        stack.push(l);
      }
    }
  }
  return classes;
}

/**
 * The manifest entries of a Keras 3 model, renamed where tfjs-layers expects another weight name. Order is kept
 * (the weight data follows it); a name is changed only where its layer is unambiguous (one class for that name)
 * and the manifest does not already hold the tfjs name. The layer is the part before the variable, or, in
 * Keras 3's scoped names (`sequential/depthwise_conv2d/kernel`), its last part; the scopes stay for
 * weight-names.ts to match.
 */
export function keras3WeightSpecs(modelConfig: unknown, weightSpecs: tf.io.WeightsManifestEntry[]): tf.io.WeightsManifestEntry[] {
  const classes = layerClasses(modelConfig as Json);
  const present = new Set(weightSpecs.map((w) => w.name));
  return weightSpecs.map((spec) => {
    const cut = spec.name.lastIndexOf('/');
    if (cut <= 0) return spec;
    const prefix = spec.name.slice(0, cut);
    const cls = classes.get(prefix) ?? classes.get(prefix.slice(prefix.lastIndexOf('/') + 1));
    if (!cls || cls.size !== 1) return spec;
    const renamed = WEIGHT_RENAMES[[...cls][0]]?.[spec.name.slice(cut + 1)];
    if (renamed === undefined || present.has(`${prefix}/${renamed}`)) return spec;
    return { ...spec, name: `${prefix}/${renamed}` };
  });
}
