/**
 * Preprocessing, labels and defaults for a model: from a sidecar `tfjs-cam.json` next to model.json
 * (written once by a team), overridden by explicit options (CLI flags). Parsing and validation only: which files
 * are read, and how everything combines, is ./resolve.ts, shared by the Node and browser builds.
 */
import { UsageError } from '../util/errors';
import { closestNames } from '../util/suggest';

export type ResizeMode = 'stretch' | 'crop' | 'pad';

/**
 * How a 1-channel model's grey is made from RGB, as its app makes it: ITU-R 601 luma (PIL's convert('L'), OpenCV,
 * tf.image.rgbToGrayscale), the plain mean of R, G and B (`x.mean(-1)`), or one channel alone.
 */
export type GrayMode = 'luma' | 'mean' | 'r' | 'g' | 'b';
export const GRAY_MODES: GrayMode[] = ['luma', 'mean', 'r', 'g', 'b'];

export interface Preprocessing {
  /** Pixel range the model expects: pixel/255 is mapped linearly onto [lo, hi]. */
  scale: [number, number];
  /** Subtracted per channel after scaling (one value for all channels, or one per channel). */
  mean: number[];
  /** Divided per channel after subtracting the mean. */
  std: number[];
  /**
   * Feed channels in BGR order (Caffe-style models). `mean` and `std` are then in the model's (BGR) order: the
   * first value applies to the blue channel.
   */
  bgr: boolean;
  resize: ResizeMode;
  /** 1-channel models: how grey is made from the image's RGB (ignored for RGB models). */
  gray: GrayMode;
}

export interface Sidecar {
  preprocess?: Partial<Preprocessing> & { grayscale?: boolean; interpolation?: 'bilinear' | 'area' | 'nearest' | 'lanczos' | 'bicubic' | 'pil-nearest'; alignCorners?: boolean };
  labels?: string[] | string;
  layer?: string | string[];
  method?: string;
  description?: string;
}

export const SIDECAR_NAME = 'tfjs-cam.json';
export const MAX_SIDECAR_BYTES = 1024 * 1024;
export const MAX_LABELS_BYTES = 16 * 1024 * 1024;

export const DEFAULT_PREPROCESSING: Preprocessing = { scale: [0, 1], mean: [0], std: [1], bgr: false, resize: 'stretch', gray: 'luma' };

const SCALES: Record<string, [number, number]> = { '0,1': [0, 1], '-1,1': [-1, 1], '0,255': [0, 255] };

export function parseScale(s: string): [number, number] {
  const key = s.replace(/\s+/g, '');
  const v = SCALES[key];
  if (!v) throw new UsageError(`--scale must be one of 0,1 | -1,1 | 0,255 (got '${s}')`);
  return v;
}

export function parseNumberList(s: string, what: string): number[] {
  const parts = s.split(',').map((p) => Number(p.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isFinite(n))) throw new UsageError(`${what} must be a comma-separated list of numbers (got '${s}')`);
  return parts;
}

/** The sidecar's fields: anything else is refused (a typo such as `preproces` would otherwise be ignored). */
export const SIDECAR_KEYS = ['preprocess', 'labels', 'layer', 'method', 'description', 'trainedAccuracy'];
export const SIDECAR_PREPROCESS_KEYS = ['scale', 'mean', 'std', 'bgr', 'resize', 'gray', 'grayscale', 'interpolation', 'alignCorners'];

function refuseUnknown(o: Record<string, unknown>, known: string[], file: string, at: string): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = closestNames(k, known);
    throw new UsageError(`${file}: unknown field '${at}${k}'${near.length ? ` (did you mean ${near.map((n) => `'${at}${n}'`).join(', ')}?)` : ` (known: ${known.join(', ')})`}`);
  }
}

export function validateSidecar(raw: unknown, file: string): Sidecar {
  const fail = (field: string, what: string) => new UsageError(`${file}: field '${field}' ${what}`);
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file}: expected a JSON object`);
  const s = raw as Record<string, unknown>;
  refuseUnknown(s, SIDECAR_KEYS, file, '');
  const p = s.preprocess as Record<string, unknown> | undefined;
  if (p != null) {
    if (typeof p !== 'object' || Array.isArray(p)) throw fail('preprocess', 'must be an object');
    refuseUnknown(p, SIDECAR_PREPROCESS_KEYS, file, 'preprocess.');
    if (p.grayscale != null && typeof p.grayscale !== 'boolean') throw fail('preprocess.grayscale', 'must be true or false');
    const pair = p.scale;
    if (pair != null && !(Array.isArray(pair) && pair.length === 2 && pair.every((n) => typeof n === 'number'))) throw fail('preprocess.scale', 'must be [lo, hi]');
    for (const k of ['mean', 'std'] as const) {
      const v = p[k];
      if (v != null && !(Array.isArray(v) && v.length > 0 && v.every((n) => typeof n === 'number' && Number.isFinite(n)))) throw fail(`preprocess.${k}`, 'must be a non-empty array of numbers');
    }
    if (Array.isArray(p.std) && (p.std as number[]).some((n) => n === 0)) throw fail('preprocess.std', 'must not contain 0');
    if (p.bgr != null && typeof p.bgr !== 'boolean') throw fail('preprocess.bgr', 'must be true or false');
    if (p.resize != null && !['stretch', 'crop', 'pad'].includes(p.resize as string)) throw fail('preprocess.resize', "must be 'stretch', 'crop' or 'pad'");
    if (p.gray != null && !GRAY_MODES.includes(p.gray as GrayMode)) throw fail('preprocess.gray', `must be one of ${GRAY_MODES.map((g) => `'${g}'`).join(', ')}`);
    if (p.alignCorners != null && typeof p.alignCorners !== 'boolean') throw fail('preprocess.alignCorners', 'must be true or false');
    if (p.interpolation != null && !['bilinear', 'area', 'nearest', 'lanczos', 'bicubic', 'pil-nearest'].includes(p.interpolation as string)) throw fail('preprocess.interpolation', "must be 'bilinear', 'area', 'nearest', 'lanczos', 'bicubic' or 'pil-nearest'");
  }
  if (s.labels != null && typeof s.labels !== 'string' && !(Array.isArray(s.labels) && s.labels.every((l) => typeof l === 'string'))) {
    throw fail('labels', 'must be an array of strings or a file name');
  }
  if (s.layer != null && typeof s.layer !== 'string' && !(Array.isArray(s.layer) && s.layer.every((l) => typeof l === 'string'))) {
    throw fail('layer', 'must be a layer name or an array of names');
  }
  if (s.method != null && typeof s.method !== 'string') throw fail('method', 'must be a method name');
  return s as Sidecar;
}

/** The sidecar from its text; `where` (its path or URL) names it in errors. */
export function parseSidecar(text: string, where: string): Sidecar {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  return validateSidecar(raw, where);
}

/** Labels from the text of a labels file (local or fetched); `where` names it in errors. */
export function parseLabels(text: string, where: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new UsageError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    const arr = labelsInJson(json);
    if (!arr) throw new UsageError(`${where}: expected a JSON array of labels, an object with a 'labels', 'classes' or 'classNames' array, or one label per class index ("0", "1", ...)`);
    return arr;
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l, i, all) => l.length > 0 || i < all.length - 1);
}

/** Keys under which exporters and apps keep the labels list in a JSON object. */
export const LABEL_KEYS = ['labels', 'classes', 'classNames', 'class_names'];

function labelText(l: unknown): string {
  if (typeof l === 'string') return l;
  // {"name": ...} entries (COCO-style category lists).
  if (typeof l === 'object' && l && !Array.isArray(l) && 'name' in l) return String((l as { name: unknown }).name);
  // ["n01440764", "tench"]: Keras' imagenet_class_index.json gives the id and the readable name, last.
  if (Array.isArray(l) && l.length > 0 && l.every((x) => typeof x === 'string')) return l[l.length - 1];
  return String(l);
}

/**
 * The labels a parsed JSON value holds, or null: a list; an object with a list under one of LABEL_KEYS (Teachable
 * Machine's metadata.json, other exporters' metadata, model.json's userDefinedMetadata); or an object keyed by
 * every class index from "0" (Keras' class_index files), in index order.
 */
export function labelsInJson(json: unknown): string[] | null {
  if (Array.isArray(json)) return json.map(labelText);
  if (json == null || typeof json !== 'object') return null;
  const o = json as Record<string, unknown>;
  for (const k of LABEL_KEYS) if (Array.isArray(o[k])) return (o[k] as unknown[]).map(labelText);
  const keys = Object.keys(o);
  // JavaScript lists integer keys first, in ascending order: every index 0..n-1 present iff key i is "i".
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => labelText(o[k]));
  return null;
}

/**
 * The mean and std as applied to each of the model's input channels, in the model's order: under `bgr` the first
 * channel is the image's blue, and gets mean[0] and std[0]. (An app that subtracts an RGB-order mean and then swaps
 * the channels needs those numbers reversed.)
 */
export function appliedChannels(p: Pick<Preprocessing, 'mean' | 'std' | 'bgr'>, channels: number): { channel: string; mean: number; std: number }[] {
  const names = channels === 1 ? ['grey'] : p.bgr ? ['B', 'G', 'R'] : ['R', 'G', 'B'];
  return names.map((channel, c) => ({ channel, mean: p.mean[p.mean.length === 1 ? 0 : c] ?? 0, std: p.std[p.std.length === 1 ? 0 : c] ?? 1 }));
}

export type PreprocessingSources = Record<keyof Preprocessing, string>;

/**
 * Each preprocessing setting from the first place that gives it: the flags, the sidecar, what the model's own
 * metadata or layers imply (Teachable Machine; a Rescaling first layer), in the order given, else the default.
 * `sources` says which, per setting, for the report.
 */
export function resolvePreprocessing(
  sidecar: Sidecar | null,
  override: Partial<Preprocessing>,
  fromModel: { values: Partial<Preprocessing>; what: string } | { values: Partial<Preprocessing>; what: string }[] = [],
): Preprocessing & { sources: PreprocessingSources } {
  const fromSidecar = sidecar?.preprocess ?? {};
  const merged: Preprocessing = { ...DEFAULT_PREPROCESSING };
  const sources = {} as PreprocessingSources;
  const model = Array.isArray(fromModel) ? fromModel : [fromModel];
  for (const k of ['scale', 'mean', 'std', 'bgr', 'resize', 'gray'] as const) {
    const layers: [unknown, string][] = [[override[k], 'flags'], [fromSidecar[k], SIDECAR_NAME], ...model.map((m): [unknown, string] => [m.values[k], m.what]), [DEFAULT_PREPROCESSING[k], 'default']];
    const [v, where] = layers.find(([x]) => x != null)!;
    (merged as unknown as Record<string, unknown>)[k] = v;
    sources[k] = where;
  }
  if (merged.std.some((s) => s === 0)) throw new UsageError('--std must not contain 0');
  return Object.assign(merged, { sources });
}
