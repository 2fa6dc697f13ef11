/**
 * What a model's own first steps say about the pixel range it takes. A Keras model that begins with
 * `Rescaling(1/255)` or `Normalization` (adapted on raw images), or a converted graph whose first ops multiply and add
 * constants to the input, does its own scaling: fed the default [0, 1] it sees nearly black images and gives one
 * class for every photo. Those first steps are one affine map per channel, y = a * x + b, read here from a flat
 * Keras 2 topology (with the built layers' weights) or from a graph's first nodes; the range is the one candidate
 * (0..255 or 0..1) that the map turns into values of a normal scale. Anything else (a branch at the input, an op
 * whose constant is not a plain number or per-channel list, a map that fits both candidates or neither) says
 * nothing: the caller keeps its default.
 */

/** The range found and what said it (for the report: "layer 'rescaling' (Rescaling x * 0.00392157 + 0)"). */
export interface InputRange {
  scale: [number, number];
  what: string;
}

/** y = a[c] * x + b[c] per channel (one value: every channel). */
export interface Affine {
  a: number[];
  b: number[];
}

const CANDIDATES: [number, number][] = [
  [0, 255],
  [0, 1],
];

const at = (v: number[], c: number) => v[v.length === 1 ? 0 : c];

/** The map `second` after `first`; null where their channel counts differ (neither 1). */
export function compose(first: Affine, second: Affine): Affine | null {
  const n = Math.max(first.a.length, first.b.length, second.a.length, second.b.length);
  for (const v of [first.a, first.b, second.a, second.b]) if (v.length !== 1 && v.length !== n) return null;
  const a: number[] = [];
  const b: number[] = [];
  for (let c = 0; c < n; c++) {
    a.push(at(second.a, c) * at(first.a, c));
    b.push(at(second.a, c) * at(first.b, c) + at(second.b, c));
  }
  return { a, b };
}

/**
 * The input range for which y = a x + b, written (x - m) / s, centres on a value inside the range (m no further
 * than a tenth of the range outside it) with a spread s between 0.2% and twice the range, in every channel:
 * Rescaling(1/255) (m 0, s 255), Rescaling(1/127.5, -1) (m 127.5), Normalization adapted on raw images (m ~120,
 * s ~60) and Caffe's mean subtraction (s 1) fit 0..255 only; x * 2 - 1 and ImageNet's mean/std on [0, 1] fit 0..1
 * only; a map that does nothing (or an unadapted Normalization: mean 0, variance 1) fits both and says nothing.
 */
export function rangeOfAffine(map: Affine): [number, number] | null {
  const n = Math.max(map.a.length, map.b.length);
  const fits = CANDIDATES.filter(([lo, hi]) => {
    for (let c = 0; c < n; c++) {
      const a = at(map.a, c);
      const b = at(map.b, c);
      if (!(Number.isFinite(a) && Number.isFinite(b) && a !== 0)) return false;
      const m = -b / a;
      const s = Math.abs(1 / a);
      const width = hi - lo;
      const where = (m - lo) / width;
      const spread = s / width;
      if (!(where >= -0.1 && where <= 1.1 && spread >= 0.002 && spread <= 2)) return false;
    }
    return true;
  });
  return fits.length === 1 ? fits[0] : null;
}

/** A number as the report shows it (enough digits for 1/255). */
export function showNumber(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function showList(v: number[]): string {
  return v.length === 1 ? showNumber(v[0]) : `[${v.map(showNumber).join(', ')}]`;
}

/** "x * 0.00392157 + 0", per channel as lists. */
export function showAffine(map: Affine): string {
  return `x * ${showList(map.a)} + ${showList(map.b)}`;
}

/** One step of the chain at the input, already read: its description and its map. */
export interface AffineStep {
  what: string;
  map: Affine;
}

/** The range the chain of steps at the model input implies, or null (no steps, or no single fitting range). */
export function rangeOfSteps(steps: AffineStep[]): InputRange | null {
  if (steps.length === 0) return null;
  let total: Affine | null = steps[0].map;
  for (const s of steps.slice(1)) total = total && compose(total, s.map);
  if (!total) return null;
  const scale = rangeOfAffine(total);
  if (!scale) return null;
  const what = steps.length === 1 ? steps[0].what : `${steps.map((s) => s.what).join(', then ')}: ${showAffine(total)}`;
  return { scale, what };
}

// --- Keras layers -----------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

/** Layers that leave values as they are at inference (augmentation, noise, dropout) or only resample them. */
const VALUE_KEEPING = new Set([
  'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization',
  'RandomFlip', 'RandomRotation', 'RandomZoom', 'RandomTranslation', 'RandomContrast', 'RandomBrightness', 'RandomWidth',
  'RandomHeight', 'RandomCrop', 'Resizing', 'CenterCrop',
]);

function scalarOrList(v: unknown): number[] | null {
  if (typeof v === 'number' && Number.isFinite(v)) return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as number[];
  return null;
}

/** A Rescaling config -> its map (Keras 2 and 3 write `scale` and `offset`, numbers or per-channel lists). */
export function rescalingMap(config: Json): Affine | null {
  const a = scalarOrList(config.scale);
  const b = config.offset == null ? [0] : scalarOrList(config.offset);
  return a && b ? { a, b } : null;
}

/** A Normalization's stored statistics -> its map: (x - mean) / max(sqrt(var), 1e-7), or invert: mean + x * sqrt(var). */
export function normalizationMap(mean: number[], variance: number[], invert: boolean): Affine | null {
  if (mean.length === 0 || mean.length !== variance.length) return null;
  if (invert) return { a: variance.map((v) => Math.sqrt(v)), b: mean.slice() };
  const sd = variance.map((v) => Math.max(Math.sqrt(v), 1e-7));
  return { a: sd.map((s) => 1 / s), b: mean.map((m, i) => -m / sd[i]) };
}

/**
 * The chain of affine layers right after the input of a flat Keras 2 functional topology, stepping over layers that
 * keep values (VALUE_KEEPING); `statistics` gives a Normalization layer's mean and variance (from its built weights
 * or its config). The chain stops at the first other layer, and is empty where a tensor on the way feeds more than
 * one layer (the input's meaning is then not one thing).
 */
export function layersInputSteps(config: Json, statistics: (layer: string) => { mean: number[]; variance: number[] } | null, shown: (layer: string) => string = (n) => n): AffineStep[] {
  const layers = (config.layers as Json[] | undefined) ?? [];
  const inputs = config.input_layers as unknown[][] | undefined;
  if (!inputs || inputs.length !== 1) return [];
  const consumers = new Map<string, Json[]>();
  for (const l of layers) {
    for (const node of (l.inbound_nodes as unknown[][][] | undefined) ?? []) {
      for (const entry of node) {
        const from = String(entry[0]);
        consumers.set(from, [...(consumers.get(from) ?? []), l]);
      }
    }
  }
  const steps: AffineStep[] = [];
  let current = String(inputs[0][0]);
  for (let guard = 0; guard < layers.length; guard++) {
    const next = consumers.get(current) ?? [];
    if (next.length !== 1) return next.length > 1 ? [] : steps;
    const l = next[0];
    const name = String(l.name);
    const cls = String(l.class_name);
    const cfg = (l.config as Json | undefined) ?? {};
    let map: Affine | null = null;
    if (cls === 'Rescaling') map = rescalingMap(cfg);
    else if (cls === 'Normalization') {
      const st = statistics(name);
      map = st && normalizationMap(st.mean, st.variance, cfg.invert === true);
    } else if (VALUE_KEEPING.has(cls)) {
      current = name;
      continue;
    } else return steps;
    if (!map) return [];
    steps.push({ what: `layer '${shown(name)}' (${cls} ${showAffine(map)})`, map });
    current = name;
  }
  return steps;
}
