/**
 * The model resolution, one for every surface (CLI, library, browser bundle, explorer): what the files beside
 * model.json say (the sidecar tfjs-cam.json, Teachable Machine's metadata.json, a labels file) and what the caller
 * asks for (flags, options) become one setting: labels, preprocessing, resampling, grayscale, target layers and
 * method. The rules live here once; reading the files is behind ModelFileReader, so that the CLI reads them from
 * disk (src/model/files.ts) and the browser and URL models fetch the same files over HTTP (./http-files.ts).
 */
import type { Classifier } from './classifier';
import { appliedChannels, labelsInJson, MAX_LABELS_BYTES, MAX_SIDECAR_BYTES, parseLabels, parseSidecar, Preprocessing, PreprocessingSources, resolvePreprocessing, Sidecar, SIDECAR_NAME } from './sidecar';
import type { Interpolation } from '../image/fit';
import { CamMethod, LeftOutMethod, selectMethods } from '../methods';
import { methodSupport } from '../methods/support';
import { ModelError, UsageError } from '../util/errors';

/** Files beside model.json, by name relative to its folder (`labels.txt`, or a name the sidecar gives). */
export interface ModelFileReader {
  /** Where the file is (a path or URL), as messages name it; null where this reader may not go (outside a URL folder). */
  locate(name: string): string | null;
  /**
   * The file's text, or null when there is none (no such file, HTTP 404). Over `limit` bytes: a UsageError
   * naming it and its size (`what` says what it is); unreachable (HTTP 500, timeout): a ModelError naming it.
   */
  read(name: string, limit: number, what: string): Promise<string | null>;
}

export const METADATA_NAME = 'metadata.json';
export const MAX_METADATA_BYTES = 1024 * 1024;
/**
 * Labels files that exporters, model zoos and app authors put beside model.json, in the order they are tried: each
 * name as JSON (a list, `{labels|classes|classNames: [...]}`, or one entry per class index) and as text.
 */
export const LABEL_FILES = ['labels', 'label', 'class_names', 'classes'].flatMap((n) => [`${n}.json`, `${n}.txt`]);
const TEACHABLE_MACHINE = 'Teachable Machine metadata.json';
/** Where a labels list in model.json's userDefinedMetadata is reported to come from. */
export const MODEL_JSON_METADATA = 'model.json userDefinedMetadata';

/** Labels found somewhere: `source` for the report, `where` for messages (a path, a URL, or a flag). */
export interface FoundLabels {
  labels: string[];
  source: string;
  where: string;
}

/** What a model folder says about its model, read once (plain data: it crosses threads). */
export interface ModelFolder {
  sidecar: Sidecar | null;
  /** Where the sidecar is or would be, for messages. */
  sidecarAt: string;
  /** The sidecar's labels: its list, or the file it names (read only when the caller gives none). */
  sidecarLabels: FoundLabels | null;
  /**
   * The labels the model's own files give: Teachable Machine's metadata.json, else a list in model.json's
   * userDefinedMetadata, else the first labels file that parses.
   */
  modelLabels: FoundLabels | null;
  /** Preprocessing the exporter's own runtime applies (Teachable Machine), under flags and sidecar. */
  modelPreprocess: { values: Partial<Preprocessing>; what: string } | null;
  /** The files whose contents the resolution used, by name: what a server must serve for the same answer. */
  used: string[];
}

/** The sidecar beside model.json, or null where there is none. Errors name the file and the field. */
export async function readSidecar(files: ModelFileReader): Promise<Sidecar | null> {
  const text = await files.read(SIDECAR_NAME, MAX_SIDECAR_BYTES, 'the sidecar');
  return text == null ? null : parseSidecar(text, files.locate(SIDECAR_NAME) ?? SIDECAR_NAME);
}

/**
 * Teachable Machine (image projects) writes metadata.json with `labels`, `imageSize` and its package name. Its
 * runtime (@teachablemachine/image) crops the centre square, resizes it to imageSize and scales pixels to [-1, 1].
 */
export function teachableMachine(json: unknown): { labels: string[]; preprocess: Partial<Preprocessing> } | null {
  if (json == null || typeof json !== 'object' || Array.isArray(json)) return null;
  const m = json as Record<string, unknown>;
  const isTm = typeof m.tmVersion === 'string' || (typeof m.packageName === 'string' && m.packageName.startsWith('@teachablemachine/'));
  if (!isTm || !Array.isArray(m.labels) || !m.labels.every((l) => typeof l === 'string')) return null;
  // Pose and audio projects have other inputs; their models fail the image checks later with their own message.
  return { labels: m.labels as string[], preprocess: { scale: [-1, 1], resize: 'crop' } };
}

/**
 * Reads what the resolution needs from the model's folder, in this order and no further than needed: the
 * sidecar's labels file (unless the caller gives labels), metadata.json (always: Teachable Machine's
 * preprocessing applies under the flags), then (unless labels are known by then) a labels list in model.json's
 * userDefinedMetadata (`metadata`, already read with the model), then the labels files of LABEL_FILES until one
 * parses. `sidecar` is the one read with the model (readSidecar). A metadata.json or labels file that does not
 * parse only offers defaults: it is passed over, and so is a guessed labels file over the size limit.
 */
export async function readModelFolder(files: ModelFileReader, sidecar: Sidecar | null, opts: { labelsGiven?: boolean; metadata?: unknown } = {}): Promise<ModelFolder> {
  const sidecarAt = files.locate(SIDECAR_NAME) ?? SIDECAR_NAME;
  const folder: ModelFolder = { sidecar, sidecarAt, sidecarLabels: null, modelLabels: null, modelPreprocess: null, used: sidecar ? [SIDECAR_NAME] : [] };
  const side = sidecar?.labels;
  if (!opts.labelsGiven && Array.isArray(side)) folder.sidecarLabels = { labels: side, source: SIDECAR_NAME, where: sidecarAt };
  if (!opts.labelsGiven && typeof side === 'string') {
    // A labels file named by the sidecar must be readable: it was asked for (a guessed one is only a guess).
    // Only a URL reader refuses a name: as for weight shards, nothing outside the model's URL folder.
    const at = files.locate(side);
    if (at == null) throw new UsageError(`${sidecarAt}: field 'labels' names '${side}', outside the model's URL folder (refused)`);
    const text = await files.read(side, MAX_LABELS_BYTES, 'the labels file');
    if (text == null) throw new UsageError(`${at}: labels file not found`);
    folder.sidecarLabels = { labels: parseLabels(text, at), source: at, where: at };
    folder.used.push(side);
  }
  const metadata = await files.read(METADATA_NAME, MAX_METADATA_BYTES, METADATA_NAME);
  if (metadata != null) {
    let json: unknown = null;
    try {
      json = JSON.parse(metadata);
    } catch {
      // Not ours to judge: it only offers defaults.
    }
    const tm = teachableMachine(json);
    if (tm) {
      const at = files.locate(METADATA_NAME) ?? METADATA_NAME;
      folder.modelLabels = { labels: tm.labels, source: TEACHABLE_MACHINE, where: at };
      folder.modelPreprocess = { values: tm.preprocess, what: TEACHABLE_MACHINE };
      folder.used.push(METADATA_NAME);
    }
  }
  if (opts.labelsGiven || folder.sidecarLabels || folder.modelLabels) return folder;
  const inModelJson = labelsInJson(opts.metadata);
  if (inModelJson && inModelJson.length > 0) {
    folder.modelLabels = { labels: inModelJson, source: MODEL_JSON_METADATA, where: files.locate('model.json') ?? 'model.json' };
    return folder;
  }
  for (const name of LABEL_FILES) {
    let text: string | null;
    try {
      text = await files.read(name, MAX_LABELS_BYTES, 'the labels file');
    } catch (e) {
      if (e instanceof UsageError) continue; // too large to be a labels file
      throw e;
    }
    if (text == null) continue;
    const at = files.locate(name) ?? name;
    try {
      folder.modelLabels = { labels: parseLabels(text, at), source: name, where: at };
    } catch {
      continue;
    }
    folder.used.push(name);
    break;
  }
  return folder;
}

/** What the caller asks for, over what the folder says (the CLI's flags, the library's and the bundle's options). */
export interface ModelRequest {
  /** Labels given by the caller (read by the adapter: a file, a URL or a list), with where they came from. */
  labels?: FoundLabels;
  preprocess?: Partial<Preprocessing>;
  interpolation?: Interpolation;
  alignCorners?: boolean;
  /** Target layers as the caller wrote them (qualified, short, or a unique suffix). */
  layers?: string[];
  /** A method name, several separated by commas, or 'all'. */
  method?: string;
  /** Whether this surface runs the guided methods (Node, LayersModel); 'all' leaves them out otherwise. */
  guided?: boolean;
}

/** One model's settings, the same on every surface. */
export interface ModelSetting {
  labels: string[];
  /** Where the labels came from: the caller's file or list, the sidecar, Teachable Machine's metadata.json, a labels file, or 'indices'. */
  labelsSource: string;
  /** The settings, and per setting where it came from (flags, sidecar, model metadata, default). */
  preprocess: Preprocessing & { sources: PreprocessingSources };
  interpolation: Interpolation;
  alignCorners: boolean;
  /** One luminance channel (the model takes 1-channel images). */
  grayscale: boolean;
  /** Target layers, by their names in layers(): the caller's, else the sidecar's, else the default layer. */
  layers: string[];
  /** The methods: the caller's, else the sidecar's, else Grad-CAM ('all': those the model allows, see methodsFor). */
  methods: CamMethod[];
  /** The methods 'all' left out because the model (or this surface) cannot run them, and why. */
  methodsLeftOut: LeftOutMethod[];
  /**
   * What the model's own first layers or ops do to its input (a Rescaling, a Normalization, constants multiplied and
   * added), when that set the input range (`preprocess.sources.scale` is then 'model').
   */
  inputRangeFrom?: string;
  /** What the user should know about the resolution (a labels file beside the model that does not fit it): said once per run. */
  notes: string[];
}

/**
 * The labels from the first place that has them: the caller, the sidecar, the model's own files (used only when
 * they fit the model: a file found by its name alone is a guess; one that does not fit is named in `note`), else
 * class indices. A binary (one sigmoid unit) model takes one label, its positive class, or two. A list the caller
 * or the sidecar gives must fit.
 */
export function resolveLabels(found: { given?: FoundLabels; sidecar: FoundLabels | null; model: FoundLabels | null }, numClasses: number, binary: boolean): { labels: string[]; source: string; note?: string } {
  const fit = (labels: string[]) => (binary && labels.length === 1 ? [`not ${labels[0]}`, labels[0]] : labels);
  const asked = found.given ?? found.sidecar;
  if (asked) {
    const labels = fit(asked.labels);
    if (labels.length !== numClasses) {
      throw new UsageError(`${asked.where}: the labels list has ${asked.labels.length} entries but the model has ${numClasses} classes${binary ? ' (one sigmoid unit: give 1 label, the positive class, or 2)' : ''}`);
    }
    return { labels, source: asked.source };
  }
  if (found.model) {
    const labels = fit(found.model.labels);
    if (labels.length === numClasses) return { labels, source: found.model.source };
    const m = found.model;
    const note = `${m.where}: ${LABEL_FILES.includes(m.source) ? 'the labels file' : m.source} has ${m.labels.length} label${m.labels.length === 1 ? '' : 's'} but the model has ${numClasses} classes${binary ? ' (one sigmoid unit: 1 label, the positive class, or 2)' : ''}: not used, classes are shown by index (give --labels or the sidecar's 'labels')`;
    return { labels: Array.from({ length: numClasses }, (_, i) => String(i)), source: 'indices', note };
  }
  return { labels: Array.from({ length: numClasses }, (_, i) => String(i)), source: 'indices' };
}

/** Resampling to the model input: the caller's, else the sidecar's, else bilinear without aligned corners. */
export function resolveResampling(sidecar: Sidecar | null, given: { interpolation?: Interpolation; alignCorners?: boolean } = {}): { interpolation: Interpolation; alignCorners: boolean } {
  const side = sidecar?.preprocess;
  return { interpolation: given.interpolation ?? side?.interpolation ?? 'bilinear', alignCorners: given.alignCorners ?? side?.alignCorners ?? false };
}

/**
 * The model's input against the preprocessing: 1 (grey) or 3 (RGB) channels; the sidecar's `grayscale`, where
 * given, must say the same; mean and std give one value for all channels or one per channel (`--mean 1,2` on an
 * RGB model used to leave the third channel unnormalised without a word). Errors name the flag or the sidecar field.
 */
export function checkInput(channels: number, preprocess: Preprocessing & { sources: PreprocessingSources }, sidecar: Sidecar | null, sidecarAt: string): void {
  if (channels !== 1 && channels !== 3) throw new ModelError(`the model takes ${channels}-channel images; only 1 (grayscale) and 3 (RGB) are supported`);
  const gray = sidecar?.preprocess?.grayscale;
  if (gray != null && gray !== (channels === 1)) {
    throw new UsageError(`${sidecarAt}: field 'preprocess.grayscale' is ${gray} but the model takes ${channels}-channel images${channels === 1 ? ' (grey)' : ' (RGB)'}`);
  }
  // How grey is made means nothing to an RGB model: asked for anyway, the user expects a grey model.
  if (channels === 3 && preprocess.sources.gray === 'flags') throw new UsageError(`--gray applies to 1-channel models; this model takes RGB images`);
  if (channels === 3 && preprocess.sources.gray === SIDECAR_NAME) throw new UsageError(`${sidecarAt}: field 'preprocess.gray' applies to 1-channel models; this model takes RGB images`);
  for (const k of ['mean', 'std'] as const) {
    const n = preprocess[k].length;
    if (n === 1 || n === channels) continue;
    const want = channels === 1 ? '1 value' : `1 value (for every channel) or ${channels} (one per channel)`;
    const what = `the model takes ${channels}-channel images: give ${want}`;
    if (preprocess.sources[k] === 'flags') throw new UsageError(`--${k} has ${n} values but ${what}`);
    throw new UsageError(`${sidecarAt}: field 'preprocess.${k}' has ${n} values but ${what}`);
  }
}

/**
 * Target layers: the caller's, else the sidecar's, else the classifier's default (the last spatial layer on the way
 * to the logits); each resolved to its name in layers() and required to be a spatial map.
 */
export function resolveLayers(c: Classifier, given: string[] | undefined, sidecar: Sidecar | null): string[] {
  const side = sidecar?.layer == null ? undefined : Array.isArray(sidecar.layer) ? sidecar.layer : [sidecar.layer];
  const layers = (given?.length ? given : side ?? [c.defaultTargetLayer()]).map((l) => c.resolveLayer(l));
  const known = new Map(c.layers().map((l) => [l.name, l]));
  for (const l of layers) {
    const info = known.get(l)!;
    if (!info.spatial) throw new ModelError(`layer '${l}' has output shape [${info.outputShape.join(', ')}], not a spatial map (height x width x channels)`);
  }
  return layers;
}

/** Whether CAM applies at `layer`: the head after it is linear once pooled (model/head.ts's rule). */
export function camPossibleAt(c: Classifier, layer: string): boolean {
  const h = c.camHead(layer);
  if (h.kind === 'weights') h.weights.dispose();
  return h.kind !== 'none';
}

/**
 * The methods `spec` names. 'all' means those this model allows at every target layer (CAM where the head is
 * linear once pooled, FullGrad where its decomposition holds) and this surface runs (`guided`: guided backprop
 * and Guided Grad-CAM, which need Node and a LayersModel); `leftOut` says which it dropped and why.
 */
export function methodsFor(c: Classifier, layers: string[], spec: string, guided: boolean): { methods: CamMethod[]; leftOut: LeftOutMethod[] } {
  // Only 'all' needs to know: the checks read weights (a GPU read-back each on WebGL).
  if (spec.trim().toLowerCase() !== 'all') return selectMethods(spec);
  const support = methodSupport(c, layers);
  return selectMethods(spec, { ...support, guided: support.guided ?? (guided ? null : 'the browser build does not run the guided ReLU') });
}

/**
 * Under `bgr`, per-channel mean and std are applied in the model's (BGR) order: said with the values per channel,
 * since an app that subtracts an RGB-order mean before swapping channels needs them reversed (else a silent error).
 */
export function bgrNote(p: Preprocessing & { sources: PreprocessingSources }, channels: number): string[] {
  if (!p.bgr || channels !== 3 || (p.mean.length === 1 && p.std.length === 1)) return [];
  const per = appliedChannels(p, channels).map((c) => `${c.channel} mean ${c.mean} std ${c.std}`).join(', ');
  return [`bgr: mean and std apply in the model's channel order (B, G, R): ${per}; if your app subtracts an RGB-order mean before swapping channels, give the values reversed`];
}

/** The whole resolution: the folder's word under the caller's, checked against the model. */
export function resolveModel(c: Classifier, folder: ModelFolder, request: ModelRequest = {}): ModelSetting {
  const layers = resolveLayers(c, request.layers, folder.sidecar);
  const { methods, leftOut } = methodsFor(c, layers, request.method ?? folder.sidecar?.method ?? 'gradcam', !!request.guided);
  const { labels, source, note } = resolveLabels({ given: request.labels, sidecar: folder.sidecarLabels, model: folder.modelLabels }, c.numClasses, c.head.binary);
  // Under the flags and the sidecar: what the exporter's runtime does (Teachable Machine), then what the model's
  // own first layers say about the range they take (a Rescaling, a Normalization: see ./input-range.ts).
  const own = c.inputRange ? [{ values: { scale: c.inputRange.scale }, what: 'model' }] : [];
  const preprocess = resolvePreprocessing(folder.sidecar, request.preprocess ?? {}, [...(folder.modelPreprocess ? [folder.modelPreprocess] : []), ...own]);
  const channels = c.inputShape[2];
  checkInput(channels, preprocess, folder.sidecar, folder.sidecarAt);
  return {
    labels,
    labelsSource: source,
    preprocess,
    ...(preprocess.sources.scale === 'model' && c.inputRange ? { inputRangeFrom: c.inputRange.what } : {}),
    ...resolveResampling(folder.sidecar, request),
    grayscale: channels === 1,
    layers,
    methods,
    methodsLeftOut: leftOut,
    notes: [...(note ? [note] : []), ...bgrNote(preprocess, channels)],
  };
}
