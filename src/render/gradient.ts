/**
 * Gradient images, as the papers draw pixel-level attributions (guided backprop and Guided Grad-CAM in the
 * Grad-CAM paper, Fig. 1): the signed attribution of every input channel shown as a colour, grey where it is
 * zero-ish. The normalisation is pytorch-grad-cam's `deprocess_image` (from keras-grad-cam): over all values of one
 * map, v = (g - mean) / (std + 1e-5) * 0.1 + 0.5, clipped to [0, 1], then uint8(v * 255) (truncated). So the
 * mean lands on grey 127, one standard deviation on 127 +- 25, and channel c of the model's input becomes colour
 * channel c (reordered when the model takes BGR; a 1-channel model gives a grey image).
 */
import type { DecodedImage } from '../image/decode';
import type { Placement } from '../image/geometry';
import { encodeImage, ImageFormat, mapToImage } from './overlay';
import type { Legend } from './legend';

// Which methods are drawn how (--render) lives in ./drawing (platform-free); re-exported for the modules that import it here.
export { drawingOf, drawnAsGradient, GRADIENT_METHODS, RENDER_MODES, type Drawing, type RenderMode } from './drawing';

/**
 * The centred, scaled attribution (g - mean) / (std + 1e-5) * 0.1 of an [h * w * c] map, as three RGB planes
 * [h * w] each (before the + 0.5 and the clipping): linear, so it can be resampled, with grey (0) outside.
 */
export function gradientPlanes(signed: Float32Array, h: number, w: number, c: number, bgr = false): [Float32Array, Float32Array, Float32Array] {
  const n = h * w;
  if (signed.length !== n * c) throw new RangeError(`attribution has ${signed.length} values, expected ${h}x${w}x${c}`);
  let mean = 0;
  for (let i = 0; i < signed.length; i++) mean += Number.isFinite(signed[i]) ? signed[i] : 0;
  mean /= signed.length;
  let sq = 0;
  for (let i = 0; i < signed.length; i++) sq += ((Number.isFinite(signed[i]) ? signed[i] : 0) - mean) ** 2;
  const scale = 0.1 / (Math.sqrt(sq / signed.length) + 1e-5); // numpy's std: the population one
  const plane = (ch: number) => {
    const out = new Float32Array(n);
    for (let p = 0; p < n; p++) {
      const v = signed[p * c + ch];
      out[p] = ((Number.isFinite(v) ? v : 0) - mean) * scale;
    }
    return out;
  };
  if (c === 1) {
    const g = plane(0);
    return [g, g, g];
  }
  const [r, g, b] = bgr ? [plane(2), plane(1), plane(0)] : [plane(0), plane(1), plane(2)];
  return [r, g, b];
}

/** A centred value (gradientPlanes) to its byte: uint8(clip(v + 0.5, 0, 1) * 255). */
export const gradientByte = (v: number): number => Math.trunc(Math.min(1, Math.max(0, v + 0.5)) * 255);

/** The gradient image at the model's input resolution, RGB bytes [h * w * 3]. */
export function gradientImage(signed: Float32Array, h: number, w: number, c: number, bgr = false): Uint8Array {
  const planes = gradientPlanes(signed, h, w, c, bgr);
  const out = new Uint8Array(h * w * 3);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < 3; k++) out[p * 3 + k] = gradientByte(planes[k][p]);
  return out;
}

/**
 * The gradient image drawn in the original image's frame, like an overlay (same size, same placement: the part of
 * the image the model did not see under `crop` is grey), and encoded.
 */
export async function renderGradientImage(
  img: DecodedImage,
  signed: Float32Array,
  inputW: number,
  inputH: number,
  channels: number,
  place: Placement,
  opts: { bgr?: boolean; format?: ImageFormat; quality?: number; legend?: Legend } = {},
): Promise<Buffer> {
  const planes = gradientPlanes(signed, inputH, inputW, channels, opts.bgr).map((p) => mapToImage(img, p, inputW, inputH, place));
  const n = img.width * img.height;
  const rgb = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) for (let k = 0; k < 3; k++) rgb[p * 3 + k] = gradientByte(planes[k][p]);
  return encodeImage(rgb, img.width, img.height, opts.format, opts.quality, opts.legend);
}
