/**
 * Loading a model by URL in the browser: model.json and its shards with fetch, under the same rules as the Node
 * loader (src/model/manifest.ts: checked fields, shards only from the model's own URL folder, sizes), then the
 * model resolution the CLI uses (src/model/resolve.ts) over the same files fetched from the same folder: the
 * sidecar tfjs-cam.json, Teachable Machine's metadata.json, a labels file beside model.json.
 */
import * as tf from '@tensorflow/tfjs';
import { Classifier, LayerInfo } from '../model/classifier';
import { buildClassifier } from '../model/build';
import { checkGraphNodes, checkGroupBytes, checkWeightGroup, detectFormat, insideUrlFolder, parseModelJson, toArtifacts } from '../model/manifest';
import { MAX_LABELS_BYTES, parseLabels, Preprocessing, PreprocessingSources, Sidecar } from '../model/sidecar';
import { camPossibleAt, FoundLabels, readModelFolder, readSidecar, resolveModel } from '../model/resolve';
import { fetchFailureReason, httpModelFiles } from '../model/http-files';
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
  /** Where the labels came from: the option, the sidecar, Teachable Machine's metadata.json, a labels file, or 'indices'. */
  labelsSource: string;
  preprocess: Preprocessing & { sources: PreprocessingSources };
  interpolation: Interpolation;
  alignCorners: boolean;
  /** One grey channel (the model takes 1-channel images), made as `preprocess.gray` says. */
  grayscale: boolean;
  /** What the model's own first layers or ops do to the input, when that set the input range (`preprocess.sources.scale` 'model'). */
  inputRangeFrom?: string;
  /** What the user should know about the resolution (a labels file beside the model that does not fit it, --bgr's channel order). */
  notes: string[];
  /** Layers with a spatial output: the possible target layers (as `tfjs-cam inspect` marks them). */
  targetLayers: LayerInfo[];
  /** The target layers explainTensor takes by default: the option's, else the sidecar's, else the default layer. */
  layers: string[];
  /** The first of `layers`. */
  defaultLayer: string;
  /** The methods explainTensor runs by default: the option's, else the sidecar's, else gradcam. */
  methods: string[];
  /** Whether CAM works at this layer (the others work everywhere). */
  camPossible(layer: string): boolean;
  dispose(): void;
}

export interface LoadOptions {
  /** Labels (a list, or the URL of a labels file); default: the sidecar's, else the model's own (Teachable Machine, a labels file), else class indices. */
  labels?: string[] | string;
  /** Preprocessing over the sidecar's (as the CLI's flags). */
  preprocess?: Partial<Preprocessing>;
  interpolation?: Interpolation;
  alignCorners?: boolean;
  /** Target layers over the sidecar's (as --layer). */
  layers?: string[];
  /** Methods over the sidecar's (as --method). */
  method?: string;
}

/** The response for `url`, else an error naming the URL and the HTTP status (or why the fetch failed). */
async function fetchOk(url: string, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelError(`${url}: could not fetch ${what}: ${fetchFailureReason(e)}`);
  }
  if (!res.ok) throw new ModelError(`${url}: answered HTTP ${res.status} (${what})`);
  return res;
}

/** Labels the caller gives: a list, or a labels file's URL (relative to the page). */
async function givenLabels(given: LoadOptions['labels'], page: string | undefined): Promise<FoundLabels | undefined> {
  if (given == null) return undefined;
  if (Array.isArray(given)) return { labels: given, source: 'labels option', where: 'labels option' };
  const url = new URL(given, page).toString();
  const folder = url.replace(/[^/]*$/, '');
  const text = await httpModelFiles(folder).read(url.slice(folder.length), MAX_LABELS_BYTES, 'the labels file');
  if (text == null) throw new UsageError(`${url}: labels file not found`);
  return { labels: parseLabels(text, url), source: url, where: url };
}

/** Loads a LayersModel or GraphModel from `url` (a model.json URL or its folder), relative to the page. */
export async function loadModel(url: string, opts: LoadOptions = {}): Promise<BrowserModel> {
  const page = (globalThis as { location?: { href: string } }).location?.href;
  const abs = new URL(/\.json$/i.test(url) ? url : url.replace(/\/?$/, '/model.json'), page).toString();
  const base = abs.replace(/[^/]*$/, '');
  const jsonBytes = await (await fetchOk(abs, 'model.json')).arrayBuffer();
  if (jsonBytes.byteLength > MAX_MODEL_JSON_BYTES) throw new ModelError(`${abs}: model.json is larger than ${MAX_MODEL_JSON_BYTES} bytes`);
  const json = parseModelJson(new TextDecoder().decode(jsonBytes), abs);
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
      const bytes = new Uint8Array(await (await fetchOk(shard, `a weight shard of ${abs}`)).arrayBuffer());
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
    const files = httpModelFiles(base);
    const sidecar = await readSidecar(files);
    const labels = await givenLabels(opts.labels, page);
    const folder = await readModelFolder(files, sidecar, { labelsGiven: labels != null, metadata: json.userDefinedMetadata });
    let s: ReturnType<typeof resolveModel>;
    try {
      s = resolveModel(classifier, folder, { labels, preprocess: opts.preprocess, interpolation: opts.interpolation, alignCorners: opts.alignCorners, layers: opts.layers, method: opts.method, guided: false });
    } catch (e) {
      // As the CLI names model.json in these (src/pipeline/error-context.ts): which model has no such layer.
      if (e instanceof ModelError && !/^[a-z]+:\/\//i.test(e.message)) throw new ModelError(`${abs}: ${e.message}`);
      throw e;
    }
    return {
      classifier,
      url: abs,
      format,
      sidecar,
      labels: s.labels,
      labelsSource: s.labelsSource,
      preprocess: s.preprocess,
      interpolation: s.interpolation,
      alignCorners: s.alignCorners,
      grayscale: s.grayscale,
      ...(s.inputRangeFrom ? { inputRangeFrom: s.inputRangeFrom } : {}),
      notes: s.notes,
      targetLayers: classifier.layers().filter((l) => l.spatial),
      layers: s.layers,
      defaultLayer: s.layers[0],
      methods: s.methods.map((m) => m.name),
      camPossible: (layer: string) => camPossibleAt(classifier, classifier.resolveLayer(layer)),
      dispose: () => classifier.dispose(),
    };
  } catch (e) {
    classifier.dispose();
    throw e;
  }
}
