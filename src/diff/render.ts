/**
 * The pictures of a diff: the base's and the head's overlays (drawn exactly as `explain` draws them, each through
 * its own model's placement) and the difference overlay, head - base on the grid, over the image in grey: red where
 * the head looks more than the base, blue where it looks less, the plain grey image where they agree.
 */
import type { DecodedImage } from '../image/decode';
import type { Placement } from '../image/geometry';
import { colormapLut, type ColormapName } from '../render/colormap';
import { encodePng } from '../render/overlay';
import { overlayMap } from '../render/pixels';

/** Colours of the difference overlay: more attention under the head, less. */
export const MORE_COLOR: [number, number, number] = [220, 20, 20];
export const LESS_COLOR: [number, number, number] = [20, 70, 230];
/** Weight of the colour where the difference is +-1 (the grey image keeps the rest). */
const MAX_WEIGHT = 0.85;

/**
 * RGB pixels: the image in grey (Rec. 601 luminance) blended with MORE_COLOR or LESS_COLOR in proportion to
 * |difference| (values in [-1, 1], one per pixel, the image's size).
 */
export function differencePixels(img: { width: number; height: number; data: Uint8Array }, difference: Float32Array): Uint8Array {
  const n = img.width * img.height;
  if (difference.length !== n) throw new RangeError(`difference has ${difference.length} values, image ${img.width}x${img.height}`);
  const out = new Uint8Array(n * 3);
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const grey = 0.299 * img.data[o] + 0.587 * img.data[o + 1] + 0.114 * img.data[o + 2];
    const d = difference[i];
    const w = Math.min(1, Math.abs(d)) * MAX_WEIGHT;
    const c = d >= 0 ? MORE_COLOR : LESS_COLOR;
    out[o] = Math.round((1 - w) * grey + w * c[0]);
    out[o + 1] = Math.round((1 - w) * grey + w * c[1]);
    out[o + 2] = Math.round((1 - w) * grey + w * c[2]);
  }
  return out;
}

export interface DiffPictures {
  base: Buffer;
  head: Buffer;
  difference: Buffer;
}

/**
 * The three PNGs of one comparison on `shown` (the image at the grid's size): each side's map at its input
 * resolution with its placement carried to the grid, and the difference of the two grid maps.
 */
export async function renderDiffPictures(
  shown: DecodedImage,
  base: { map: Float32Array; inputW: number; inputH: number; place: Placement },
  head: { map: Float32Array; inputW: number; inputH: number; place: Placement },
  difference: Float32Array,
  opts: { colormap: ColormapName; alpha: number },
): Promise<DiffPictures> {
  const lut = colormapLut(opts.colormap);
  const b = overlayMap(shown, base.map, base.inputW, base.inputH, base.place, lut, opts.alpha).overlay;
  const h = overlayMap(shown, head.map, head.inputW, head.inputH, head.place, lut, opts.alpha).overlay;
  const d = differencePixels(shown, difference);
  const [pb, ph, pd] = await Promise.all([encodePng(b, shown.width, shown.height), encodePng(h, shown.width, shown.height), encodePng(d, shown.width, shown.height)]);
  return { base: pb, head: ph, difference: pd };
}
