// PIL's Image.resize for 8-bit images, as Python pipelines resize (Keras load_img, torchvision on PIL images, apps
// that call img.resize(...)): BICUBIC and NEAREST. Plain arithmetic on bytes, shared by Node and the browser build.
//
// BICUBIC is a separable convolution (Pillow's Resample.c): for output pixel o along an axis of n input pixels
// resized to m, the centre is c = (o + 0.5) * n / m in input coordinates; when shrinking (n > m) the kernel is
// stretched by s = n / m, so it averages over the input pixels an output pixel covers (anti-aliasing), and its
// support grows from 2 to 2s. Input pixel i (centre i + 0.5) gets weight K((i + 0.5 - c) / s), with K the cubic
// convolution kernel with a = -0.5; the weights are divided by their sum. PIL then rounds each weight to a
// fixed-point integer (22 fractional bits), resizes rows first and rounds that pass to bytes, then columns.
// All of this is reproduced, so the bytes equal PIL's.
//
// NEAREST (Pillow's Geometry.c, ImagingScaleAffine) takes input pixel floor(x) where x steps from n / m * 0.5 by
// n / m per output pixel: the pixel under each output pixel's centre. PIL adds the step up in float64, and so does
// this, for the same pixel where a centre falls on a boundary.

/** 22 fractional bits, as Pillow's PRECISION_BITS (32 - 8 - 2). */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** The cubic convolution kernel with a = -0.5 (Keys 1981; PIL's and OpenCV's bicubic), support [-2, 2]. */
export function cubicKernel(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** Per output pixel along one axis: the first input pixel it reads and the normalised weights (summing to 1). */
export interface AxisTaps {
  first: Int32Array;
  weights: Float64Array[];
}

/** PIL's bicubic taps for resizing an axis of n pixels to m (precompute_coeffs in Resample.c). */
export function bicubicTaps(n: number, m: number): AxisTaps {
  const scale = n / m;
  const stretch = Math.max(scale, 1);
  const support = 2 * stretch;
  // Multiplied by the reciprocal, as PIL does: dividing can differ in the last bit.
  const inverse = 1 / stretch;
  const first = new Int32Array(m);
  const weights: Float64Array[] = [];
  for (let o = 0; o < m; o++) {
    const centre = (o + 0.5) * scale;
    // PIL rounds the window's ends by truncating x + 0.5 (positive here, so floor).
    const lo = Math.max(0, Math.floor(centre - support + 0.5));
    const hi = Math.min(n, Math.floor(centre + support + 0.5));
    const w = new Float64Array(Math.max(0, hi - lo));
    let sum = 0;
    for (let i = lo; i < hi; i++) sum += w[i - lo] = cubicKernel((i - centre + 0.5) * inverse);
    if (sum !== 0) for (let j = 0; j < w.length; j++) w[j] /= sum;
    first[o] = lo;
    weights.push(w);
  }
  return { first, weights };
}

/** A weight as PIL's fixed-point integer: rounded half away from zero. */
export function fixedPointWeight(w: number): number {
  return w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
}

/** Fixed-point sum -> byte as PIL's clip8: the sum carries +0.5 already, so this floors (arithmetic shift) and clamps. */
const clip8 = (ss: number): number => Math.min(255, Math.max(0, Math.floor(ss / ONE)));

/** Integer taps, flat for speed: output pixel o reads `count[o]` input pixels from `first[o]`, weights at o * size. */
interface FixedTaps {
  first: Int32Array;
  count: Int32Array;
  /** Whole numbers, held as float64: the sums stay exact (below 2^31) without int32 overflow checks. */
  k: Float64Array;
  size: number;
}

function fixedTaps(t: AxisTaps): FixedTaps {
  const size = Math.max(1, ...t.weights.map((w) => w.length));
  const k = new Float64Array(t.weights.length * size);
  t.weights.forEach((w, o) => w.forEach((v, j) => (k[o * size + j] = fixedPointWeight(v))));
  return { first: t.first, count: Int32Array.from(t.weights, (w) => w.length), k, size };
}

/** The rows pass: every row of `h` rows of `w` pixels resized to the taps' length, PIL's rounding per value. */
function resizeRows(src: Uint8Array, w: number, h: number, channels: number, taps: FixedTaps): Uint8Array {
  const { first, count, k, size } = taps;
  const m = first.length;
  const out = new Uint8Array(m * h * channels);
  const sums = new Float64Array(channels);
  let ob = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w * channels;
    for (let o = 0; o < m; o++, ob += channels) {
      const kb = o * size;
      const n = count[o];
      let i = row + first[o] * channels;
      if (channels === 3) {
        // The common case unrolled: one walk over the taps for the three channels.
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let j = 0; j < n; j++, i += 3) {
          const kj = k[kb + j];
          s0 += src[i] * kj;
          s1 += src[i + 1] * kj;
          s2 += src[i + 2] * kj;
        }
        out[ob] = clip8(s0);
        out[ob + 1] = clip8(s1);
        out[ob + 2] = clip8(s2);
        continue;
      }
      sums.fill(HALF);
      for (let j = 0; j < n; j++, i += channels) for (let c = 0; c < channels; c++) sums[c] += src[i + c] * k[kb + j];
      for (let c = 0; c < channels; c++) out[ob + c] = clip8(sums[c]);
    }
  }
  return out;
}

/** The columns pass: `h` rows of `stride` bytes resized to the taps' length, each output row a weighted sum of rows. */
function resizeColumns(src: Uint8Array, stride: number, taps: FixedTaps): Uint8Array {
  const { first, count, k, size } = taps;
  const m = first.length;
  const out = new Uint8Array(m * stride);
  const sums = new Float64Array(stride);
  for (let o = 0; o < m; o++) {
    sums.fill(HALF);
    // Row by row, so both the input and the sums are read in order.
    for (let j = 0; j < count[o]; j++) {
      const kj = k[o * size + j];
      const row = (first[o] + j) * stride;
      for (let i = 0; i < stride; i++) sums[i] += src[row + i] * kj;
    }
    const ob = o * stride;
    for (let i = 0; i < stride; i++) out[ob + i] = clip8(sums[i]);
  }
  return out;
}

/** PIL's `Image.resize(size, Image.BICUBIC)` of row-major 8-bit pixels with `channels` channels. */
export function pilBicubicBytes(src: Uint8Array, w: number, h: number, outW: number, outH: number, channels: number): Uint8Array {
  let pixels = src;
  // Rows first, then columns, each pass rounded to bytes (PIL keeps the intermediate image in 8 bits); a pass
  // whose size does not change is skipped, as PIL skips it.
  if (outW !== w) pixels = resizeRows(pixels, w, h, channels, fixedTaps(bicubicTaps(w, outW)));
  if (outH !== h) pixels = resizeColumns(pixels, outW * channels, fixedTaps(bicubicTaps(h, outH)));
  return pixels === src ? Uint8Array.from(src) : pixels;
}

/**
 * Input pixel per output pixel along one axis, as PIL's NEAREST resize picks it: the position starts at
 * step / 2 and grows by step = n / m (float64, added up as PIL adds it); -1 where it falls outside the image.
 */
export function pilNearestIndices(n: number, m: number): Int32Array {
  const step = n / m;
  const idx = new Int32Array(m);
  let pos = step * 0.5;
  for (let o = 0; o < m; o++) {
    const i = pos < 0 ? -1 : Math.trunc(pos);
    idx[o] = i < n ? i : -1;
    pos += step;
  }
  return idx;
}

/** PIL's `Image.resize(size, Image.NEAREST)` (Keras `load_img(target_size=...)`'s default) of row-major 8-bit pixels. */
export function pilNearestBytes(src: Uint8Array, w: number, h: number, outW: number, outH: number, channels: number): Uint8Array {
  const xs = pilNearestIndices(w, outW);
  const ys = pilNearestIndices(h, outH);
  // A position outside the image (not reached for any size PIL accepts, but PIL would leave it black) stays 0.
  const out = new Uint8Array(outW * outH * channels);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++, o += channels) {
      if (ys[y] < 0 || xs[x] < 0) continue;
      const i = (ys[y] * w + xs[x]) * channels;
      for (let c = 0; c < channels; c++) out[o + c] = src[i + c];
    }
  }
  return out;
}
