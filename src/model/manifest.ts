/**
 * What a tfjs model.json may hold, checked field by field so that a damaged model is named at load, and the
 * rule that keeps weight paths inside the model's folder. No I/O: ./artifacts.ts reads files and URLs with it
 * in Node, src/browser/load.ts fetches with it in the browser.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../util/errors';

export interface WeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

export interface ModelJson {
  format?: string;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: WeightGroup[];
  [k: string]: unknown;
}

/** `rel` resolved against the URL folder `base`, if it stays inside it (same origin, no `..`); else null. */
export function insideUrlFolder(rel: string, base: string): string | null {
  let url: URL;
  let decoded: string;
  try {
    url = new URL(rel, base);
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (!url.toString().startsWith(base) || /(^|\/)\.\.(\/|$)/.test(decoded)) return null;
  return url.toString();
}

export function parseModelJson(text: string, where: string): ModelJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  if (json == null || typeof json !== 'object' || Array.isArray(json)) throw new ModelError(`${where}: not a tfjs model.json (expected an object)`);
  const m = json as ModelJson;
  if (m.modelTopology == null || typeof m.modelTopology !== 'object') throw new ModelError(`${where}: no modelTopology: not a tfjs model.json`);
  if (m.weightsManifest != null && !Array.isArray(m.weightsManifest)) throw new ModelError(`${where}: weightsManifest must be an array`);
  return m;
}

/**
 * tfjs-converter builds a graph from any node list and fails only when it runs, with errors such as
 * "name.split is not a function": check the nodes' shape here so a damaged graph is named at load.
 */
export function checkGraphNodes(m: ModelJson, where: string): void {
  const nodes = (m.modelTopology as Record<string, unknown>).node;
  if (!Array.isArray(nodes)) throw new ModelError(`${where}: modelTopology.node must be a list of graph nodes`);
  const names = new Set<string>();
  nodes.forEach((n: unknown, i) => {
    const node = n as Record<string, unknown>;
    const bad = (what: string) => new ModelError(`${where}: graph node ${i}${typeof node?.name === 'string' ? ` '${node.name}'` : ''}: ${what}`);
    if (node == null || typeof node !== 'object' || Array.isArray(node)) throw bad('not an object');
    if (typeof node.name !== 'string' || node.name === '') throw bad('no name');
    if (names.has(node.name)) throw bad('the name is used twice');
    names.add(node.name);
    if (typeof node.op !== 'string' || node.op === '') throw bad('no op');
    if (node.input != null && !(Array.isArray(node.input) && node.input.every((x) => typeof x === 'string'))) throw bad('input must be a list of node names');
    if (node.attr != null && (typeof node.attr !== 'object' || Array.isArray(node.attr))) throw bad('attr must be an object');
  });
}

export function detectFormat(m: ModelJson): 'layers-model' | 'graph-model' {
  if (m.format === 'graph-model') return 'graph-model';
  if (m.format === 'layers-model') return 'layers-model';
  const topo = m.modelTopology as Record<string, unknown>;
  return Array.isArray(topo.node) ? 'graph-model' : 'layers-model';
}

const DTYPES = new Set(['float32', 'int32', 'bool', 'string', 'complex64']);
const QUANTIZED = new Set(['uint8', 'uint16', 'float16']);

/** One weightsManifest entry checked field by field, so a damaged manifest is named rather than crashing later. */
function checkWeightEntry(w: unknown, where: string): tf.io.WeightsManifestEntry {
  const e = w as Record<string, unknown>;
  const bad = (what: string) => new ModelError(`${where}: weightsManifest entry ${JSON.stringify(e?.name ?? w)?.slice(0, 80)}: ${what}`);
  if (e == null || typeof e !== 'object' || Array.isArray(e)) throw bad('not an object');
  if (typeof e.name !== 'string' || e.name === '') throw bad('no name');
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad('shape must be a list of whole numbers >= 0');
  if (typeof e.dtype !== 'string' || !DTYPES.has(e.dtype)) throw bad(`unknown dtype ${JSON.stringify(e.dtype)}`);
  const q = e.quantization as Record<string, unknown> | undefined;
  if (q != null && (typeof q !== 'object' || typeof q.dtype !== 'string' || !QUANTIZED.has(q.dtype))) throw bad('quantization must have a dtype of uint8, uint16 or float16');
  return e as unknown as tf.io.WeightsManifestEntry;
}

function byteSize(entry: tf.io.WeightsManifestEntry): number {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  if (entry.quantization) {
    const q = entry.quantization.dtype;
    return n * (q === 'uint8' ? 1 : q === 'float16' || q === 'uint16' ? 2 : 4);
  }
  if (entry.dtype === 'string') return -1;
  return n * (entry.dtype === 'bool' ? 1 : 4);
}

/** A weightsManifest group's shape and entries, checked before any shard is read. */
export function checkWeightGroup(group: WeightGroup, where: string): void {
  if (group == null || typeof group !== 'object' || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new ModelError(`${where}: malformed weightsManifest entry`);
  group.weights.forEach((w) => checkWeightEntry(w, where));
}

/** A group's shards (`got` bytes together) must hold what its entries need; a short shard is named. */
export function checkGroupBytes(group: WeightGroup, got: number, where: string): void {
  const sizes = group.weights.map(byteSize);
  if (!sizes.includes(-1)) {
    const want = sizes.reduce((a, b) => a + b, 0);
    if (got < want) throw new ModelError(`${where}: weight shard(s) ${group.paths.join(', ')} hold ${got} bytes, the manifest needs ${want} (short or truncated file)`);
  }
}

/** model.json's fields and the concatenated shards as tf.io.ModelArtifacts. */
export function toArtifacts(json: ModelJson, weightSpecs: tf.io.WeightsManifestEntry[], weightData: ArrayBuffer): tf.io.ModelArtifacts {
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData,
    format: json.format as string | undefined,
    generatedBy: json.generatedBy as string | undefined,
    convertedBy: json.convertedBy as string | null | undefined,
    signature: json.signature as object | undefined,
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts["userDefinedMetadata"],
    modelInitializer: json.modelInitializer as object | undefined,
  };
}

/** An IOHandler over artifacts already in memory. */
export function memoryHandler(artifacts: tf.io.ModelArtifacts): tf.io.IOHandler {
  return { load: async () => artifacts };
}
