/**
 * ROAD, Remove And Debias (Rong, Leemann, Borisov, Kasneci, Kasneci 2022, "A Consistent and Efficient Evaluation
 * Strategy for Attribution Methods"), as pytorch-grad-cam implements it (metrics/road.py, from the authors' code).
 *
 * Deletion and insertion replace pixels by a constant: the model then sees the *shape* of the removed set, which
 * leaks the ranking (a crisp hole where the object was) and makes the curves measure that leak as much as the
 * attribution. ROAD fills removed pixels by noisy linear imputation instead: every removed pixel equals the
 * weighted mean of its 8 neighbours (1/6 for the 4 direct ones, 1/12 for the diagonals; neighbours outside the
 * image are left out and the weights renormalised), which is a sparse linear system over the removed pixels, plus
 * Gaussian noise so that the fill carries no exact information either.
 *
 * For a map, MoRF (most relevant first) removes the top f of the pixels by map value and LeRF (least relevant
 * first) the bottom f, for f = 10%, 20%, ..., 90% (pytorch-grad-cam's percentiles); the class probability is
 * measured on each imputed image. A faithful map makes the probability fall fast under MoRF (low mean) and stay up
 * under LeRF (high mean); pytorch-grad-cam's ROADCombined is (LeRF - MoRF) / 2 of the scores' changes, the same
 * number as (mean LeRF probability - mean MoRF probability) / 2 here.
 *
 * The solver: the system matrix M (diagonal: the sum of the pixel's valid neighbour weights; off-diagonal: minus
 * the weight of each removed neighbour) is symmetric, since opposite offsets have equal weights, and positive
 * definite as soon as one pixel is kept (every connected group of removed pixels then touches a kept one, so M is
 * an irreducibly diagonally dominant M-matrix). So it is solved by conjugate gradients, in double precision, per
 * channel, starting from a coarse-to-fine guess (the same system solved on an image halved until small, each
 * solution upsampled as the next level's start), which removes the smooth error that plain CG is slowest on.
 */
import * as tf from '@tensorflow/tfjs';
import type { ProbabilityFn } from './faithfulness';

/** (dy, dx, weight) of the 8 neighbours, as pytorch-grad-cam's neighbors_weights. */
export const ROAD_NEIGHBOURS: readonly (readonly [number, number, number])[] = [
  [1, 1, 1 / 12],
  [0, 1, 1 / 6],
  [-1, 1, 1 / 12],
  [1, -1, 1 / 12],
  [0, -1, 1 / 6],
  [-1, -1, 1 / 12],
  [1, 0, 1 / 6],
  [-1, 0, 1 / 6],
];

/** Removal levels: pytorch-grad-cam's percentiles 10..90, as fractions of the pixels removed. */
export const ROAD_FRACTIONS: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** Noise of the imputation, as a fraction of the input's value range (max - min over the image). */
export const ROAD_NOISE = 0.01;

/** Deterministic standard normal numbers: mulberry32 and Box-Muller (tfjs' random ops would need a backend). */
export function seededNormal(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - uniform(); // (0, 1]: log is finite
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export interface ImputeOptions {
  /** Standard deviation of the Gaussian noise added to every imputed value (absolute, in the image's units). 0: none. */
  noise?: number;
  seed?: number;
  /** Conjugate gradients stop when |residual| <= tolerance * |right-hand side| (default 1e-5: on a
   * 224 x 224 image with values in 0..1, imputed values within 2e-4 of the exact solution, 50 times below the noise). */
  tolerance?: number;
}

export interface ImputeResult {
  /** The image with removed pixels filled, [height * width * channels], channels last. */
  values: Float32Array;
  /** Removed pixels (unknowns). */
  unknowns: number;
  /** Conjugate-gradient iterations at full resolution, the most over the channels. */
  iterations: number;
}

/**
 * One level of the solver: a symmetric system over `m` unknowns on an h x w grid, each unknown coupled to at most
 * its 8 grid neighbours. Level 0 is ROAD's system; each coarser level merges 2x2 blocks (below).
 */
interface Level {
  m: number;
  h: number;
  w: number;
  /** Grid position (y * w + x) of each unknown. */
  pixel: Int32Array;
  diag: Float64Array;
  /** 8 per unknown: the neighbour's unknown index (in ROAD_NEIGHBOURS order), or m (a zero slot: no neighbour). */
  nb: Int32Array;
  /** 8 per unknown: the matrix entry M[u, nb] (<= 0), 0 where there is none. */
  off: Float64Array;
  coarse?: { level: Level; /** coarse unknown of each unknown */ parent: Int32Array };
  /** Work arrays of the V-cycle at this level (m + 1 values), allocated once. */
  work?: { t: Float64Array; rc: Float64Array; zc: Float64Array };
  /** The coarsest level: its dense Cholesky factor (lower, row-major). */
  chol?: Float64Array;
}

/** Offset (dy, dx) -> index into ROAD_NEIGHBOURS, at (dy + 1) * 3 + dx + 1. */
const OFFSET_INDEX = new Int8Array(9).fill(-1);
ROAD_NEIGHBOURS.forEach(([dy, dx], k) => (OFFSET_INDEX[(dy + 1) * 3 + dx + 1] = k));

/** ROAD's system for a removal mask, and the unknowns' kept neighbours (for the right-hand side). */
function fineLevel(removed: Uint8Array, height: number, width: number): { level: Level; kept: Int32Array } {
  const n = height * width;
  const unknownOf = new Int32Array(n).fill(-1);
  let m = 0;
  for (let p = 0; p < n; p++) if (removed[p]) unknownOf[p] = m++;
  const pixel = new Int32Array(m);
  const nb = new Int32Array(m * 8).fill(m);
  const off = new Float64Array(m * 8);
  const kept = new Int32Array(m * 8).fill(-1);
  const diag = new Float64Array(m);
  for (let p = 0; p < n; p++) {
    const u = unknownOf[p];
    if (u < 0) continue;
    pixel[u] = p;
    const y = (p / width) | 0;
    const x = p - y * width;
    let s = 0;
    for (let k = 0; k < 8; k++) {
      const [dy, dx, wgt] = ROAD_NEIGHBOURS[k];
      const yy = y + dy;
      const xx = x + dx;
      if (yy < 0 || xx < 0 || yy >= height || xx >= width) continue;
      s += wgt;
      const q = yy * width + xx;
      if (unknownOf[q] >= 0) {
        nb[u * 8 + k] = unknownOf[q];
        off[u * 8 + k] = -wgt;
      } else kept[u * 8 + k] = q;
    }
    diag[u] = s;
  }
  return { level: { m, h: height, w: width, pixel, diag, nb, off }, kept };
}

/** Below this many unknowns a level is solved directly (dense Cholesky) instead of coarsened. */
const DIRECT_UNKNOWNS = 64;

/**
 * The coarser levels, by aggregation: the unknowns of each 2x2 block become one, and the coarse matrix is
 * P^T M P with P the piecewise-constant prolongation (entries summed over blocks), so it stays symmetric positive
 * definite and again couples each unknown to its 8 grid neighbours at most.
 */
function coarsen(f: Level): void {
  if (f.m <= DIRECT_UNKNOWNS || f.h < 2 || f.w < 2) {
    f.chol = denseCholesky(f);
    return;
  }
  const h = Math.ceil(f.h / 2);
  const w = Math.ceil(f.w / 2);
  const unknownOf = new Int32Array(h * w).fill(-1);
  const parent = new Int32Array(f.m);
  let m = 0;
  const cellOf = (u: number) => {
    const y = (f.pixel[u] / f.w) | 0;
    const x = f.pixel[u] - y * f.w;
    return (y >> 1) * w + (x >> 1);
  };
  const cells: number[] = [];
  for (let u = 0; u < f.m; u++) {
    const cell = cellOf(u);
    if (unknownOf[cell] < 0) {
      unknownOf[cell] = m++;
      cells.push(cell);
    }
    parent[u] = unknownOf[cell];
  }
  const pixel = Int32Array.from(cells);
  const diag = new Float64Array(m);
  const nb = new Int32Array(m * 8).fill(m);
  const off = new Float64Array(m * 8);
  for (let u = 0; u < f.m; u++) {
    const U = parent[u];
    diag[U] += f.diag[u];
    for (let k = 0; k < 8; k++) {
      const v = f.nb[u * 8 + k];
      if (v === f.m) continue;
      const V = parent[v];
      const a = f.off[u * 8 + k];
      if (V === U) diag[U] += a;
      else {
        const dy = ((pixel[V] / w) | 0) - ((pixel[U] / w) | 0);
        const dx = (pixel[V] % w) - (pixel[U] % w);
        const K = OFFSET_INDEX[(dy + 1) * 3 + dx + 1];
        nb[U * 8 + K] = V;
        off[U * 8 + K] += a;
      }
    }
  }
  const level: Level = { m, h, w, pixel, diag, nb, off };
  f.coarse = { level, parent };
  coarsen(level);
}

function denseCholesky(l: Level): Float64Array {
  const m = l.m;
  const a = new Float64Array(m * m);
  for (let u = 0; u < m; u++) {
    a[u * m + u] = l.diag[u];
    for (let k = 0; k < 8; k++) if (l.nb[u * 8 + k] < m) a[u * m + l.nb[u * 8 + k]] += l.off[u * 8 + k];
  }
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j];
    for (let k = 0; k < j; k++) d -= a[j * m + k] * a[j * m + k];
    const r = Math.sqrt(Math.max(d, 1e-300));
    a[j * m + j] = r;
    for (let i = j + 1; i < m; i++) {
      let s = a[i * m + j];
      for (let k = 0; k < j; k++) s -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = s / r;
    }
  }
  return a;
}

/** y = M x (x has a zero in slot m). */
function multiply(l: Level, x: Float64Array, y: Float64Array): void {
  const { m, nb, off, diag } = l;
  for (let u = 0, o = 0; u < m; u++, o += 8) {
    y[u] =
      diag[u] * x[u] +
      off[o] * x[nb[o]] + off[o + 1] * x[nb[o + 1]] + off[o + 2] * x[nb[o + 2]] + off[o + 3] * x[nb[o + 3]] +
      off[o + 4] * x[nb[o + 4]] + off[o + 5] * x[nb[o + 5]] + off[o + 6] * x[nb[o + 6]] + off[o + 7] * x[nb[o + 7]];
  }
}

/** One Gauss-Seidel step at unknown u for M x = b (x has a zero in slot m). */
function relax(l: Level, b: Float64Array, x: Float64Array, u: number): void {
  const { nb, off } = l;
  const o = u * 8;
  const s =
    off[o] * x[nb[o]] + off[o + 1] * x[nb[o + 1]] + off[o + 2] * x[nb[o + 2]] + off[o + 3] * x[nb[o + 3]] +
    off[o + 4] * x[nb[o + 4]] + off[o + 5] * x[nb[o + 5]] + off[o + 6] * x[nb[o + 6]] + off[o + 7] * x[nb[o + 7]];
  x[u] = (b[u] - s) / l.diag[u];
}

/**
 * The preconditioner z = B r: one V-cycle from zero (forward Gauss-Seidel, coarse correction, backward
 * Gauss-Seidel: a symmetric operator, as conjugate gradients need). Arrays have a zero slot at index m.
 */
function vCycle(l: Level, r: Float64Array, z: Float64Array): void {
  const { m } = l;
  if (l.chol) {
    const L = l.chol;
    for (let i = 0; i < m; i++) {
      let s = r[i];
      for (let k = 0; k < i; k++) s -= L[i * m + k] * z[k];
      z[i] = s / L[i * m + i];
    }
    for (let i = m - 1; i >= 0; i--) {
      let s = z[i];
      for (let k = i + 1; k < m; k++) s -= L[k * m + i] * z[k];
      z[i] = s / L[i * m + i];
    }
    z[m] = 0;
    return;
  }
  z.fill(0);
  for (let u = 0; u < m; u++) relax(l, r, z, u); // forward Gauss-Seidel
  const { level: c, parent } = l.coarse!;
  l.work ??= { t: new Float64Array(m + 1), rc: new Float64Array(c.m + 1), zc: new Float64Array(c.m + 1) };
  const { t, rc, zc } = l.work;
  multiply(l, z, t);
  rc.fill(0);
  for (let u = 0; u < m; u++) rc[parent[u]] += r[u] - t[u];
  vCycle(c, rc, zc);
  for (let u = 0; u < m; u++) z[u] += zc[parent[u]];
  for (let u = m - 1; u >= 0; u--) relax(l, r, z, u); // backward: the cycle stays symmetric
}

/** Solves M x = b by multigrid-preconditioned conjugate gradients from x = 0; returns the iterations. */
function conjugateGradient(l: Level, b: Float64Array, x: Float64Array, tolerance: number): number {
  const m = l.m;
  const r = new Float64Array(m + 1);
  const z = new Float64Array(m + 1);
  const p = new Float64Array(m + 1);
  const q = new Float64Array(m + 1);
  let bb = 0;
  for (let i = 0; i < m; i++) {
    r[i] = b[i];
    bb += b[i] * b[i];
  }
  x.fill(0);
  if (bb === 0) return 0;
  const stop = tolerance * tolerance * bb;
  vCycle(l, r, z);
  let rz = 0;
  for (let i = 0; i < m; i++) {
    p[i] = z[i];
    rz += r[i] * z[i];
  }
  let rr = bb;
  // CG converges in at most m steps in exact arithmetic; the bound only guards against a stall in rounding.
  const limit = Math.max(100, m);
  let it = 0;
  while (rr > stop && it < limit) {
    multiply(l, p, q);
    let pq = 0;
    for (let i = 0; i < m; i++) pq += p[i] * q[i];
    const alpha = rz / pq;
    rr = 0;
    for (let i = 0; i < m; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * q[i];
      rr += r[i] * r[i];
    }
    vCycle(l, r, z);
    let rzNext = 0;
    for (let i = 0; i < m; i++) rzNext += r[i] * z[i];
    const beta = rzNext / rz;
    rz = rzNext;
    for (let i = 0; i < m; i++) p[i] = z[i] + beta * p[i];
    it++;
  }
  return it;
}

/** Right-hand side of one channel: the weighted values of the kept neighbours. */
function rightHandSide(l: Level, kept: Int32Array, values: ArrayLike<number>, channels: number, c: number): Float64Array {
  const b = new Float64Array(l.m);
  for (let u = 0; u < l.m; u++) {
    let s = 0;
    const o = u * 8;
    for (let k = 0; k < 8; k++) {
      const q = kept[o + k];
      if (q >= 0) s += ROAD_NEIGHBOURS[k][2] * values[q * channels + c];
    }
    b[u] = s;
  }
  return b;
}

/**
 * Noisy linear imputation of the removed pixels (removed[p] = 1) of an image [height * width * channels],
 * channels last: each removed pixel becomes the weighted mean of its neighbours (ROAD_NEIGHBOURS), solved jointly
 * over all removed pixels, plus N(0, noise^2) (seeded). With every pixel removed there is nothing to impute from:
 * the image is refused.
 */
export function imputeLinear(values: Float32Array, height: number, width: number, channels: number, removed: Uint8Array, opts: ImputeOptions = {}): ImputeResult {
  const n = height * width;
  if (values.length !== n * channels) throw new RangeError(`image has ${values.length} values, expected ${height}x${width}x${channels}`);
  if (removed.length !== n) throw new RangeError(`mask has ${removed.length} values, expected ${height}x${width}`);
  const out = Float32Array.from(values);
  let count = 0;
  for (let p = 0; p < n; p++) if (removed[p]) count++;
  if (count === 0) return { values: out, unknowns: 0, iterations: 0 };
  if (count === n) throw new RangeError('every pixel is removed: nothing to impute from');
  const { level, kept } = fineLevel(removed, height, width);
  coarsen(level);
  const tolerance = opts.tolerance ?? 1e-5;
  const noise = opts.noise ?? 0;
  const normal = noise > 0 ? seededNormal(opts.seed ?? 0) : null;
  let iterations = 0;
  const x = Array.from({ length: channels }, (_, c) => {
    const xc = new Float64Array(level.m + 1);
    iterations = Math.max(iterations, conjugateGradient(level, rightHandSide(level, kept, values, channels, c), xc, tolerance));
    return xc;
  });
  for (let u = 0; u < level.m; u++) {
    const p = level.pixel[u];
    for (let c = 0; c < channels; c++) out[p * channels + c] = x[c][u] + (normal ? noise * normal() : 0);
  }
  return { values: out, unknowns: count, iterations };
}

/** One map's ROAD curves: the class probability after removing each fraction (ROAD_FRACTIONS order). */
export interface MapRoad {
  morf: number[];
  lerf: number[];
}

/** Mean of a curve: pytorch-grad-cam's average over the percentiles. */
export const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);

/** pytorch-grad-cam's ROADCombined: (mean LeRF - mean MoRF) / 2; higher is better. */
export const roadCombined = (r: MapRoad) => (mean(r.lerf) - mean(r.morf)) / 2;

export interface RoadOptions {
  /** Fractions of pixels removed (default ROAD_FRACTIONS). */
  fractions?: readonly number[];
  /** Noise sigma as a fraction of the image's value range (default ROAD_NOISE). */
  noise?: number;
  seed?: number;
  /** Imputed images scored per call of `probability`. */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * ROAD curves of several maps of one image x [1, H, W, C] (maps at input resolution, H * W values each). Pixels
 * are ranked by map value as for deletion (highest first, ties by position); MoRF at f removes the round(f n)
 * highest, LeRF the round(f n) lowest. The noise of level i (MoRF, LeRF) is seeded from `seed` and i, the same
 * for every map: methods are compared on the same noise.
 */
export function imageRoad(x: tf.Tensor4D, maps: Float32Array[], probability: ProbabilityFn, opts: RoadOptions = {}): MapRoad[] {
  const [, h, w, c] = x.shape;
  const n = h * w;
  const fractions = opts.fractions ?? ROAD_FRACTIONS;
  const batch = Math.max(1, opts.batch ?? 32);
  const values = x.dataSync() as Float32Array;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const sigma = (opts.noise ?? ROAD_NOISE) * (hi > lo ? hi - lo : 0);
  const seed = opts.seed ?? 0;
  const counts = fractions.map((f) => Math.min(n - 1, Math.max(0, Math.round(f * n))));
  // One row per (map, side, level): the imputed image, scored in batches.
  const rows = maps.length * 2 * fractions.length;
  const probs = new Float32Array(rows);
  let pending: Float32Array[] = [];
  let scored = 0;
  const flush = () => {
    if (!pending.length) return;
    const data = new Float32Array(pending.length * n * c);
    pending.forEach((p, i) => data.set(p, i * n * c));
    const b = pending.length;
    probs.set(tf.tidy(() => probability(tf.tensor4d(data, [b, h, w, c]))), scored);
    scored += b;
    pending = [];
    opts.onProgress?.(scored, rows);
  };
  for (const map of maps) {
    if (map.length !== n) throw new RangeError(`map has ${map.length} values, expected ${w}x${h}`);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => map[b] - map[a] || a - b);
    for (const side of [0, 1]) {
      fractions.forEach((_, li) => {
        const removed = new Uint8Array(n);
        const k = counts[li];
        // MoRF: the first k of the order (most relevant); LeRF: the last k.
        for (let r = 0; r < k; r++) removed[side === 0 ? order[r] : order[n - 1 - r]] = 1;
        pending.push(imputeLinear(values, h, w, c, removed, { noise: sigma, seed: (seed * 1000 + li * 2 + side) >>> 0 }).values);
        if (pending.length >= batch) flush();
      });
    }
  }
  flush();
  const L = fractions.length;
  return maps.map((_, m) => ({
    morf: Array.from(probs.subarray(m * 2 * L, m * 2 * L + L)),
    lerf: Array.from(probs.subarray(m * 2 * L + L, (m + 1) * 2 * L)),
  }));
}
