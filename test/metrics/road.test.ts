// ROAD's noisy linear imputation against hand-computed cases and a dense direct solve, and its curves on a
// model whose output is a known function of the pixels (the mean of a band of columns).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { imageRoad, imputeLinear, roadCombined, ROAD_FRACTIONS, ROAD_NEIGHBOURS, seededNormal } from '../../src/metrics/road';

beforeAll(async () => {
  await initBackend('cpu');
});

const grid = (rows: number[][]) => Float32Array.from(rows.flat());

test('3x3, the centre removed: the weighted mean of its neighbours (1/6 direct, 1/12 diagonal)', () => {
  const img = grid([
    [1, 2, 3],
    [4, 100, 6],
    [7, 8, 9],
  ]);
  const removed = Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]);
  const r = imputeLinear(img, 3, 3, 1, removed);
  // corners (1 + 3 + 7 + 9) / 12 + edges (2 + 4 + 6 + 8) / 6 = 20/12 + 20/6 = 5
  expect(r.values[4]).toBeCloseTo(5, 5);
  expect(r.unknowns).toBe(1);
  // kept pixels are untouched
  expect(Array.from(r.values).filter((_, i) => i !== 4)).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
});

test('3x3, a corner removed: its 3 neighbours, the weights renormalised (the image edge has none)', () => {
  const img = grid([
    [50, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ]);
  const removed = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]);
  // (2/6 + 4/6 + 5/12) / (1/6 + 1/6 + 1/12) = (17/12) / (5/12) = 3.4
  expect(imputeLinear(img, 3, 3, 1, removed).values[0]).toBeCloseTo(3.4, 5);
});

test('two neighbouring removed pixels are solved jointly (a 2x2 system, by hand)', () => {
  // a at (1,1), b at (1,2) of a 3x3 with values v
  const v = [
    [1, 2, 3],
    [4, 0, 0],
    [7, 8, 9],
  ];
  const removed = Uint8Array.from([0, 0, 0, 0, 1, 1, 0, 0, 0]);
  // a: a = (v00 + v02 + v20 + v22)/12 + (v01 + v10 + v21)/6 + b/6   (all 8 neighbours inside)
  // b: (2/3) b = (v01 + v21)/12 + (v02 + v22)/6 + a/6                 (5 neighbours inside, weights sum 2/3)
  const ca = (1 + 3 + 7 + 9) / 12 + (2 + 4 + 8) / 6; // a - b/6 = ca
  const cb = (2 + 8) / 12 + (3 + 9) / 6; // -a/6 + (2/3) b = cb
  const det = 1 * (2 / 3) - (-1 / 6) * (-1 / 6);
  const a = (ca * (2 / 3) + (1 / 6) * cb) / det;
  const b = (1 * cb + (1 / 6) * ca) / det;
  const r = imputeLinear(grid(v), 3, 3, 1, removed).values;
  expect(r[4]).toBeCloseTo(a, 5);
  expect(r[5]).toBeCloseTo(b, 5);
});

/** The system solved densely by Gaussian elimination with partial pivoting: a second implementation. */
function denseImpute(img: Float32Array, h: number, w: number, ch: number, removed: Uint8Array): Float64Array {
  const idx: number[] = [];
  const of = new Map<number, number>();
  removed.forEach((r, p) => r && (of.set(p, idx.length), idx.push(p)));
  const m = idx.length;
  const out = Float64Array.from(img);
  for (let c = 0; c < ch; c++) {
    const A = Array.from({ length: m }, () => new Float64Array(m + 1));
    idx.forEach((p, i) => {
      const y = Math.floor(p / w);
      const x = p % w;
      for (const [dy, dx, wt] of ROAD_NEIGHBOURS) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue;
        A[i][i] += wt;
        const q = yy * w + xx;
        if (of.has(q)) A[i][of.get(q)!] -= wt;
        else A[i][m] += wt * img[q * ch + c];
      }
    });
    for (let col = 0; col < m; col++) {
      let piv = col;
      for (let r = col + 1; r < m; r++) if (Math.abs(A[r][col]) > Math.abs(A[piv][col])) piv = r;
      [A[col], A[piv]] = [A[piv], A[col]];
      for (let r = col + 1; r < m; r++) {
        const f = A[r][col] / A[col][col];
        if (f) for (let k = col; k <= m; k++) A[r][k] -= f * A[col][k];
      }
    }
    const sol = new Float64Array(m);
    for (let r = m - 1; r >= 0; r--) {
      let s = A[r][m];
      for (let k = r + 1; k < m; k++) s -= A[r][k] * sol[k];
      sol[r] = s / A[r][r];
    }
    idx.forEach((p, i) => (out[p * ch + c] = sol[i]));
  }
  return out;
}

test('the multigrid-preconditioned solver agrees with a dense direct solve (blob and scattered masks, 2 channels)', () => {
  const rnd = seededNormal(3);
  const h = 30;
  const w = 28;
  const img = Float32Array.from({ length: h * w * 2 }, () => rnd());
  // a blob of 80% (coarsened twice before the direct level) and a scattered 40% mask
  const blob = new Uint8Array(h * w);
  const byDistance = Array.from({ length: h * w }, (_, p) => p).sort((a, b) => Math.hypot(Math.floor(a / w) - 12, (a % w) - 16) - Math.hypot(Math.floor(b / w) - 12, (b % w) - 16));
  byDistance.slice(0, Math.round(0.8 * h * w)).forEach((p) => (blob[p] = 1));
  const scattered = Uint8Array.from({ length: h * w }, () => (rnd() > 0.25 ? 1 : 0));
  for (const removed of [blob, scattered]) {
    const want = denseImpute(img, h, w, 2, removed);
    const got = imputeLinear(img, h, w, 2, removed, { tolerance: 1e-9 });
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(want[i] - got.values[i]));
    expect(err).toBeLessThan(1e-5);
    // h-independent convergence: a couple of dozen iterations, not hundreds
    expect(got.iterations).toBeLessThan(40);
  }
});

test('noise: only on removed pixels, seeded, zero-mean with the asked sigma', () => {
  const h = 64;
  const w = 64;
  const img = new Float32Array(h * w).fill(0.25); // a constant image imputes to the constant exactly
  const removed = Uint8Array.from({ length: h * w }, (_, p) => (p % w < 40 ? 1 : 0));
  const a = imputeLinear(img, h, w, 1, removed, { noise: 0.1, seed: 7 }).values;
  const b = imputeLinear(img, h, w, 1, removed, { noise: 0.1, seed: 7 }).values;
  const c = imputeLinear(img, h, w, 1, removed, { noise: 0.1, seed: 8 }).values;
  expect(Array.from(a)).toEqual(Array.from(b));
  expect(Array.from(a)).not.toEqual(Array.from(c));
  const noise = Array.from(a).filter((_, p) => removed[p]).map((v) => v - 0.25);
  expect(Array.from(a).filter((_, p) => !removed[p]).every((v) => v === 0.25)).toBe(true);
  const mu = noise.reduce((s, v) => s + v, 0) / noise.length;
  const sd = Math.sqrt(noise.reduce((s, v) => s + (v - mu) ** 2, 0) / noise.length);
  // 2560 samples: the mean within ~4 standard errors (0.1 / sqrt(2560) = 0.002), sigma within 5%
  expect(Math.abs(mu)).toBeLessThan(0.008);
  expect(sd).toBeGreaterThan(0.095);
  expect(sd).toBeLessThan(0.105);
  expect(() => imputeLinear(img, h, w, 1, new Uint8Array(h * w).fill(1))).toThrow(/every pixel is removed/);
});

/**
 * An image constant down each column: removing whole columns, the solution is constant down each column too and
 * is 1-D linear interpolation between the nearest kept columns (constant beyond the last kept one at an edge),
 * which is checked on every row equation (interior and border rows: both reduce to x_j = (x_{j-1} + x_{j+1}) / 2).
 */
function columnsImputed(cols: number[], removedCols: Set<number>): number[] {
  const out = [...cols];
  for (let j = 0; j < cols.length; j++) {
    if (!removedCols.has(j)) continue;
    let l = j - 1;
    while (l >= 0 && removedCols.has(l)) l--;
    let r = j + 1;
    while (r < cols.length && removedCols.has(r)) r++;
    if (l < 0) out[j] = cols[r];
    else if (r >= cols.length) out[j] = cols[l];
    else out[j] = cols[l] + ((cols[r] - cols[l]) * (j - l)) / (r - l);
  }
  return out;
}

test('ROAD curves on a model computing the mean of columns 3..6, removing whole columns', () => {
  const H = 8;
  const W = 10;
  const cols = Array.from({ length: W }, (_, j) => (j * j) / 81); // not linear: imputation changes the values
  const img = tf.tensor4d(Array.from({ length: H * W }, (_, p) => cols[p % W]), [1, H, W, 1]);
  // the model: crop to columns 3..6, average
  const model = tf.sequential({ layers: [tf.layers.cropping2D({ cropping: [[0, 0], [3, 3]], inputShape: [H, W, 1] }), tf.layers.globalAveragePooling2d({})] });
  const probability = (xs: tf.Tensor4D) => (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
  // Column relevance order (most relevant first): 4, 6, 0, 8, 5, 2, 9, 1, 7, 3; the map is constant down a column.
  const order = [4, 6, 0, 8, 5, 2, 9, 1, 7, 3];
  const colValue = new Array(W);
  order.forEach((j, r) => (colValue[j] = W - r));
  const map = Float32Array.from({ length: H * W }, (_, p) => colValue[p % W]);
  const [r] = imageRoad(img, [map], probability, { noise: 0 });
  const mean36 = (v: number[]) => (v[3] + v[4] + v[5] + v[6]) / 4;
  // f = 10% .. 90% of 80 pixels = 1 .. 9 whole columns
  const morf = ROAD_FRACTIONS.map((_, i) => mean36(columnsImputed(cols, new Set(order.slice(0, i + 1)))));
  const lerf = ROAD_FRACTIONS.map((_, i) => mean36(columnsImputed(cols, new Set(order.slice(W - 1 - i)))));
  r.morf.forEach((v, i) => expect(v).toBeCloseTo(morf[i], 5));
  r.lerf.forEach((v, i) => expect(v).toBeCloseTo(lerf[i], 5));
  // by hand, MoRF 10% (column 4 removed: (9 + 25) / 2 / 81 = 17/81 instead of 16/81):
  expect(r.morf[0]).toBeCloseTo((9 + 17 + 25 + 36) / 4 / 81, 5);
  expect(roadCombined(r)).toBeCloseTo((lerf.reduce((a, b) => a + b) - morf.reduce((a, b) => a + b)) / 9 / 2, 5);
  // with noise, deterministic per seed, and the noise is sigma = 1% of the image's range (here 1): small
  const n1 = imageRoad(img, [map], probability, { seed: 4 })[0];
  const n2 = imageRoad(img, [map], probability, { seed: 4 })[0];
  expect(n1).toEqual(n2);
  n1.morf.forEach((v, i) => expect(Math.abs(v - morf[i])).toBeLessThan(0.01));
  tf.dispose([img]);
  model.dispose();
});
