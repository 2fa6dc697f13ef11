/**
 * Non-negative matrix factorisation V ~ W H (V [m, n] >= 0, W [m, r] >= 0, H [r, n] >= 0) by Lee & Seung's
 * multiplicative updates for the Frobenius norm (Algorithms for Non-negative Matrix Factorization, NIPS 2000):
 *
 *   H <- H * (W^T V) / (W^T W H)        W <- W * (V H^T) / (W H H^T)
 *
 * Each update never increases ||V - W H||, and keeps every entry non-negative. Started from a seeded random
 * W and H scaled as sklearn's 'random' init (uniform in [0, 2 sqrt(mean(V) / r)]), so a seed gives the same
 * factorisation everywhere (plain float64 arithmetic in a fixed order, no tfjs). Pure maths: no I/O, no Node.
 */
import { mulberry32 } from '../util/random';

export interface NmfOptions {
  /** Components r. */
  components: number;
  /** Seed of the random start (default 0). */
  seed?: number;
  /** Most update rounds (default 400). */
  maxIterations?: number;
  /** Stop when the relative error improves by less than this over 10 rounds (default 1e-5). */
  tolerance?: number;
}

export interface NmfResult {
  /** [m, r], row-major. */
  w: Float64Array;
  /** [r, n], row-major. */
  h: Float64Array;
  /** ||V - W H||_F / ||V||_F at the end. */
  relativeError: number;
  iterations: number;
}

/** Keeps a denominator away from 0 (an all-zero row or column of V stays zero instead of NaN). */
const EPS = 1e-12;

/** a [p, q] times b [q, s] -> [p, s]. */
function matMul(a: Float64Array, p: number, q: number, b: Float64Array, s: number): Float64Array {
  const out = new Float64Array(p * s);
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < q; k++) {
      const v = a[i * q + k];
      if (v === 0) continue;
      const row = k * s;
      const o = i * s;
      for (let j = 0; j < s; j++) out[o + j] += v * b[row + j];
    }
  }
  return out;
}

/** Transpose of a [p, q]. */
function transpose(a: Float64Array, p: number, q: number): Float64Array {
  const out = new Float64Array(p * q);
  for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) out[j * p + i] = a[i * q + j];
  return out;
}

/** ||V - W H||_F. */
function residual(v: ArrayLike<number>, w: Float64Array, h: Float64Array, m: number, n: number, r: number): number {
  const wh = matMul(w, m, r, h, n);
  let s = 0;
  for (let i = 0; i < wh.length; i++) s += (v[i] - wh[i]) ** 2;
  return Math.sqrt(s);
}

/** Factorises V [m, n] (row-major, every value >= 0). */
export function nmf(v: ArrayLike<number>, m: number, n: number, opts: NmfOptions): NmfResult {
  const r = opts.components;
  if (!(Number.isInteger(r) && r >= 1)) throw new RangeError(`components must be a whole number >= 1, got ${r}`);
  if (v.length !== m * n) throw new RangeError(`V has ${v.length} values, not ${m} x ${n}`);
  let mean = 0;
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    if (!(v[i] >= 0)) throw new RangeError(`V must be non-negative: value ${v[i]} at ${i}`);
    mean += v[i];
    norm += v[i] * v[i];
  }
  mean /= v.length;
  norm = Math.sqrt(norm);
  const rand = mulberry32(opts.seed ?? 0);
  const scale = 2 * Math.sqrt(mean / r);
  const w = new Float64Array(m * r).map(() => scale * rand());
  const h = new Float64Array(r * n).map(() => scale * rand());
  if (norm === 0) return { w: w.fill(0), h: h.fill(0), relativeError: 0, iterations: 0 };
  const vv = Float64Array.from(v);
  const maxIterations = opts.maxIterations ?? 400;
  const tolerance = opts.tolerance ?? 1e-5;
  let previous = residual(vv, w, h, m, n, r) / norm;
  let iterations = 0;
  for (let it = 1; it <= maxIterations; it++) {
    iterations = it;
    // H <- H * (W^T V) / (W^T W H)
    const wt = transpose(w, m, r);
    const wtv = matMul(wt, r, m, vv, n);
    const wtw = matMul(wt, r, m, w, r);
    const wtwh = matMul(wtw, r, r, h, n);
    for (let i = 0; i < h.length; i++) h[i] *= wtv[i] / (wtwh[i] + EPS);
    // W <- W * (V H^T) / (W H H^T), as W^T <- W^T * (H V^T) / (H H^T W^T)
    const ht = transpose(h, r, n);
    const vht = matMul(vv, m, n, ht, r);
    const hht = matMul(h, r, n, ht, r);
    const whht = matMul(w, m, r, hht, r);
    for (let i = 0; i < w.length; i++) w[i] *= vht[i] / (whht[i] + EPS);
    if (it % 10 === 0) {
      const err = residual(vv, w, h, m, n, r) / norm;
      if (previous - err < tolerance * Math.max(previous, EPS)) {
        previous = err;
        break;
      }
      previous = err;
    }
  }
  return { w, h, relativeError: residual(vv, w, h, m, n, r) / norm, iterations };
}
