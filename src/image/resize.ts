// Producing the model's input pixels from a decoded image, following a Placement exactly.
import sharp from 'sharp';
import type { DecodedImage } from './decode';
import { bilinearBytes } from './bilinear';
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

  // Where the image (or its crop) ends up in the input, and at what size.
  const src = sourceBox(p);
  const dst = contentBox(p);
  // Two steps, each exact about where it samples: libvips shrinks (its 'linear' kernel is anti-aliased, like
  // PIL's BILINEAR, and centre-aligned), but it does not enlarge: measured with sharp 0.35 / libvips 8.18, its
  // enlarging path truncates instead of rounding and shifts samples by up to 0.4 px (0.7 px when one axis
  // shrinks and the other grows). Axes that grow are enlarged here with plain bilinear instead.
  const w1 = Math.min(src.width, dst.width);
  const h1 = Math.min(src.height, dst.height);
  let pixels: Uint8Array = img.data;
  const whole = src.left === 0 && src.top === 0 && src.width === img.width && src.height === img.height;
  if (!whole || w1 !== img.width || h1 !== img.height) {
    let pipeline = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
    if (!whole) pipeline = pipeline.extract(src); // before resize(): sharp then crops first, as intended
    if (w1 !== src.width || h1 !== src.height) pipeline = pipeline.resize(w1, h1, { fit: 'fill', kernel: 'linear' });
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== w1 || info.height !== h1) {
      throw new Error(`unexpected resize result ${info.width}x${info.height}x${info.channels}`);
    }
    pixels = data;
  }
  if (w1 !== dst.width || h1 !== dst.height) pixels = bilinearBytes(pixels, w1, h1, dst.width, dst.height, 3);

  let rgb = pixels;
  if (p.mode === 'pad') {
    // Letterboxing done here rather than with sharp's extend(): exact placement and an exact pad value.
    const out = new Uint8Array(p.dstWidth * p.dstHeight * 3).fill(Math.round(padColor));
    const row = dst.width * 3;
    for (let y = 0; y < dst.height; y++) {
      out.set(pixels.subarray(y * row, (y + 1) * row), ((dst.top + y) * p.dstWidth + dst.left) * 3);
    }
    rgb = out;
  }
  if (opts.grayscale) return luminance(rgb);
  // A fresh copy when nothing had to change, so callers may modify the result.
  return rgb === img.data ? Uint8Array.from(rgb) : new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength);
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
