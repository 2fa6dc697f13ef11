// Producing the model's input pixels from decoded RGB pixels, following a Placement exactly. Plain arithmetic
// on bytes (Lanczos, which needs libvips, is passed in by ./resize.ts), shared by Node and the browser build.
import { contentBox, sourceBox, type Placement } from './geometry';
import { pilBicubicBytes, pilNearestBytes } from './pil-resample';
import type { GrayMode } from '../model/sidecar';

/**
 * How the image is resampled to the model input; it should be what the user's app does:
 * - `bilinear`: exactly `tf.image.resizeBilinear(x, size)` (alignCorners and halfPixelCenters false: output pixel o
 *   samples input coordinate o * in/out, no anti-aliasing), what a tfjs app calls.
 * - `area`: box filter, each output pixel the area-weighted mean of the input pixels it covers
 *   (`tf.image.resize(..., method='area')`, OpenCV INTER_AREA when shrinking, PIL `Image.BOX`).
 * - `nearest`: exactly `tf.image.resizeNearestNeighbor(x, size)` (input pixel floor(o * in/out)).
 * - `lanczos`: anti-aliased Lanczos-3 (libvips; PIL `Image.LANCZOS`, torchvision Resize on PIL images with LANCZOS).
 * - `bicubic`: exactly PIL's `Image.resize(size, Image.BICUBIC)` (anti-aliased when shrinking; ./pil-resample.ts).
 * - `pil-nearest`: exactly PIL's `Image.resize(size, Image.NEAREST)`, the pixel under each output pixel's centre
 *   (Keras `load_img(path, target_size=...)`'s default).
 */
export type Interpolation = 'bilinear' | 'area' | 'nearest' | 'lanczos' | 'bicubic' | 'pil-nearest';
export const INTERPOLATIONS: Interpolation[] = ['bilinear', 'area', 'nearest', 'lanczos', 'bicubic', 'pil-nearest'];

export interface ResizeOptions {
  /** One grey channel instead of RGB. */
  grayscale: boolean;
  /** How grey is made (see GrayMode); default 'luma'. */
  gray?: GrayMode;
  /** Value (0..255, every channel) of the letterbox bars in 'pad' mode; default 0. */
  padColor?: number;
  /** Resampling; default 'bilinear' (tf.image.resizeBilinear). */
  interpolation?: Interpolation;
  /** bilinear and nearest: tf's alignCorners = true (the corner pixels' centres map onto each other; ml5 does this). */
  alignCorners?: boolean;
}

/** RGB pixels, width * height * 3 bytes, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Anti-aliased Lanczos-3 resize of RGB bytes (libvips in Node). */
export type LanczosResize = (rgb: Uint8Array, w: number, h: number, outW: number, outH: number) => Promise<Uint8Array>;

/** dstWidth * dstHeight * (grayscale ? 1 : 3) bytes, row-major. */
export async function fitToInput(img: RgbImage, p: Placement, opts: ResizeOptions, lanczos?: LanczosResize): Promise<Uint8Array> {
  if (p.srcWidth !== img.width || p.srcHeight !== img.height) {
    throw new RangeError(`placement is for a ${p.srcWidth}x${p.srcHeight} image, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) throw new RangeError('image data is not width * height * 3 bytes');
  const padColor = opts.padColor ?? 0;
  if (!(padColor >= 0 && padColor <= 255)) throw new RangeError(`padColor must be within 0..255, got ${padColor}`);
  const interpolation = opts.interpolation ?? 'bilinear';
  if (!INTERPOLATIONS.includes(interpolation)) throw new RangeError(`unknown interpolation '${String(interpolation)}' (expected one of ${INTERPOLATIONS.join(', ')})`);

  // Where the image (or its crop) ends up in the input, and at what size.
  const src = sourceBox(p);
  const dst = contentBox(p);
  const whole = src.left === 0 && src.top === 0 && src.width === img.width && src.height === img.height;
  let pixels: Uint8Array = whole ? img.data : cropRgb(img.data, img.width, src.left, src.top, src.width, src.height);
  if (src.width !== dst.width || src.height !== dst.height) {
    if (interpolation === 'lanczos') {
      if (!lanczos) throw new RangeError("'lanczos' interpolation needs libvips (the Node build); use bilinear, area, nearest, bicubic or pil-nearest here");
      pixels = await lanczos(pixels, src.width, src.height, dst.width, dst.height);
    } else if (interpolation === 'area') pixels = areaBytes(pixels, src.width, src.height, dst.width, dst.height, 3);
    else if (interpolation === 'bicubic') pixels = pilBicubicBytes(pixels, src.width, src.height, dst.width, dst.height, 3);
    else if (interpolation === 'pil-nearest') pixels = pilNearestBytes(pixels, src.width, src.height, dst.width, dst.height, 3);
    else if (interpolation === 'nearest') pixels = tfNearestBytes(pixels, src.width, src.height, dst.width, dst.height, 3, !!opts.alignCorners);
    else pixels = tfBilinearBytes(pixels, src.width, src.height, dst.width, dst.height, 3, !!opts.alignCorners);
  }

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
  if (opts.grayscale) return toGray(rgb, opts.gray ?? 'luma');
  // A fresh copy when nothing had to change, so callers may modify the result.
  return rgb === img.data ? Uint8Array.from(rgb) : new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength);
}

function cropRgb(data: Uint8Array, w: number, left: number, top: number, cw: number, ch: number): Uint8Array {
  const out = new Uint8Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) out.set(data.subarray(((top + y) * w + left) * 3, ((top + y) * w + left + cw) * 3), y * cw * 3);
  return out;
}

/**
 * tf.image.resizeBilinear(x, [outH, outW]) with its defaults (alignCorners = halfPixelCenters = false), rounded to
 * the nearest level: output pixel (x, y) interpolates input position (x * w / outW, y * h / outH), clamped at the
 * last row and column. No anti-aliasing: shrinking by more than 2x skips pixels, as the app's own call does.
 */
export function tfBilinearBytes(src: Uint8Array, w: number, h: number, outW: number, outH: number, channels: number, alignCorners = false): Uint8Array {
  const out = new Uint8Array(outW * outH * channels);
  // Positions in float32, as tfjs' WASM and WebGL kernels compute them (see tfNearestBytes).
  const sx = ratio(w, outW, alignCorners);
  const sy = ratio(h, outH, alignCorners);
  const x0 = new Int32Array(outW);
  const x1 = new Int32Array(outW);
  const fx = new Float64Array(outW);
  for (let x = 0; x < outW; x++) {
    const c = Math.fround(x * sx);
    x0[x] = Math.floor(c);
    x1[x] = Math.min(x0[x] + 1, w - 1);
    fx[x] = c - x0[x];
  }
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const c = Math.fround(y * sy);
    const y0 = Math.floor(c);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = c - y0;
    const r0 = y0 * w * channels;
    const r1 = y1 * w * channels;
    for (let x = 0; x < outW; x++) {
      const a = x0[x] * channels;
      const b = x1[x] * channels;
      for (let k = 0; k < channels; k++) {
        const top = src[r0 + a + k] + (src[r0 + b + k] - src[r0 + a + k]) * fx[x];
        const bottom = src[r1 + a + k] + (src[r1 + b + k] - src[r1 + a + k]) * fx[x];
        out[o++] = Math.min(255, Math.max(0, Math.round(top + (bottom - top) * fy)));
      }
    }
  }
  return out;
}

/** tf's scale from output to input positions, in float32: in / out, or (in - 1) / (out - 1) with alignCorners. */
function ratio(n: number, outN: number, alignCorners: boolean): number {
  return Math.fround(alignCorners && outN > 1 ? (n - 1) / (outN - 1) : n / outN);
}

/** tf.image.resizeNearestNeighbor(x, [outH, outW]) with its defaults: input pixel min(floor(o * in / out), in - 1). */
export function tfNearestBytes(src: Uint8Array, w: number, h: number, outW: number, outH: number, channels: number, alignCorners = false): Uint8Array {
  const out = new Uint8Array(outW * outH * channels);
  let o = 0;
  // ratio * o in float32, as tfjs' WASM (and WebGL) kernels compute it: in float64, or as o * in / out, a position
  // such as 224.99999 falls on the other side of a whole number.
  const ry = ratio(h, outH, alignCorners);
  const rx = ratio(w, outW, alignCorners);
  const pick = alignCorners ? Math.round : Math.floor;
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(pick(Math.fround(ry * y)), h - 1);
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(pick(Math.fround(rx * x)), w - 1);
      const i = (sy * w + sx) * channels;
      for (let k = 0; k < channels; k++) out[o++] = src[i + k];
    }
  }
  return out;
}

/** Per-output-pixel [first input pixel, weights] of a box filter along one axis (weights sum to 1). */
function areaTaps(n: number, outN: number): { first: Int32Array; weights: Float64Array[] } {
  const scale = n / outN;
  const first = new Int32Array(outN);
  const weights: Float64Array[] = [];
  for (let o = 0; o < outN; o++) {
    const a = o * scale;
    const b = (o + 1) * scale;
    const i0 = Math.floor(a);
    const i1 = Math.min(n, Math.ceil(b));
    const wts = new Float64Array(i1 - i0);
    for (let i = i0; i < i1; i++) wts[i - i0] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
    first[o] = i0;
    weights.push(wts);
  }
  return { first, weights };
}

/** Box-filter (area) resize: each output pixel is the area-weighted mean of the input pixels under it. */
export function areaBytes(src: Uint8Array, w: number, h: number, outW: number, outH: number, channels: number): Uint8Array {
  const tx = areaTaps(w, outW);
  const ty = areaTaps(h, outH);
  // Rows first (h x outW, float), then columns.
  const mid = new Float64Array(h * outW * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const wts = tx.weights[x];
      const base = (y * w + tx.first[x]) * channels;
      for (let k = 0; k < channels; k++) {
        let v = 0;
        for (let j = 0; j < wts.length; j++) v += src[base + j * channels + k] * wts[j];
        mid[(y * outW + x) * channels + k] = v;
      }
    }
  }
  const out = new Uint8Array(outW * outH * channels);
  for (let y = 0; y < outH; y++) {
    const wts = ty.weights[y];
    for (let x = 0; x < outW; x++) {
      for (let k = 0; k < channels; k++) {
        let v = 0;
        for (let j = 0; j < wts.length; j++) v += mid[((ty.first[y] + j) * outW + x) * channels + k] * wts[j];
        out[(y * outW + x) * channels + k] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return out;
}

/**
 * One grey byte per RGB pixel, as the app makes it: 'luma' (see luminance), 'mean' = round((R + G + B) / 3) (what
 * `x.mean(axis=-1)` then a cast to 8 bits gives; the model sees 0..255 levels like every other input), or one
 * channel as it is. A grey pixel (R = G = B) stays itself in every mode.
 */
export function toGray(rgb: Uint8Array, mode: GrayMode): Uint8Array {
  if (mode === 'luma') return luminance(rgb);
  const n = rgb.length / 3;
  const out = new Uint8Array(n);
  if (mode === 'mean') {
    for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = Math.round((rgb[j] + rgb[j + 1] + rgb[j + 2]) / 3);
    return out;
  }
  const k = mode === 'r' ? 0 : mode === 'g' ? 1 : mode === 'b' ? 2 : -1;
  if (k < 0) throw new RangeError(`unknown gray mode '${String(mode)}' (expected luma, mean, r, g or b)`);
  for (let i = 0, j = k; i < n; i++, j += 3) out[i] = rgb[j];
  return out;
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
