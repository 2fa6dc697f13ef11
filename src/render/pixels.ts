// Maps to pixels without an image library: resampling, normalisation and compositing, shared by the Node
// renderer (./overlay.ts, which adds sharp for encoding) and the browser build (src/browser/).
import { axisTaps as taps, type Taps } from '../image/bilinear';
import { contentBox, type Placement } from '../image/geometry';

// Bound once: a global lookup per pixel is slow where globals are intercepted (jest runs modules in a vm
// context, where the per-pixel loops here ran 50-100x slower with Math.* / Number.* looked up each time).
const { fround } = Math;
const finite = Number.isFinite;

/** Bilinear resampling under an axis-aligned affine map; outputs outside the input's extent get `outside`. */
function resample(map: Float32Array, w: number, h: number, outW: number, outH: number, tx: Taps, ty: Taps, outside: number): Float32Array {
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const row = y * outW;
    if (!ty.inside[y]) {
      out.fill(outside, row, row + outW);
      continue;
    }
    const r0 = ty.i0[y] * w;
    const r1 = ty.i1[y] * w;
    const fy = ty.frac[y];
    for (let x = 0; x < outW; x++) {
      if (!tx.inside[x]) {
        out[row + x] = outside;
        continue;
      }
      const a = tx.i0[x];
      const b = tx.i1[x];
      const fx = tx.frac[x];
      // Same evaluation order as tfjs' CPU kernel, so results agree to float32 rounding.
      const top = map[r0 + a] + (map[r0 + b] - map[r0 + a]) * fx;
      const bottom = map[r1 + a] + (map[r1 + b] - map[r1 + a]) * fx;
      out[row + x] = top + (bottom - top) * fy;
    }
  }
  return out;
}

function checkMap(map: Float32Array, w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`bad map size ${w}x${h}`);
  if (map.length !== w * h) throw new RangeError(`map has ${map.length} values, expected ${w}x${h} = ${w * h}`);
}

/** Bilinear resize with half-pixel centres (OpenCV INTER_LINEAR without antialiasing, align_corners=false). */
export function resizeMap(map: Float32Array, w: number, h: number, outW: number, outH: number): Float32Array {
  checkMap(map, w, h);
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) throw new RangeError(`bad output size ${outW}x${outH}`);
  return resample(map, w, h, outW, outH, taps(w, outW, w / outW, 0), taps(h, outH, h / outH, 0), 0);
}

/**
 * pytorch-grad-cam's per-image normalisation, (m - min) / (max - min + 1e-7). `flat` says the map carries no
 * information: its range is below 1e-7 of its magnitude (or of 1 for small maps; all-zero maps are legitimate), or
 * it held NaN/Infinity, which are replaced by 0 before normalising.
 */
export function normalizeMap(map: Float32Array): { map: Float32Array; flat: boolean } {
  const n = map.length;
  const out = new Float32Array(n);
  let bad = false;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    let v = map[i];
    if (!finite(v)) {
      bad = true;
      v = 0;
    }
    out[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) return { map: out, flat: true };
  const range = max - min;
  const flat = bad || range < 1e-7 * Math.max(1, Math.abs(min), Math.abs(max));
  // Float32 arithmetic, like the reference (numpy on float32 maps).
  const denom = Math.fround(Math.fround(range) + Math.fround(1e-7));
  const fmin = Math.fround(min);
  for (let i = 0; i < n; i++) out[i] = fround(out[i] - fmin) / denom;
  return { map: out, flat };
}

/** round((1 - alpha) * image + alpha * heat), byte by byte (alpha is the heatmap's weight). */
export function overlay(image: Uint8Array, heat: Uint8Array, alpha: number): Uint8Array {
  if (image.length !== heat.length) throw new RangeError(`image has ${image.length} bytes, heatmap ${heat.length}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`alpha must be within 0..1, got ${alpha}`);
  // Two 256-entry tables replace the multiplications; the sum is the same float expression, rounded half up.
  const a = new Float64Array(256);
  const b = new Float64Array(256);
  for (let v = 0; v < 256; v++) {
    a[v] = (1 - alpha) * v;
    b[v] = alpha * v;
  }
  const out = new Uint8Array(image.length);
  // The sum is within 0..255, so truncating sum + 0.5 rounds half up like Math.round.
  for (let i = 0; i < image.length; i++) out[i] = (a[image[i]] + b[heat[i]] + 0.5) | 0;
  return out;
}

/** The map resampled onto the original image's pixels (what renderOverlay colours). */
export function mapToImage(img: { width: number; height: number }, mapAtInput: Float32Array, inputW: number, inputH: number, p: Placement): Float32Array {
  checkMap(mapAtInput, inputW, inputH);
  if (p.srcWidth !== img.width || p.srcHeight !== img.height) {
    throw new RangeError(`placement is for a ${p.srcWidth}x${p.srcHeight} image, got ${img.width}x${img.height}`);
  }
  // The map is normally at exactly the placement's input size; another size is allowed and rescaled.
  const kx = inputW / p.dstWidth;
  const ky = inputH / p.dstHeight;
  if (p.mode === 'pad') {
    // The content box maps exactly onto the whole image: cut it out and stretch it over the image.
    const box = contentBox(p);
    const left = Math.round(box.left * kx);
    const top = Math.round(box.top * ky);
    const w = Math.max(1, Math.min(inputW - left, Math.round(box.width * kx)));
    const h = Math.max(1, Math.min(inputH - top, Math.round(box.height * ky)));
    const sub = new Float32Array(w * h);
    for (let y = 0; y < h; y++) sub.set(mapAtInput.subarray((top + y) * inputW + left, (top + y) * inputW + left + w), y * w);
    return resample(sub, w, h, img.width, img.height, taps(w, img.width, w / img.width, 0), taps(h, img.height, h / img.height, 0), 0);
  }
  const tx = taps(inputW, img.width, p.scaleX * kx, p.offsetX * kx);
  const ty = taps(inputH, img.height, p.scaleY * ky, p.offsetY * ky);
  return resample(mapAtInput, inputW, inputH, img.width, img.height, tx, ty, 0);
}
