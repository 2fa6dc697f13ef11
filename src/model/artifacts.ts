/**
 * Reading a tfjs model (model.json + weight shards) from a local folder or an http(s) URL into
 * tf.io.ModelArtifacts, without tfjs-node (whose file:// handler is the only built-in for disk).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as crypto from 'crypto';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../util/errors';

export interface ModelSource {
  /** What the user gave, for messages and the report. */
  given: string;
  /** Resolved location of model.json (a path or a URL). */
  modelJson: string;
  isUrl: boolean;
}

export interface LoadedArtifacts {
  source: ModelSource;
  artifacts: tf.io.ModelArtifacts;
  format: 'layers-model' | 'graph-model';
  /** sha256 over model.json and all shards in order: identifies the exact model in reports. */
  sha256: string;
  /** Folder (or URL prefix) holding model.json, where a sidecar tfjs-cam.json may live. */
  baseDir: string;
  /** Raw model.json text, parsed. */
  json: ModelJson;
}

interface WeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

interface ModelJson {
  format?: string;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: WeightGroup[];
  [k: string]: unknown;
}

const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
const URL_TIMEOUT_MS = 30_000;

/** The time allowed for each download, headers and body: 30 s, or TFJS_CAM_FETCH_TIMEOUT_MS (ms) when set. */
export function fetchTimeoutMs(): number {
  const v = process.env.TFJS_CAM_FETCH_TIMEOUT_MS;
  if (v == null || v === '') return URL_TIMEOUT_MS;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ModelError(`TFJS_CAM_FETCH_TIMEOUT_MS must be a whole number of milliseconds > 0 (got '${v}')`);
  return n;
}

export function resolveModelSource(given: string): ModelSource {
  if (/^https?:\/\//i.test(given)) {
    const modelJson = given.endsWith('.json') ? given : given.replace(/\/?$/, '/model.json');
    return { given, modelJson, isUrl: true };
  }
  let p = path.resolve(given);
  if (!fs.existsSync(p)) throw new ModelError(`${given}: model not found`);
  if (fs.statSync(p).isDirectory()) p = path.join(p, 'model.json');
  if (!fs.existsSync(p)) throw new ModelError(`${given}: no model.json in this folder`);
  return { given, modelJson: p, isUrl: false };
}

/** Why a fetch failed, in a few words: fetch() itself says only "fetch failed"; the reason (ECONNREFUSED...) is its cause. */
export function fetchFailureReason(e: unknown, timeoutMs: number): string {
  const name = (e as Error)?.name;
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  return name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${timeoutMs / 1000} s` : (cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e));
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

async function fetchBytes(url: string, what: string): Promise<Buffer> {
  const ms = fetchTimeoutMs();
  const failed = (e: unknown) => new ModelError(`${what}: could not fetch ${url}: ${fetchFailureReason(e, ms)}`);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(ms) });
  } catch (e) {
    throw failed(e);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new ModelError(`${what}: ${url} answered HTTP ${res.status}`);
  }
  // The same signal covers the body: a server that sends headers and then stalls times out too.
  try {
    return Buffer.from(await res.arrayBuffer());
  } catch (e) {
    throw failed(e);
  }
}

function parseModelJson(text: string, where: string): ModelJson {
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
function checkGraphNodes(m: ModelJson, where: string): void {
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

function detectFormat(m: ModelJson): 'layers-model' | 'graph-model' {
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

/** Loads model.json and its shards; validates paths and sizes so errors name the file and what is wrong. */
export async function loadArtifacts(given: string): Promise<LoadedArtifacts> {
  const source = resolveModelSource(given);
  const hash = crypto.createHash('sha256');
  let text: string;
  let baseDir: string;
  if (source.isUrl) {
    const buf = await fetchBytes(source.modelJson, given);
    if (buf.length > MAX_MODEL_JSON_BYTES) throw new ModelError(`${source.modelJson}: model.json is larger than ${MAX_MODEL_JSON_BYTES} bytes`);
    text = buf.toString('utf8');
    hash.update(buf);
    baseDir = source.modelJson.replace(/[^/]*$/, '');
  } else {
    const st = fs.statSync(source.modelJson);
    if (st.size > MAX_MODEL_JSON_BYTES) throw new ModelError(`${source.modelJson}: model.json is larger than ${MAX_MODEL_JSON_BYTES} bytes`);
    const buf = fs.readFileSync(source.modelJson);
    text = buf.toString('utf8');
    hash.update(buf);
    baseDir = path.dirname(source.modelJson);
  }
  const json = parseModelJson(text, source.modelJson);
  const format = detectFormat(json);
  if (format === 'graph-model') checkGraphNodes(json, source.modelJson);
  const groups = json.weightsManifest ?? [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of groups) {
    if (group == null || typeof group !== 'object' || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new ModelError(`${source.modelJson}: malformed weightsManifest entry`);
    group.weights.forEach((w) => checkWeightEntry(w, source.modelJson));
    const groupParts: Buffer[] = [];
    for (const rel of group.paths) {
      if (typeof rel !== 'string') throw new ModelError(`${source.modelJson}: weight path is not a string`);
      let bytes: Buffer;
      if (source.isUrl) {
        // Shards are fetched from the model's own folder only: never another path or host named by model.json.
        const url = insideUrlFolder(rel, baseDir);
        if (!url) throw new ModelError(`${source.modelJson}: weight path '${rel}' leaves the model folder (refused)`);
        bytes = await fetchBytes(url, given);
      } else {
        const file = path.resolve(baseDir, rel);
        const inside = path.relative(baseDir, file);
        if (path.isAbsolute(rel) || inside.startsWith('..') || path.isAbsolute(inside)) {
          throw new ModelError(`${source.modelJson}: weight path '${rel}' leaves the model folder (refused)`);
        }
        if (!fs.existsSync(file)) throw new ModelError(`${source.modelJson}: weight shard '${rel}' is missing`);
        bytes = fs.readFileSync(file);
      }
      hash.update(bytes);
      groupParts.push(bytes);
    }
    const got = groupParts.reduce((a, b) => a + b.length, 0);
    const sizes = group.weights.map(byteSize);
    if (!sizes.includes(-1)) {
      const want = sizes.reduce((a, b) => a + b, 0);
      if (got < want) throw new ModelError(`${source.modelJson}: weight shard(s) ${group.paths.join(', ')} hold ${got} bytes, the manifest needs ${want} (short or truncated file)`);
    }
    parts.push(...groupParts);
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const artifacts: tf.io.ModelArtifacts = {
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
  return { source, artifacts, format, sha256: hash.digest('hex'), baseDir, json };
}

/** An IOHandler over artifacts already in memory. */
export function memoryHandler(artifacts: tf.io.ModelArtifacts): tf.io.IOHandler {
  return { load: async () => artifacts };
}
