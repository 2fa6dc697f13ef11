// Producing the model's input pixels from a decoded image, following a Placement exactly.
import sharp from 'sharp';
import type { DecodedImage } from './decode';
import { contentBox, sourceBox, type Placement } from './geometry';

export type { ResizeMode } from './geometry';

export interface ResizeOptions {
  /** One luminance channel instead of RGB. */
  grayscale: boolean;
  /** Value (0..255, every channel) of the letterbox bars in 'pad' mode; default 0. */
  padColor?: number;
}

/** dstWidth * dstHeight * (grayscale ? 1 : 3) bytes, row-major. */
export async function resizeForModel(img: DecodedImage, p: Placement, opts: ResizeOptions): Promise<Uint8Array> {
  if (p.srcWidth !== img.width || p.srcHeight !== img.height) {
    throw new RangeError(`placement is for a ${p.srcWidth}x${p.srcHeight} image, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) throw new RangeError('image data is not width * height * 3 bytes');
  const padColor = opts.padColor ?? 0;
  if (!(padColor >= 0 && padColor <= 255)) throw new RangeError(`padColor must be within 0..255, got ${padColor}`);

  // 'linear' is libvips' bilinear: anti-aliased when shrinking (like PIL's BILINEAR), centre-aligned like OpenCV.
  let pipeline = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  let w = p.dstWidth;
  let h = p.dstHeight;
  if (p.mode === 'crop') {
    const c = sourceBox(p);
    pipeline = pipeline.extract(c); // extract before resize: sharp then crops first, as intended
  } else if (p.mode === 'pad') {
    ({ width: w, height: h } = contentBox(p));
  }
  const { data, info } = await pipeline.resize(w, h, { fit: 'fill', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== w || info.height !== h) {
    throw new Error(`unexpected resize result ${info.width}x${info.height}x${info.channels}`);
  }

  let rgb: Uint8Array = data;
  if (p.mode === 'pad') {
    // Letterboxing done here rather than with sharp's extend(): exact placement and an exact pad value.
    const box = contentBox(p);
    const out = new Uint8Array(p.dstWidth * p.dstHeight * 3).fill(Math.round(padColor));
    for (let y = 0; y < h; y++) {
      out.set(data.subarray(y * w * 3, (y + 1) * w * 3), ((box.top + y) * p.dstWidth + box.left) * 3);
    }
    rgb = out;
  }
  return opts.grayscale ? luminance(rgb) : new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength);
}

/**
 * ITU-R 601 luma on the stored (gamma-encoded) values, with PIL's fixed-point rounding: what PIL's convert('L'),
 * OpenCV's RGB2GRAY and tf.image.rgb_to_grayscale compute (to within one level), so greyscale models see the
 * values they were trained on. (libvips' own 'b-w' works in linear light and differs by up to ~70 levels on
 * saturated colours.) A grey pad value stays exactly itself.
 */
export function luminance(rgb: Uint8Array): Uint8Array {
  const n = rgb.length / 3;
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (rgb[j] * 19595 + rgb[j + 1] * 38470 + rgb[j + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}
