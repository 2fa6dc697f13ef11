/**
 * First principal component of an activation [h, w, K] seen as h*w samples of K features (Eigen-CAM):
 * centre each channel, project onto the first right singular vector. The sign of a principal component is
 * arbitrary; we orient it so the projection correlates positively with the mean activation over channels
 * (the "where is the layer active" map), which makes the map point at what the layer responds to.
 *
 * Computed in double precision: X v1 = s1 u1, and u1 is the top eigenvector of the smaller Gram matrix
 * (X X^T, h*w x h*w, or X^T X when K is smaller), found by power iteration with a deterministic start.
 */
import * as tf from '@tensorflow/tfjs';

function topEigenvector(m: Float64Array, n: number): { vector: Float64Array; value: number } {
  let v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = 1 + ((i * 7919) % 13) / 13; // deterministic, not orthogonal to anything in practice
  let value = 0;
  for (let iter = 0; iter < 1000; iter++) {
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const row = i * n;
      for (let j = 0; j < n; j++) s += m[row + j] * v[j];
      next[i] = s;
    }
    let norm = 0;
    for (const x of next) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm === 0) return { vector: next, value: 0 };
    let diff = 0;
    for (let i = 0; i < n; i++) {
      next[i] /= norm;
      diff += Math.abs(next[i] - v[i]);
    }
    v = next;
    value = norm;
    if (diff < 1e-12 * n) break;
  }
  return { vector: v, value };
}

/** Projection of the centred rows of x [rows, cols] (row-major) onto the first principal axis. */
export function firstComponentProjection(x: Float64Array, rows: number, cols: number): Float64Array {
  const c = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += x[i * cols + j];
    mean /= rows;
    for (let i = 0; i < rows; i++) c[i * cols + j] = x[i * cols + j] - mean;
  }
  const proj = new Float64Array(rows);
  if (rows <= cols) {
    // Gram matrix X X^T: its top eigenvector u1 with eigenvalue s1^2 gives X v1 = s1 u1.
    const g = new Float64Array(rows * rows);
    for (let a = 0; a < rows; a++) {
      for (let b = a; b < rows; b++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += c[a * cols + j] * c[b * cols + j];
        g[a * rows + b] = s;
        g[b * rows + a] = s;
      }
    }
    const { vector, value } = topEigenvector(g, rows);
    const s1 = Math.sqrt(value);
    for (let i = 0; i < rows; i++) proj[i] = s1 * vector[i];
  } else {
    // Covariance X^T X: its top eigenvector is v1; project directly.
    const g = new Float64Array(cols * cols);
    for (let a = 0; a < cols; a++) {
      for (let b = a; b < cols; b++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += c[i * cols + a] * c[i * cols + b];
        g[a * cols + b] = s;
        g[b * cols + a] = s;
      }
    }
    const { vector } = topEigenvector(g, cols);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += c[i * cols + j] * vector[j];
      proj[i] = s;
    }
  }
  return proj;
}

/** Orients the projection to correlate positively with the mean over channels of the (uncentred) data. */
export function orientByMean(proj: Float64Array, x: Float64Array, rows: number, cols: number): Float64Array {
  const mean = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[i * cols + j];
    mean[i] = s / cols;
  }
  let mBar = 0;
  for (const v of mean) mBar += v;
  mBar /= rows;
  let corr = 0;
  for (let i = 0; i < rows; i++) corr += proj[i] * (mean[i] - mBar);
  if (corr < 0) for (let i = 0; i < rows; i++) proj[i] = -proj[i];
  return proj;
}

/** [h, w, K] -> [h, w]: the oriented first-principal-component projection. */
export function principalProjection(a: tf.Tensor3D): tf.Tensor2D {
  const [h, w, K] = a.shape;
  const x = Float64Array.from(a.dataSync());
  const proj = orientByMean(firstComponentProjection(x, h * w, K), x, h * w, K);
  return tf.tensor2d(Float32Array.from(proj), [h, w]);
}
