/**
 * Checks a Keras-2 functional topology before tfjs-layers builds it.
 *
 * tfjs' Container.fromConfig queues every inbound node and loops until each one's inputs exist: a node that waits
 * for a layer that is never created, for a node index that never comes, or for itself (a cycle) keeps it spinning at
 * 100% CPU forever; a node that is not a list makes it throw "Corrupted configuration". Everything that leads there
 * is checked here and refused with one line naming the layer, the node and what was found.
 *
 * Also home of the small JSON vocabulary the other topology modules share.
 */
import { ModelError } from '../../util/errors';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** [layer name, node index, tensor index]: one tensor of a layer call, as Keras 2 writes it. */
export type TensorRef = [string, number, number];
/** One input of a layer call; the optional fourth item holds the call's keyword arguments. */
export type NodeEntry = [string, number, number] | [string, number, number, JsonObject];

// Type aliases, not interfaces: they stay assignable to JsonObject and Record<string, unknown>.
export type Keras2Layer = {
  name: string;
  class_name: string;
  config: JsonObject;
  inbound_nodes: NodeEntry[][];
};

export type FunctionalConfig = {
  name: string;
  layers: Keras2Layer[];
  input_layers: TensorRef[];
  output_layers: TensorRef[];
};

/** Class names under which Keras and tfjs serialize a model used as a layer. */
export const MODEL_CLASSES: ReadonlySet<string> = new Set(['Sequential', 'Model', 'Functional']);

export function isObject(v: unknown): v is JsonObject {
  return v != null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A deep copy of JSON data. Not structuredClone: under jest's sandbox that makes arrays of another realm, which
 * tfjs' `instanceof Array` checks then take for objects.
 */
export function cloneJson<T extends Json>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) out[k] = cloneJson(x);
  return out as T;
}

/** A layer entry's name: functional entries carry it at the top, Sequential entries only in their config. */
export function layerNameOf(entry: JsonObject): string | undefined {
  if (typeof entry.name === 'string') return entry.name;
  const config = entry.config;
  return isObject(config) && typeof config.name === 'string' ? config.name : undefined;
}

/** A name quoted for a one-line message: control characters escaped, very long names cut. */
export function q(name: unknown): string {
  const s = typeof name === 'string' ? name : String(name);
  const escaped = JSON.stringify(s).slice(1, -1).replace(/'/g, "\\'");
  return `'${escaped.length > 120 ? `${escaped.slice(0, 117)}...` : escaped}'`;
}

/** What a value is, in a few words, for "expected X, found Y" messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${q(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Keras 3 writes a layer call as {args, kwargs}; seeing one where Keras 2 wants a list explains the failure. */
export function looksLikeKeras3Node(v: unknown): boolean {
  return isObject(v) && ('args' in v || 'kwargs' in v);
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export function isTensorRef(v: unknown): v is TensorRef {
  return Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && isIndex(v[1]) && isIndex(v[2]);
}

const BATCH_SHAPE_KEYS = ['batch_input_shape', 'batchInputShape', 'input_shape', 'inputShape'];

function hasInputShape(config: JsonObject): boolean {
  return BATCH_SHAPE_KEYS.some((k) => Array.isArray(config[k]));
}

/**
 * Throws a one-line ModelError unless `config` is a functional topology tfjs-layers can build without looping.
 * `where` starts every message (the model.json path); `scope` names the nested model being checked, if any.
 */
export function validateFunctionalTopology(config: unknown, where: string, scope?: string): asserts config is FunctionalConfig {
  const prefix = scope ? `${where}: model ${q(scope)}: ` : `${where}: `;
  const fail = (what: string): never => {
    throw new ModelError(prefix + what);
  };
  if (!isObject(config)) return fail(`the model config is ${describeValue(config)}, not an object`);
  if (!Array.isArray(config.layers)) return fail(`the model config has no list of layers (found ${describeValue(config.layers)})`);
  const layers = config.layers;
  const byName = new Map<string, JsonObject>();
  const indexOf = new Map<string, number>();
  layers.forEach((l, i) => checkLayerEntry(l, i, byName, indexOf, fail));
  for (const l of layers as JsonObject[]) checkNodes(l, byName, fail);
  checkEnds(config, 'input_layers', byName, fail);
  checkEnds(config, 'output_layers', byName, fail);
  checkAcyclic(layers as unknown as Keras2Layer[], fail);
}

function checkLayerEntry(l: Json, i: number, byName: Map<string, JsonObject>, indexOf: Map<string, number>, fail: (what: string) => never): void {
  if (!isObject(l)) return fail(`layer #${i} is ${describeValue(l)}, not a layer object`);
  const name = l.name;
  if (typeof name !== 'string' || name === '') return fail(`layer #${i} has no name (found ${describeValue(name)})`);
  const at = `layer ${q(name)}`;
  if (byName.has(name)) return fail(`${at}: the name is used by layers #${indexOf.get(name)} and #${i}; layer names must be unique`);
  byName.set(name, l);
  indexOf.set(name, i);
  if (typeof l.class_name !== 'string' || l.class_name === '') return fail(`${at}: no class_name`);
  if (!isObject(l.config) && !(l.class_name === 'Sequential' && Array.isArray(l.config))) return fail(`${at}: config is ${describeValue(l.config)}, not an object`);
  // tfjs keys the layers it creates by the entry's name but names the layer (and its weights) from config.name.
  const configName = isObject(l.config) ? l.config.name : undefined;
  if (configName !== undefined && configName !== name) return fail(`${at}: its config names it ${q(configName)}; the two names must agree`);
  if (!Array.isArray(l.inbound_nodes)) return fail(`${at}: inbound_nodes is ${describeValue(l.inbound_nodes)}, not a list`);
  if (l.class_name === 'InputLayer') {
    if (l.inbound_nodes.length > 0) fail(`${at}: an InputLayer cannot have inbound nodes (found ${l.inbound_nodes.length})`);
    if (!hasInputShape(l.config as JsonObject)) fail(`${at}: the InputLayer has no batch_input_shape`);
  }
}

const isModelLayer = (layer: JsonObject): boolean => typeof layer.class_name === 'string' && MODEL_CLASSES.has(layer.class_name);

/**
 * The node index the k-th inbound node of a layer gets once tfjs built it. A model used as a layer has a node of
 * its own before any call (linking its inputs to its outputs), so in Keras 2 form its calls are nodes 1, 2...
 */
export function nodeIndexOfCall(layer: JsonObject, k: number): number {
  return isModelLayer(layer) ? k + 1 : k;
}

function refProblem(ref: TensorRef, byName: Map<string, JsonObject>): string | null {
  const [name, node, tensor] = ref;
  const target = byName.get(name);
  if (!target) return `refers to layer ${q(name)}, which is not in the model`;
  const calls = (target.inbound_nodes as Json[]).length;
  if (target.class_name === 'InputLayer') {
    if (node !== 0) return `refers to node ${node} of InputLayer ${q(name)}, which has only node 0`;
    if (tensor !== 0) return `refers to tensor ${tensor} of InputLayer ${q(name)}, which has only tensor 0`;
  } else if (calls === 0) {
    return `refers to node ${node} of layer ${q(name)}, which is never called (it has no inbound nodes)`;
  } else if (isModelLayer(target)) {
    if (node === 0 || node > calls) {
      const own = node === 0 ? ': node 0 is the nested model\'s own inner node, not a call' : '';
      return `refers to node ${node} of nested model ${q(name)}, whose ${calls === 1 ? 'call is node 1' : `calls are nodes 1 to ${calls}`} in Keras 2 form${own}`;
    }
  } else if (node >= calls) {
    return `refers to node ${node} of layer ${q(name)}, which has ${calls} inbound node${calls === 1 ? '' : 's'}`;
  }
  return null;
}

const REF_SHAPE = '[layer name, node index, tensor index]';

function entryProblem(e: Json): string | null {
  if (looksLikeKeras3Node(e) || (Array.isArray(e) && e.some(looksLikeKeras3Node))) {
    return `holds an object where ${REF_SHAPE} was expected (Keras 3 node data inside a Keras 2 list)`;
  }
  if (!Array.isArray(e)) return `holds ${describeValue(e)} where ${REF_SHAPE} was expected`;
  if (e.length < 3 || e.length > 4) return `holds a list of ${e.length} where ${REF_SHAPE} (and optional keyword arguments) was expected`;
  if (typeof e[0] !== 'string') return `holds ${describeValue(e[0])} where a layer name was expected`;
  if (!isIndex(e[1])) return `refers to node index ${describeValue(e[1])} of layer ${q(e[0])}; expected a whole number >= 0`;
  if (!isIndex(e[2])) return `refers to tensor index ${describeValue(e[2])} of layer ${q(e[0])}; expected a whole number >= 0`;
  if (e.length === 4 && e[3] !== null && !isObject(e[3])) return `holds keyword arguments that are ${describeValue(e[3])}, not an object`;
  return null;
}

function checkNodes(l: JsonObject, byName: Map<string, JsonObject>, fail: (what: string) => never): void {
  const at = `layer ${q(l.name)}`;
  (l.inbound_nodes as Json[]).forEach((node, k) => {
    if (!Array.isArray(node)) {
      const found = looksLikeKeras3Node(node) ? 'a Keras 3 {args, kwargs} object (Keras 3 node data in a Keras 2 topology)' : describeValue(node);
      fail(`${at}: inbound node ${k} is ${found}, not a list of ${REF_SHAPE}`);
      return;
    }
    if (node.length === 0) fail(`${at}: inbound node ${k} is empty (a call without inputs)`);
    node.forEach((e, j) => {
      const shape = entryProblem(e);
      const which = node.length > 1 ? `inbound node ${k}, input ${j}` : `inbound node ${k}`;
      if (shape) fail(`${at}: ${which} ${shape}`);
      const ref = refProblem((e as Json[]).slice(0, 3) as TensorRef, byName);
      if (ref) fail(`${at}: ${which} ${ref}`);
    });
  });
}

function checkEnds(config: JsonObject, key: 'input_layers' | 'output_layers', byName: Map<string, JsonObject>, fail: (what: string) => never): void {
  const ends = config[key];
  if (!Array.isArray(ends) || ends.length === 0) return fail(`${key} must be a non-empty list of ${REF_SHAPE} (found ${describeValue(ends)})`);
  ends.forEach((ref, i) => {
    if (!isTensorRef(ref)) return fail(`${key}[${i}] is ${describeValue(ref)}, not ${REF_SHAPE}`);
    const problem = refProblem(ref, byName);
    if (problem) return fail(`${key}[${i}] ${problem}`);
    if (key === 'input_layers' && byName.get(ref[0])?.class_name !== 'InputLayer') {
      return fail(`${key}[${i}] refers to ${q(ref[0])}, which is a ${String(byName.get(ref[0])?.class_name)}, not an InputLayer`);
    }
  });
}

/**
 * Each layer call (layer, node) waits for the calls its inputs come from. A cycle among them never resolves; find
 * one with an iterative depth-first search (no recursion: deep models must not overflow the stack).
 */
function checkAcyclic(layers: Keras2Layer[], fail: (what: string) => never): void {
  const key = (name: string, node: number) => `${name}\u0000${node}`;
  const deps = new Map<string, string[]>();
  for (const l of layers) {
    l.inbound_nodes.forEach((node, k) => deps.set(key(l.name, nodeIndexOfCall(l, k)), node.map((e) => key(e[0], e[1]))));
  }
  const DONE = 2;
  const ON_PATH = 1;
  const state = new Map<string, number>();
  for (const start of deps.keys()) {
    if (state.has(start)) continue;
    const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
    state.set(start, ON_PATH);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const children = deps.get(top.id) ?? [];
      if (top.next >= children.length) {
        state.set(top.id, DONE);
        stack.pop();
        continue;
      }
      const child = children[top.next++];
      const s = state.get(child);
      if (s === ON_PATH) {
        const from = stack.findIndex((f) => f.id === child);
        const names = [...stack.slice(from).map((f) => f.id), child].map((id) => q(id.split('\u0000')[0]));
        return fail(`layers ${names.join(' -> ')} form a cycle (each waits for the next one's output), so the model can never be built`);
      }
      if (s === undefined) {
        state.set(child, ON_PATH);
        stack.push({ id: child, next: 0 });
      }
    }
  }
}
