/**
 * The first kernel-PCA component of a set of samples, as scikit-learn's KernelPCA(n_components=1) computes it
 * (which pytorch-grad-cam's KPCA-CAM calls): the n x n kernel matrix of the samples, double-centred
 * (Kc = K - 1K - K1 + 1K1, 1 the n x n matrix of 1/n), its eigenvector v of largest (algebraic) eigenvalue
 * lambda, and the projections sqrt(lambda) v. Sign: scikit-learn's rule (svd_flip), the entry of v with the
 * largest magnitude is positive (the first such entry on a tie). Everything in double precision.
 *
 * Kernels, with scikit-learn's defaults (gamma = 1 / features, coef0 = 1, degree = 3):
 *   sigmoid tanh(gamma <x, y> + 1), rbf exp(-gamma |x - y|^2), poly (gamma <x, y> + 1)^3, cosine <x, y> / (|x| |y|).
 *
 * The eigenvector comes from Lanczos iterations with full reorthogonalisation, restarted from the Ritz vector:
 * O(n^2) per step, a few dozen steps, instead of a full O(n^3) eigendecomposition.
 */
import type { KpcaKernel } from './types';

/** The kernel matrix [n * n] of x [n, d] (row-major). */
export function kernelMatrix(x: Float64Array, n: number, d: number, kernel: KpcaKernel, gamma: number): Float64Array {
  const dot = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    const ra = a * d;
    for (let b = a; b < n; b++) {
      const rb = b * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += x[ra + j] * x[rb + j];
      dot[a * n + b] = s;
      dot[b * n + a] = s;
    }
  }
  const k = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const v = dot[a * n + b];
      let out: number;
      if (kernel === 'sigmoid') out = Math.tanh(gamma * v + 1);
      else if (kernel === 'poly') out = (gamma * v + 1) ** 3;
      else if (kernel === 'rbf') out = Math.exp(-gamma * Math.max(0, dot[a * n + a] + dot[b * n + b] - 2 * v));
      else {
        // cosine: a zero row has similarity 0 with everything (scikit-learn normalises it to zero)
        const norm = Math.sqrt(dot[a * n + a] * dot[b * n + b]);
        out = norm > 0 ? v / norm : 0;
      }
      k[a * n + b] = out;
    }
  }
  return k;
}

/** Double-centres a symmetric n x n matrix in place: K - 1K - K1 + 1K1. */
export function doubleCentre(k: Float64Array, n: number): Float64Array {
  const rowMean = new Float64Array(n);
  let all = 0;
  for (let a = 0; a < n; a++) {
    let s = 0;
    for (let b = 0; b < n; b++) s += k[a * n + b];
    rowMean[a] = s / n;
    all += s;
  }
  all /= n * n;
  // symmetric: column means are the row means
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) k[a * n + b] += all - rowMean[a] - rowMean[b];
  return k;
}

/** Eigenvalues and eigenvectors (columns of v, row-major m x m) of a small symmetric matrix, by cyclic Jacobi rotations. */
function jacobiEigen(t: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(t);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < m; p++) {
      diag += a[p * m + p] ** 2;
      for (let q = p + 1; q < m; q++) off += a[p * m + q] ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q];
        if (apq === 0) continue;
        const theta = (a[q * m + q] - a[p * m + p]) / (2 * apq);
        const t1 = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t1 * t1 + 1);
        const s = t1 * c;
        for (let r = 0; r < m; r++) {
          const arp = a[r * m + p];
          const arq = a[r * m + q];
          a[r * m + p] = c * arp - s * arq;
          a[r * m + q] = s * arp + c * arq;
        }
        for (let r = 0; r < m; r++) {
          const apr = a[p * m + r];
          const aqr = a[q * m + r];
          a[p * m + r] = c * apr - s * aqr;
          a[q * m + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < m; r++) {
          const vrp = v[r * m + p];
          const vrq = v[r * m + q];
          v[r * m + p] = c * vrp - s * vrq;
          v[r * m + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) values[i] = a[i * m + i];
  return { values, vectors: v };
}

function matVec(k: Float64Array, n: number, x: Float64Array, out: Float64Array): void {
  for (let a = 0; a < n; a++) {
    let s = 0;
    const row = a * n;
    for (let b = 0; b < n; b++) s += k[row + b] * x[b];
    out[a] = s;
  }
}

/**
 * The eigenpair of largest algebraic eigenvalue of a symmetric n x n matrix: Lanczos with full
 * reorthogonalisation (at most `steps` vectors), restarted from the Ritz vector until its residual is tiny.
 * Deterministic start, so the same matrix gives the same vector to the bit.
 */
export function topEigenpair(k: Float64Array, n: number, steps = 48): { value: number; vector: Float64Array } {
  let start = new Float64Array(n);
  for (let i = 0; i < n; i++) start[i] = 1 + ((i * 7919) % 13) / 13;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(k[i]));
  let best = { value: 0, vector: new Float64Array(n) };
  for (let restart = 0; restart < 30; restart++) {
    const m = Math.min(n, steps);
    const q: Float64Array[] = [];
    const alpha: number[] = [];
    const beta: number[] = [];
    let norm = Math.hypot(...start);
    if (!(norm > 0)) return best;
    q.push(start.map((x) => x / norm));
    const w = new Float64Array(n);
    let lastBeta = 0;
    for (let j = 0; j < m; j++) {
      matVec(k, n, q[j], w);
      let aj = 0;
      for (let i = 0; i < n; i++) aj += q[j][i] * w[i];
      alpha.push(aj);
      // full reorthogonalisation, twice (Kahan's "twice is enough")
      for (let pass = 0; pass < 2; pass++) {
        for (const qi of q) {
          let d = 0;
          for (let i = 0; i < n; i++) d += qi[i] * w[i];
          for (let i = 0; i < n; i++) w[i] -= d * qi[i];
        }
      }
      norm = 0;
      for (let i = 0; i < n; i++) norm += w[i] * w[i];
      norm = Math.sqrt(norm);
      lastBeta = norm;
      if (j === m - 1 || norm <= 1e-13 * Math.max(scale, 1e-300) * n) break;
      beta.push(norm);
      q.push(w.map((x) => x / norm));
    }
    const size = alpha.length;
    const t = new Float64Array(size * size);
    for (let i = 0; i < size; i++) {
      t[i * size + i] = alpha[i];
      if (i + 1 < size) t[i * size + i + 1] = t[(i + 1) * size + i] = beta[i];
    }
    const { values, vectors } = jacobiEigen(t, size);
    let top = 0;
    for (let i = 1; i < size; i++) if (values[i] > values[top]) top = i;
    const ritz = new Float64Array(n);
    for (let j = 0; j < size; j++) {
      const y = vectors[j * size + top];
      for (let i = 0; i < n; i++) ritz[i] += y * q[j][i];
    }
    best = { value: values[top], vector: ritz };
    // residual |K x - theta x| = |beta_m y_m|; exact when the Krylov space is invariant
    const residual = Math.abs(lastBeta * vectors[(size - 1) * size + top]);
    if (size < m || size === n || residual <= 1e-11 * Math.max(scale * n, 1e-300)) break;
    start = ritz;
  }
  return best;
}

/**
 * Projections [n] of the samples x [n, d] on their first kernel principal component (after centring each feature,
 * as pytorch-grad-cam does before calling KernelPCA). gamma defaults to 1 / d. A top eigenvalue <= 0 (possible
 * with the sigmoid kernel, which is not positive definite) gives all zeros, as scikit-learn clips it to 0.
 */
export function kernelPcaProjection(x: Float64Array, n: number, d: number, kernel: KpcaKernel, gamma = 1 / d): Float64Array {
  const c = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i * d + j];
    mean /= n;
    for (let i = 0; i < n; i++) c[i * d + j] = x[i * d + j] - mean;
  }
  const k = doubleCentre(kernelMatrix(c, n, d, kernel, gamma), n);
  const { value, vector } = topEigenpair(k, n);
  const out = new Float64Array(n);
  if (!(value > 0)) return out;
  let at = 0;
  for (let i = 1; i < n; i++) if (Math.abs(vector[i]) > Math.abs(vector[at])) at = i;
  let norm = 0;
  for (const v of vector) norm += v * v;
  const f = (vector[at] < 0 ? -1 : 1) * Math.sqrt(value / norm);
  for (let i = 0; i < n; i++) out[i] = vector[i] * f;
  return out;
}
