/**
 * Loading a model by URL in the browser: model.json and its shards with fetch, under the same rules as the Node
 * loader (src/model/manifest.ts: checked fields, shards only from the model's own URL folder, sizes), then its
 * sidecar tfjs-cam.json from the same folder, labels and preprocessing.
 */
import * as tf from '@tensorflow/tfjs';
import { Classifier, LayerInfo } from '../model/classifier';
import { buildClassifier } from '../model/build';
import { checkGraphNodes, checkGroupBytes, checkWeightGroup, detectFormat, insideUrlFolder, parseModelJson, toArtifacts } from '../model/manifest';
import { MAX_LABELS_BYTES, MAX_SIDECAR_BYTES, parseLabels, Preprocessing, PreprocessingSources, resolvePreprocessing, Sidecar, SIDECAR_NAME, validateSidecar } from '../model/sidecar';
import type { Interpolation } from '../image/fit';
import { ModelError, UsageError } from '../util/errors';

const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

export interface BrowserModel {
  classifier: Classifier;
  /** Absolute URL of model.json. */
  url: string;
  format: Classifier['format'];
  sidecar: Sidecar | null;
  labels: string[];
  /** Where the labels came from: the option, the sidecar, or 'indices'. */
  labelsSource: string;
  preprocess: Preprocessing & { sources: PreprocessingSources };
  interpolation: Interpolation;
  alignCorners: boolean;
  /** One luminance channel (the model takes 1-channel images). */
  grayscale: boolean;
  /** Layers with a spatial output: the possible target layers (as `tfjs-cam inspect` marks them). */
  targetLayers: LayerInfo[];
  /** The sidecar's layer, else the last spatial layer before the logits. */
  defaultLayer: string;
  /** Whether CAM works at this layer (the others work everywhere). */
  camPossible(layer: string): boolean;
  dispose(): void;
}

export interface LoadOptions {
  /** Labels (a list, or the URL of a labels file); default: the sidecar's, else class indices. */
  labels?: string[] | string;
  /** Preprocessing over the sidecar's (as the CLI's flags). */
  preprocess?: Partial<Preprocessing>;
  interpolation?: Interpolation;
  alignCorners?: boolean;
}

async function fetchOk(url: string, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelError(`${what}: could not fetch ${url}: ${(e as Error)?.message ?? String(e)}`);
  }
  if (!res.ok) throw new ModelError(`${what}: ${url} answered HTTP ${res.status}`);
  return res;
}

async function fetchText(url: string, what: string, limit: number): Promise<string> {
  const bytes = await (await fetchOk(url, what)).arrayBuffer();
  if (bytes.byteLength > limit) throw new ModelError(`${url}: ${what} is ${bytes.byteLength} bytes, over the limit of ${limit}`);
  return new TextDecoder().decode(bytes);
}

/** The sidecar beside model.json, or null where there is none (404). */
async function fetchSidecar(base: string): Promise<Sidecar | null> {
  const url = base + SIDECAR_NAME;
  const res = await fetch(url).catch(() => null);
  if (!res || res.status === 404) return null;
  if (!res.ok) throw new ModelError(`${url} answered HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_SIDECAR_BYTES) throw new UsageError(`${url}: the sidecar is over the limit of ${MAX_SIDECAR_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${url}: not valid JSON (${(e as Error).message})`);
  }
  return validateSidecar(raw, url);
}

async function resolveLabels(given: LoadOptions['labels'], sidecar: Sidecar | null, base: string, c: Classifier): Promise<{ labels: string[]; source: string }> {
  const fit = (labels: string[]) => (c.head.binary && labels.length === 1 ? [`not ${labels[0]}`, labels[0]] : labels);
  const check = (labels: string[], where: string) => {
    if (labels.length !== c.numClasses) throw new UsageError(`${where}: the labels list has ${labels.length} entries but the model has ${c.numClasses} classes`);
    return { labels, source: where };
  };
  if (Array.isArray(given)) return check(fit(given), 'labels option');
  if (typeof given === 'string') return check(fit(parseLabels(await fetchText(given, 'labels', MAX_LABELS_BYTES), given)), given);
  const side = sidecar?.labels;
  if (Array.isArray(side)) return check(fit(side), base + SIDECAR_NAME);
  if (typeof side === 'string') {
    // As for shards: a labels file named by the sidecar must be in the model's folder.
    const url = insideUrlFolder(side, base);
    if (!url) throw new UsageError(`${base + SIDECAR_NAME}: labels path '${side}' leaves the model folder (refused)`);
    return check(fit(parseLabels(await fetchText(url, 'labels', MAX_LABELS_BYTES), url)), url);
  }
  return { labels: Array.from({ length: c.numClasses }, (_, i) => String(i)), source: 'indices' };
}

/** Loads a LayersModel or GraphModel from `url` (a model.json URL or its folder), relative to the page. */
export async function loadModel(url: string, opts: LoadOptions = {}): Promise<BrowserModel> {
  const href = (globalThis as { location?: { href: string } }).location?.href;
  const abs = new URL(/\.json$/i.test(url) ? url : url.replace(/\/?$/, '/model.json'), href).toString();
  const base = abs.replace(/[^/]*$/, '');
  const json = parseModelJson(await fetchText(abs, 'model.json', MAX_MODEL_JSON_BYTES), abs);
  const format = detectFormat(json);
  if (format === 'graph-model') checkGraphNodes(json, abs);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    checkWeightGroup(group, abs);
    let got = 0;
    for (const rel of group.paths) {
      if (typeof rel !== 'string') throw new ModelError(`${abs}: weight path is not a string`);
      const shard = insideUrlFolder(rel, base);
      if (!shard) throw new ModelError(`${abs}: weight path '${rel}' leaves the model folder (refused)`);
      const bytes = new Uint8Array(await (await fetchOk(shard, abs)).arrayBuffer());
      got += bytes.byteLength;
      parts.push(bytes);
    }
    checkGroupBytes(group, got, abs);
    weightSpecs.push(...group.weights);
  }
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    weightData.set(p, at);
    at += p.byteLength;
  }
  const classifier = await buildClassifier(toArtifacts(json, weightSpecs, weightData.buffer), format, abs);
  try {
    const sidecar = await fetchSidecar(base);
    const { labels, source } = await resolveLabels(opts.labels, sidecar, base, classifier);
    const channels = classifier.inputShape[2];
    if (channels !== 1 && channels !== 3) throw new ModelError(`${abs}: the model takes ${channels}-channel images; only 1 (grayscale) and 3 (RGB) are supported`);
    const sideLayer = sidecar?.layer == null ? null : Array.isArray(sidecar.layer) ? sidecar.layer[0] : sidecar.layer;
    const defaultLayer = sideLayer != null ? classifier.resolveLayer(sideLayer) : classifier.defaultTargetLayer();
    return {
      classifier,
      url: abs,
      format,
      sidecar,
      labels,
      labelsSource: source,
      preprocess: resolvePreprocessing(sidecar, opts.preprocess ?? {}),
      interpolation: opts.interpolation ?? sidecar?.preprocess?.interpolation ?? 'bilinear',
      alignCorners: opts.alignCorners ?? sidecar?.preprocess?.alignCorners ?? false,
      grayscale: channels === 1,
      targetLayers: classifier.layers().filter((l) => l.spatial),
      defaultLayer,
      camPossible(layer: string) {
        const h = classifier.camHead(classifier.resolveLayer(layer));
        if (h.kind === 'weights') h.weights.dispose();
        return h.kind !== 'none';
      },
      dispose: () => classifier.dispose(),
    };
  } catch (e) {
    classifier.dispose();
    throw e;
  }
}
