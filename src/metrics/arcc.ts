/**
 * The ARCC family of map metrics (Poppi et al., "Revisiting the Evaluation of Class Activation Mapping for
 * Explainability", 2021; pytorch-grad-cam's metrics/arcc.py): how simple a map is (Complexity), whether the method
 * gives the same map again when shown only what the map keeps (Coherency), and one number that asks for both and
 * for faithfulness: ADCC (with Average Drop) and, where ROAD was measured, ARCC (with ROAD). Pure functions over
 * maps already normalised to [0, 1] at the model's input resolution; the re-explanation that Coherency needs is
 * the caller's (pipeline/evaluate.ts).
 */

/** pytorch-grad-cam's guard against a zero denominator, kept so that the numbers match its code. */
const EPS = 1e-8;

/** Complexity: the map's L1 norm over its size, 0 (all zeros) .. 1 (all ones). Lower is better. */
export function complexity(map: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < map.length; i++) s += Math.abs(map[i]);
  return map.length ? s / map.length : 0;
}

/**
 * Pearson's correlation of two maps as pytorch-grad-cam computes it: sample covariance over the product of sample
 * standard deviations plus 1e-8 (so a constant map gives 0, not NaN). Sums in double precision.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new RangeError(`maps differ in size: ${n} and ${b.length} values`);
  if (n < 2) return 0;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let cov = 0, va = 0, vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return cov / (n - 1) / (Math.sqrt(va / (n - 1)) * Math.sqrt(vb / (n - 1)) + EPS);
}

/**
 * Coherency: the correlation between a map and the map the same method gives for the same target on the input
 * multiplied by that map, moved from [-1, 1] to [0, 1] as the reference's code does ((r + 1) / 2). Higher is better.
 */
export function coherency(map: ArrayLike<number>, remapped: ArrayLike<number>): number {
  return (pearson(remapped, map) + 1) / 2;
}

/** Harmonic mean of three scores in [0, 1] where higher is better, each guarded by 1e-8 as in the reference. */
function harmonic3(a: number, b: number, c: number): number {
  return 3 / (1 / (a + EPS) + 1 / (b + EPS) + 1 / (c + EPS));
}

/**
 * ADCC (Poppi et al.): the harmonic mean of Coherency, 1 - Complexity and 1 - Average Drop, Average Drop as a
 * fraction (0..1, not %). Higher is better; one bad component pulls it down.
 */
export function adcc(coherencyScore: number, complexityScore: number, averageDropFraction: number): number {
  return harmonic3(coherencyScore, 1 - complexityScore, 1 - averageDropFraction);
}

/**
 * ARCC (pytorch-grad-cam's metrics/arcc.py): ADCC with ROAD in Average Drop's place. ROADCombined lies in
 * [-0.5, 0.5]; the reference doubles it and clips it to [0, 1] before the harmonic mean, and so does this.
 */
export function arcc(coherencyScore: number, complexityScore: number, roadCombined: number): number {
  return harmonic3(coherencyScore, 1 - complexityScore, Math.min(1, Math.max(0, roadCombined * 2)));
}
