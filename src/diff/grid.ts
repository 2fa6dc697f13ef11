/**
 * The grid two models' maps are compared on: the image's own pixels. Each side's map is made at its model's input
 * resolution and carried onto the image through that side's own placement (resize mode, input size), exactly as
 * `explain` lays its overlays on the image (render/pixels.ts mapToImage), so models of different input sizes and
 * preprocessing meet where they should: on the image. Photos larger than GRID_MAX_SIDE pixels on their longest side
 * are compared on the image scaled down to that size (same aspect, same geometry): a 12-megapixel photo would
 * otherwise cost two 12M-value maps per class for numbers that agree with the smaller grid's to the third decimal.
 */
import type { Placement } from '../image/geometry';
import { mapToImage } from '../render/pixels';

/** Longest side of the comparison grid in pixels. */
export const GRID_MAX_SIDE = 512;

export interface Grid {
  width: number;
  height: number;
  /** Grid pixels per image pixel along each axis (1 unless the image was larger than the grid). */
  fx: number;
  fy: number;
}

/** The grid for an image of width x height: its own size, or scaled down to maxSide (rounded as shrinkForOutput does). */
export function gridFor(width: number, height: number, maxSide = GRID_MAX_SIDE): Grid {
  const longest = Math.max(width, height);
  if (longest <= maxSide) return { width, height, fx: 1, fy: 1 };
  const f = maxSide / longest;
  const w = Math.max(1, Math.round(width * f));
  const h = Math.max(1, Math.round(height * f));
  return { width: w, height: h, fx: w / width, fy: h / height };
}

/** A side's placement (source image -> model input) carried over to the grid (grid -> model input). */
export function placementOnGrid(p: Placement, g: Grid): Placement {
  if (g.fx === 1 && g.fy === 1) return p;
  return { ...p, srcWidth: g.width, srcHeight: g.height, scaleX: p.scaleX / g.fx, scaleY: p.scaleY / g.fy };
}

/** A map at its model's input resolution, put on the grid through its side's placement. */
export function mapOnGrid(map: Float32Array, inputW: number, inputH: number, p: Placement, g: Grid): Float32Array {
  return mapToImage({ width: g.width, height: g.height }, map, inputW, inputH, placementOnGrid(p, g));
}
