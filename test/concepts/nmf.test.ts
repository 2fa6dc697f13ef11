// NMF by multiplicative updates: a factorisation planted by hand is found again (up to the order and scale of the
// components), the error never grows, and a seed fixes the result.
import { nmf } from '../../src/concepts/nmf';
import { mulberry32 } from '../../src/util/random';

/** V = W H with W [6, 3] written out and a sparse random H [3, 60] (half its entries zero: a unique factorisation). */
function planted() {
  const m = 6, r = 3, n = 60;
  const w = [2, 0, 0, 1, 0, 0.2, 0, 3, 0, 0, 1, 0, 0.1, 0, 1, 0, 0, 2];
  const rand = mulberry32(99);
  const h = Array.from({ length: r * n }, () => (rand() < 0.5 ? 0 : 0.2 + rand()));
  const v = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) v[i * n + j] += w[i * r + k] * h[k * n + j];
  return { m, r, n, w, h, v };
}

const column = (a: ArrayLike<number>, rows: number, cols: number, j: number) => Array.from({ length: rows }, (_, i) => a[i * cols + j]);
const row = (a: ArrayLike<number>, cols: number, i: number) => Array.from({ length: cols }, (_, j) => a[i * cols + j]);
const cos = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0) / Math.hypot(...a) / Math.hypot(...b);

test('a planted W H is recovered up to permutation and scale', () => {
  const p = planted();
  const f = nmf(p.v, p.m, p.n, { components: p.r, seed: 3, maxIterations: 20000, tolerance: 1e-12 });
  expect(f.relativeError).toBeLessThan(1e-3);
  // Match each planted component to the found one whose W column points the same way.
  const used = new Set<number>();
  for (let k = 0; k < p.r; k++) {
    const want = column(p.w, p.m, p.r, k);
    const scores = [0, 1, 2].map((j) => cos(want, column(f.w, p.m, p.r, j)));
    const j = scores.indexOf(Math.max(...scores));
    used.add(j);
    expect(scores[j]).toBeGreaterThan(0.999);
    expect(cos(row(p.h, p.n, k), row(f.h, p.n, j))).toBeGreaterThan(0.999);
  }
  expect(used.size).toBe(3);
  for (const x of [...f.w, ...f.h]) expect(x).toBeGreaterThanOrEqual(0);
});

test('the error never grows with more rounds; the same seed gives the same factorisation, another seed another start', () => {
  const p = planted();
  const errors = [1, 5, 20, 80, 320].map((it) => nmf(p.v, p.m, p.n, { components: 3, seed: 1, maxIterations: it, tolerance: 0 }).relativeError);
  for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeLessThanOrEqual(errors[i - 1] + 1e-12);
  expect(errors[4]).toBeLessThan(errors[0] / 5);
  const a = nmf(p.v, p.m, p.n, { components: 3, seed: 7, maxIterations: 50 });
  const b = nmf(p.v, p.m, p.n, { components: 3, seed: 7, maxIterations: 50 });
  const c = nmf(p.v, p.m, p.n, { components: 3, seed: 8, maxIterations: 50 });
  expect(Array.from(b.w)).toEqual(Array.from(a.w));
  expect(Array.from(b.h)).toEqual(Array.from(a.h));
  expect(Array.from(c.w)).not.toEqual(Array.from(a.w));
});

test('bad input is refused; an all-zero V factorises to zeros', () => {
  expect(() => nmf([1, -1], 1, 2, { components: 1 })).toThrow('V must be non-negative: value -1 at 1');
  expect(() => nmf([1, 2], 1, 2, { components: 0 })).toThrow('components must be a whole number >= 1, got 0');
  expect(() => nmf([1, 2, 3], 1, 2, { components: 1 })).toThrow('V has 3 values, not 1 x 2');
  const z = nmf([0, 0, 0, 0], 2, 2, { components: 1 });
  expect(Array.from(z.w)).toEqual([0, 0]);
  expect(z.relativeError).toBe(0);
});
