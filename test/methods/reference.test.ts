// Every gradient and activation method against a plain double-precision implementation written here,
// separately from src/ (plain arrays, a Jacobi eigen-solver for the principal component), on random tensors.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { DEFAULT_METHOD_OPTIONS, getMethod, MethodInputs } from '../../src/methods';
import { femReference, kpcaReference } from '../helpers/cam-references';

const H = 3, W = 4, K = 5, KC = 2; // h, w, channels, classes
type Grid = number[][][]; // [h][w][K]

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const r = rand(42);
const A: Grid = [...Array(H)].map(() => [...Array(W)].map(() => [...Array(K)].map(() => Math.max(0, r() * 2 - 0.4))));
const G: Grid[] = [...Array(KC)].map(() => [...Array(H)].map(() => [...Array(W)].map(() => [...Array(K)].map(() => r() * 2 - 0.7))));

const relu = (v: number) => Math.max(0, v);
const cells = (f: (i: number, j: number) => number) => [...Array(H)].map((_, i) => [...Array(W)].map((_, j) => f(i, j))).flat();
const sumIJ = (f: (i: number, j: number) => number) => cells(f).reduce((a, b) => a + b, 0);
const channelWeighted = (w: number[]) => cells((i, j) => relu(w.reduce((s, wk, k) => s + wk * A[i][j][k], 0)));

/** Top eigenvector of a symmetric matrix by cyclic Jacobi rotations (independent of the power iteration in src). */
function jacobiTop(m: number[][]): number[] {
  const n = m.length;
  const a = m.map((row) => row.slice());
  const v: number[][] = [...Array(n)].map((_, i) => [...Array(n)].map((_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (a[i][i] > a[best][best]) best = i;
  return v.map((row) => row[best]);
}

/** Eigen-CAM reference: centre channels, project on the top eigenvector of the covariance, orient by the mean. */
function eigenRef(X: Grid): number[] {
  const rows = cells((i, j) => 0).map((_, n) => X[Math.floor(n / W)][n % W]);
  const means = [...Array(K)].map((_, k) => rows.reduce((s, row) => s + row[k], 0) / rows.length);
  const c = rows.map((row) => row.map((v, k) => v - means[k]));
  const cov = [...Array(K)].map((_, a) => [...Array(K)].map((_, b) => c.reduce((s, row) => s + row[a] * row[b], 0)));
  const v1 = jacobiTop(cov);
  let proj = c.map((row) => row.reduce((s, x, k) => s + x * v1[k], 0));
  const m = rows.map((row) => row.reduce((a, b) => a + b, 0) / K);
  const mBar = m.reduce((a, b) => a + b, 0) / m.length;
  if (proj.reduce((s, p, i) => s + p * (m[i] - mBar), 0) < 0) proj = proj.map((p) => -p);
  return proj.map(relu);
}

const references: Record<string, (c: number) => number[]> = {
  gradcam: (c) => channelWeighted([...Array(K)].map((_, k) => sumIJ((i, j) => G[c][i][j][k]) / (H * W))),
  'gradcam++': (c) =>
    channelWeighted(
      [...Array(K)].map((_, k) => {
        const S = sumIJ((i, j) => A[i][j][k]);
        return sumIJ((i, j) => {
          const g = G[c][i][j][k];
          const alpha = g === 0 ? 0 : g ** 2 / (2 * g ** 2 + S * g ** 3 + 1e-6);
          return relu(g) * alpha;
        });
      }),
    ),
  xgradcam: (c) => channelWeighted([...Array(K)].map((_, k) => sumIJ((i, j) => G[c][i][j][k] * A[i][j][k]) / (sumIJ((i, j) => A[i][j][k]) + 1e-7))),
  hirescam: (c) => cells((i, j) => relu(A[i][j].reduce((s, a, k) => s + G[c][i][j][k] * a, 0))),
  'gradcam-elementwise': (c) => cells((i, j) => relu(A[i][j].reduce((s, a, k) => s + relu(G[c][i][j][k] * a), 0))),
  layercam: (c) => cells((i, j) => relu(A[i][j].reduce((s, a, k) => s + relu(G[c][i][j][k]) * a, 0))),
  eigencam: () => eigenRef(A),
  eigengradcam: (c) => eigenRef(A.map((row, i) => row.map((ch, j) => ch.map((a, k) => a * G[c][i][j][k])))),
  // pytorch-grad-cam's later methods (test/helpers/cam-references.ts; more in newer-methods.test.ts)
  fem: () => femReference(Float64Array.from(A.flat(2)), H * W, K, DEFAULT_METHOD_OPTIONS.femK),
  'kpca-cam': () => kpcaReference(Float64Array.from(A.flat(2)), H * W, K, DEFAULT_METHOD_OPTIONS.kpcaKernel),
};

beforeAll(async () => {
  await initBackend('wasm');
});

test.each(Object.keys(references))('%s matches the double-precision reference for two classes', (name) => {
  const inputs: MethodInputs = {
    activations: tf.tensor4d(A.flat(2), [1, H, W, K]),
    gradients: tf.tensor4d(G.flat(3), [KC, H, W, K]),
    classes: [0, 1],
    options: DEFAULT_METHOD_OPTIONS,
  };
  const out = tf.tidy(() => getMethod(name).compute(inputs));
  expect(out.shape).toEqual([KC, H, W]);
  const got = out.dataSync();
  out.dispose();
  for (let c = 0; c < KC; c++) {
    const want = references[name](c);
    const scale = Math.max(...want.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3); // a non-trivial map
    want.forEach((v, i) => expect(Math.abs(got[c * H * W + i] - v)).toBeLessThan(1e-4 * Math.max(1, scale)));
  }
});

test('eigen smoothing of Grad-CAM is the principal component of w_k A_k', () => {
  const inputs: MethodInputs = {
    activations: tf.tensor4d(A.flat(2), [1, H, W, K]),
    gradients: tf.tensor4d(G.flat(3), [KC, H, W, K]),
    classes: [0, 1],
    options: { ...DEFAULT_METHOD_OPTIONS, eigenSmooth: true },
  };
  const got = tf.tidy(() => getMethod('gradcam').compute(inputs).dataSync());
  for (let c = 0; c < KC; c++) {
    const w = [...Array(K)].map((_, k) => sumIJ((i, j) => G[c][i][j][k]) / (H * W));
    const want = eigenRef(A.map((row) => row.map((ch) => ch.map((a, k) => a * w[k]))));
    want.forEach((v, i) => expect(got[c * H * W + i]).toBeCloseTo(v, 4));
  }
});
