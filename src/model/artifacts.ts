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

async function fetchBytes(url: string, what: string): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(URL_TIMEOUT_MS) });
  } catch (e) {
    const reason = (e as Error).name === 'TimeoutError' ? `timed out after ${URL_TIMEOUT_MS / 1000} s` : (e as Error).message;
    throw new ModelError(`${what}: could not fetch ${url}: ${reason}`);
  }
  if (!res.ok) throw new ModelError(`${what}: ${url} answered HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
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

function detectFormat(m: ModelJson): 'layers-model' | 'graph-model' {
  if (m.format === 'graph-model') return 'graph-model';
  if (m.format === 'layers-model') return 'layers-model';
  const topo = m.modelTopology as Record<string, unknown>;
  return Array.isArray(topo.node) ? 'graph-model' : 'layers-model';
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
  const groups = json.weightsManifest ?? [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of groups) {
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new ModelError(`${source.modelJson}: malformed weightsManifest entry`);
    const groupParts: Buffer[] = [];
    for (const rel of group.paths) {
      if (typeof rel !== 'string') throw new ModelError(`${source.modelJson}: weight path is not a string`);
      let bytes: Buffer;
      if (source.isUrl) {
        bytes = await fetchBytes(new URL(rel, source.modelJson).toString(), given);
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
