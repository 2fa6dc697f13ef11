// Plain double-precision implementations of pytorch-grad-cam's newer activation-only methods, written from their
// definitions (fem.py; kpca_cam.py calling scikit-learn's KernelPCA), separately from src/: the tests' references.

const relu = (v: number) => Math.max(0, v);

/** Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations, in double precision. */
function jacobi(m: Float64Array, n: number): { values: number[]; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-26) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: [...Array(n)].map((_, i) => a[i * n + i]), vectors: v };
}

/**
 * scikit-learn's KernelPCA(n_components=1).fit_transform on the channel-centred positions, written out: kernel
 * matrix, double centring, full eigendecomposition, largest eigenvalue, svd_flip's sign, sqrt(lambda) v; then ReLU.
 */
export function kpcaReference(A: Float64Array, n: number, d: number, kernel: string, gamma = 1 / d): number[] {
  const X = new Float64Array(n * d);
  for (let k = 0; k < d; k++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += A[i * d + k] / n;
    for (let i = 0; i < n; i++) X[i * d + k] = A[i * d + k] - m;
  }
  const dot = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += X[i * d + k] * X[j * d + k];
    return s;
  };
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const xy = dot(i, j);
      K[i * n + j] =
        kernel === 'sigmoid' ? Math.tanh(gamma * xy + 1)
        : kernel === 'poly' ? (gamma * xy + 1) ** 3
        : kernel === 'rbf' ? Math.exp(-gamma * [...Array(d)].reduce((s, _, k) => s + (X[i * d + k] - X[j * d + k]) ** 2, 0))
        : xy / Math.sqrt(dot(i, i) * dot(j, j));
    }
  }
  const rowMean = [...Array(n)].map((_, i) => [...Array(n)].reduce((s, _, j) => s + K[i * n + j], 0) / n);
  const all = rowMean.reduce((a, b) => a + b, 0) / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = K[i * n + j] - rowMean[i] - rowMean[j] + all;
  const { values, vectors } = jacobi(K, n);
  let top = 0;
  values.forEach((v, i) => (v > values[top] ? (top = i) : 0));
  const v = [...Array(n)].map((_, i) => vectors[i * n + top]);
  let big = 0;
  v.forEach((x, i) => (Math.abs(x) > Math.abs(v[big]) ? (big = i) : 0));
  const sign = v[big] < 0 ? -1 : 1;
  return v.map((x) => relu(sign * x * Math.sqrt(Math.max(0, values[top]))));
}

/** FEM as pytorch-grad-cam's fem.py: share of positions above mean + k std per channel, then ReLU of the weighted sum. */
export function femReference(A: Float64Array, n: number, d: number, k: number): number[] {
  const w = [...Array(d)].map((_, c) => {
    let m = 0;
    for (let i = 0; i < n; i++) m += A[i * d + c] / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (A[i * d + c] - m) ** 2 / n;
    const th = m + k * Math.sqrt(v);
    let count = 0;
    for (let i = 0; i < n; i++) if (A[i * d + c] > th) count++;
    return count / n;
  });
  return [...Array(n)].map((_, i) => relu(w.reduce((s, wk, c) => s + wk * A[i * d + c], 0)));
}

