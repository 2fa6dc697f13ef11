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

export function toInputResolution(raws: { data: Float32Array; height: number; width: number }[], inputH: number, inputW: number): InputMap {
  let flat = true;
  const sum = new Float32Array(inputH * inputW);
  for (const r of raws) {
    const low = normalizeMap(r.data);
    const up = normalizeMap(resizeMap(low.map, r.width, r.height, inputW, inputH));
    if (!low.flat && !up.flat) flat = false;
    for (let i = 0; i < sum.length; i++) sum[i] += up.map[i];
  }
  if (raws.length === 1) return { map: sum, flat };
  const again = normalizeMap(sum);
  return { map: again.map, flat: flat || again.flat };
}

/** Position (x, y) of the maximum, in pixel-centre coordinates (column + 0.5, row + 0.5). */
export function peakOf(map: Float32Array, width: number): { x: number; y: number; value: number } {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  return { x: (best % width) + 0.5, y: Math.floor(best / width) + 0.5, value: map[best] };
}

/** Share of the map's total mass held by its 20% highest pixels: 0.2 for a uniform map, 1 for a point. */
export function topMassShare(map: Float32Array, fraction = 0.2): number {
  let total = 0;
  for (const v of map) total += v;
  if (!(total > 0)) return 0;
  const sorted = Float32Array.from(map).sort();
  const n = Math.max(1, Math.round(map.length * fraction));
  let top = 0;
  for (let i = sorted.length - n; i < sorted.length; i++) top += sorted[i];
  return top / total;
}
