/**
 * Reading a tfjs model (model.json + weight shards) from a local folder or an http(s) URL into
 * tf.io.ModelArtifacts, without tfjs-node (whose file:// handler is the only built-in for disk).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as crypto from 'crypto';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../util/errors';
import { fetchFailureReason } from './http-files';
import { checkGraphNodes, checkGroupBytes, checkWeightGroup, detectFormat, insideUrlFolder, ModelJson, parseModelJson, toArtifacts } from './manifest';

// Re-exported for the modules that import them from here.
export { insideUrlFolder, memoryHandler } from './manifest';

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
    checkWeightGroup(group, source.modelJson);
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
    checkGroupBytes(group, groupParts.reduce((a, b) => a + b.length, 0), source.modelJson);
    parts.push(...groupParts);
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(parts);
  const artifacts = toArtifacts(json, weightSpecs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer);
  return { source, artifacts, format, sha256: hash.digest('hex'), baseDir, json };
}
