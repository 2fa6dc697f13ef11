/**
 * The numbers `tfjs-cam diff` gives for two maps of the same class on the same image, once both are on the image's
 * grid (see grid.ts): Pearson correlation, IoU of the two maps' top-20% regions, and the shift of the peak. Pure
 * functions on plain arrays, no Node module and no tfjs: the same numbers wherever they are computed.
 */

/** The share of a map's pixels that make its top region (the same 20% as topMassShare in pipeline/maps.ts). */
export const TOP_REGION_FRACTION = 0.2;

/**
 * Pearson's correlation of two maps of the same size, summed in float64. Maps that are equal value for value give
 * exactly 1 (the same model twice, a copy). A map without variance (flat: every value the same) has no correlation
 * with anything; by convention two such maps agree (1: neither says anything, and they say it alike) and one
 * against a map with contrast gives 0.
 */
export function pearson(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  if (n !== b.length) throw new RangeError(`maps of different sizes: ${a.length} and ${b.length} values`);
  if (n === 0) throw new RangeError('empty maps');
  let same = true;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    sa += a[i];
    sb += b[i];
    if (a[i] !== b[i]) same = false;
  }
  if (same) return 1;
  const ma = sa / n;
  const mb = sb / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 && sbb === 0) return 1;
  if (saa === 0 || sbb === 0) return 0;
  // Rounding can carry |r| a hair past 1.
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/**
 * The map's top region: its round(fraction x size) highest pixels (at least one), as a 0/1 mask. Equal values at
 * the threshold go to the lower index first, so the region is the same on every run and platform, and two equal
 * maps have the same region.
 */
export function topRegion(map: Float32Array, fraction = TOP_REGION_FRACTION): Uint8Array {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`fraction must be in (0, 1], got ${fraction}`);
  const n = map.length;
  const want = Math.min(n, Math.max(1, Math.round(n * fraction)));
  // The want-th highest value (NaN-free maps: normalised maps are).
  const sorted = map.slice().sort();
  const threshold = sorted[n - want];
  const mask = new Uint8Array(n);
  let taken = 0;
  for (let i = 0; i < n; i++) {
    if (map[i] > threshold) {
      mask[i] = 1;
      taken++;
    }
  }
  for (let i = 0; i < n && taken < want; i++) {
    if (map[i] === threshold) {
      mask[i] = 1;
      taken++;
    }
  }
  return mask;
}

/** Intersection over union of two 0/1 masks of the same size (1 when both are empty). */
export function maskIou(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`masks of different sizes: ${a.length} and ${b.length} values`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return union === 0 ? 1 : inter / union;
}

/** IoU of the two maps' top regions (their 20% highest pixels each). */
export function topRegionIou(a: Float32Array, b: Float32Array, fraction = TOP_REGION_FRACTION): number {
  return maskIou(topRegion(a, fraction), topRegion(b, fraction));
}

export interface PeakShift {
  /** Distance between the two peaks in the image's pixels. */
  px: number;
  /** The same as a share of the image's diagonal (0 = same place, 1 = opposite corners). */
  share: number;
}

/** How far the head's peak lies from the base's, both in the image's pixel coordinates. */
export function peakShift(base: { x: number; y: number }, head: { x: number; y: number }, width: number, height: number): PeakShift {
  const px = Math.hypot(head.x - base.x, head.y - base.y);
  return { px, share: px / Math.hypot(width, height) };
}

/** The per-pixel difference head - base, in [-1, 1] for maps in [0, 1] (what the difference overlay shows). */
export function mapDifference(base: Float32Array, head: Float32Array): Float32Array {
  if (base.length !== head.length) throw new RangeError(`maps of different sizes: ${base.length} and ${head.length} values`);
  const d = new Float32Array(base.length);
  for (let i = 0; i < d.length; i++) d[i] = head[i] - base[i];
  return d;
}
