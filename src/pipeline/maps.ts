/**
 * From raw low-resolution maps to what is shown and measured, following pytorch-grad-cam's conventions
 * (methods.md): normalise, upsample bilinearly (half-pixel centres) to the input size, normalise again;
 * several layers are averaged after per-layer normalisation. Plus the statistics the report gives per map.
 */
import { normalizeMap, resizeMap } from '../render/pixels';

export interface InputMap {
  /** inputHeight * inputWidth values in [0, 1]. */
  map: Float32Array;
  flat: boolean;
}

/**
 * One map at the input resolution from a method's raw maps at one or several target layers: each normalised,
 * resized, normalised again; several layers then averaged ('mean', pytorch-grad-cam's aggregation) or multiplied
 * ('product', RefineCAM's), and normalised once more.
 */
export function toInputResolution(raws: { data: Float32Array; height: number; width: number }[], inputH: number, inputW: number, aggregate: 'mean' | 'product' = 'mean'): InputMap {
  let flat = true;
  const combined = new Float32Array(inputH * inputW);
  if (aggregate === 'product') combined.fill(1);
  for (const r of raws) {
    const low = normalizeMap(r.data);
    const up = normalizeMap(resizeMap(low.map, r.width, r.height, inputW, inputH));
    if (!low.flat && !up.flat) flat = false;
    if (aggregate === 'product') for (let i = 0; i < combined.length; i++) combined[i] *= up.map[i];
    else for (let i = 0; i < combined.length; i++) combined[i] += up.map[i];
  }
  if (raws.length === 1) return { map: combined, flat };
  const again = normalizeMap(combined);
  return { map: again.map, flat: flat || again.flat };
}

/** Position (x, y) of the maximum, in pixel-centre coordinates (column + 0.5, row + 0.5). */
export function peakOf(map: Float32Array, width: number): { x: number; y: number; value: number } {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  return { x: (best % width) + 0.5, y: Math.floor(best / width) + 0.5, value: map[best] };
}

/**
 * Rearranges a so that a[k] is its k-th smallest value, with nothing larger before k and nothing smaller after
 * (Hoare's quickselect, median-of-three pivots). NaN-free input.
 */
function selectKth(a: Float32Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const x = a[lo];
    const y = a[(lo + hi) >> 1];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/**
 * Share of the map's total mass held by its 20% highest pixels: 0.2 for a uniform map, 1 for a point. The top
 * values are found by selection and only they are sorted, then summed smallest first: the same sum, to the bit,
 * as sorting the whole map, in a third of the time.
 */
export function topMassShare(map: Float32Array, fraction = 0.2): number {
  let total = 0;
  for (let i = 0; i < map.length; i++) total += map[i];
  if (!(total > 0)) return 0;
  const n = Math.max(1, Math.round(map.length * fraction));
  const values = map.slice();
  selectKth(values, values.length - n);
  const topValues = values.subarray(values.length - n).sort();
  let top = 0;
  for (let i = 0; i < topValues.length; i++) top += topValues[i];
  return top / total;
}
