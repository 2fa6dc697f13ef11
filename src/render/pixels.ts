// Maps to pixels without an image library: resampling, normalisation and compositing, shared by the Node
// renderer (./overlay.ts, which adds sharp for encoding) and the browser build (src/browser/).
import { axisTaps as taps, type Taps } from '../image/bilinear';
import { contentBox, type Placement } from '../image/geometry';

// Bound once: a global lookup per pixel is slow where globals are intercepted (jest runs modules in a vm
// context, where the per-pixel loops here ran 50-100x slower with Math.* / Number.* looked up each time).
const { fround } = Math;
const finite = Number.isFinite;

/**
 * Bilinear resampling under an axis-aligned affine map, one output row at a time; outputs outside the input's
 * extent get `outside`. A value is lerp_y(lerp_x(row i0), lerp_x(row i1)), the evaluation order of tfjs' CPU
 * kernel, so results agree with it to float32 rounding. lerp_x of a source row depends on that row alone, so it
 * is computed once (unrounded, in float64, exactly as the inline expression) and kept while the following output
 * rows sample the same source rows: enlarging a 14x14 or 224x224 map to a photo, most output rows share both.
 */
class BilinearRows {
  private readonly keys = [-1, -1];
  private readonly rows: [Float64Array, Float64Array];

  constructor(
    private readonly map: Float32Array,
    private readonly w: number,
    private readonly outW: number,
    private readonly tx: Taps,
    private readonly ty: Taps,
    private readonly outside: number,
  ) {
    this.rows = [new Float64Array(outW), new Float64Array(outW)];
  }

  /** The slot holding source row r's x-interpolation, computing it into the slot other than `keep` if absent. */
  private slot(r: number, keep: number): number {
    if (this.keys[0] === r) return 0;
    if (this.keys[1] === r) return 1;
    const s = keep === 0 ? 1 : 0;
    const { map, tx, outW } = this;
    const line = this.rows[s];
    const base = r * this.w;
    for (let x = 0; x < outW; x++) {
      const a = map[base + tx.i0[x]];
      line[x] = a + (map[base + tx.i1[x]] - a) * tx.frac[x];
    }
    this.keys[s] = r;
    return s;
  }

  /** Output row y into out[at .. at + outW). */
  fill(y: number, out: Float32Array, at: number): void {
    const { ty, tx, outW, outside } = this;
    if (!ty.inside[y]) {
      out.fill(outside, at, at + outW);
      return;
    }
    const s0 = this.slot(ty.i0[y], -1);
    const s1 = this.slot(ty.i1[y], s0);
    const top = this.rows[s0];
    const bottom = this.rows[s1];
    const fy = ty.frac[y];
    for (let x = 0; x < outW; x++) out[at + x] = tx.inside[x] ? top[x] + (bottom[x] - top[x]) * fy : outside;
  }

  /** Output rows 0 .. outH - 1, the whole resampled map. */
  all(outH: number): Float32Array {
    const out = new Float32Array(this.outW * outH);
    for (let y = 0; y < outH; y++) this.fill(y, out, y * this.outW);
    return out;
  }
}

function checkMap(map: Float32Array, w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`bad map size ${w}x${h}`);
  if (map.length !== w * h) throw new RangeError(`map has ${map.length} values, expected ${w}x${h} = ${w * h}`);
}

/** Bilinear resize with half-pixel centres (OpenCV INTER_LINEAR without antialiasing, align_corners=false). */
export function resizeMap(map: Float32Array, w: number, h: number, outW: number, outH: number): Float32Array {
  checkMap(map, w, h);
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) throw new RangeError(`bad output size ${outW}x${outH}`);
  return new BilinearRows(map, w, outW, taps(w, outW, w / outW, 0), taps(h, outH, h / outH, 0), 0).all(outH);
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

let blendCache: { alpha: number; table: Uint8Array } | null = null;

/**
 * round((1 - alpha) * image + alpha * heat) for every pair of bytes, at table[image << 8 | heat]: one lookup per
 * byte instead of the arithmetic. The sum is the same float expression as before the table (a[v] + b[h] + 0.5,
 * truncated: within 0..255.5, truncation rounds half up like Math.round). Kept for the last alpha.
 */
function blendTable(alpha: number): Uint8Array {
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`alpha must be within 0..1, got ${alpha}`);
  if (blendCache?.alpha === alpha) return blendCache.table;
  const table = new Uint8Array(65536);
  for (let v = 0; v < 256; v++) {
    const a = (1 - alpha) * v;
    for (let h = 0; h < 256; h++) table[(v << 8) | h] = (a + alpha * h + 0.5) | 0;
  }
  blendCache = { alpha, table };
  return table;
}

/** round((1 - alpha) * image + alpha * heat), byte by byte (alpha is the heatmap's weight). */
export function overlay(image: Uint8Array, heat: Uint8Array, alpha: number): Uint8Array {
  if (image.length !== heat.length) throw new RangeError(`image has ${image.length} bytes, heatmap ${heat.length}`);
  const table = blendTable(alpha);
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = table[(image[i] << 8) | heat[i]];
  return out;
}

/**
 * What mapToImage samples: the part of the map over the image and each axis' taps onto the image's pixels. Image
 * pixels the model did not see ('crop') get `outside`: 0 for a heatmap, a signed map's zero (0.5) for a signed one.
 */
function imageSampling(img: { width: number; height: number }, mapAtInput: Float32Array, inputW: number, inputH: number, p: Placement, outside = 0): BilinearRows {
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
    return new BilinearRows(sub, w, img.width, taps(w, img.width, w / img.width, 0), taps(h, img.height, h / img.height, 0), outside);
  }
  const tx = taps(inputW, img.width, p.scaleX * kx, p.offsetX * kx);
  const ty = taps(inputH, img.height, p.scaleY * ky, p.offsetY * ky);
  return new BilinearRows(mapAtInput, inputW, img.width, tx, ty, outside);
}

/** The map resampled onto the original image's pixels (what renderOverlay colours). */
export function mapToImage(img: { width: number; height: number }, mapAtInput: Float32Array, inputW: number, inputH: number, p: Placement, outside = 0): Float32Array {
  return imageSampling(img, mapAtInput, inputW, inputH, p, outside).all(img.height);
}

/**
 * overlay(image, applyColormap(mapToImage(...)), alpha) in one pass, a row at a time: the same bytes (tested)
 * without the photo-sized float and colour arrays, which made most of an overlay's time and garbage. `lut` is a
 * colour map's 256 x RGB table; with `withHeat` the coloured map alone comes back too. `outside`: the value of
 * image pixels the model did not see (mapToImage).
 */
export function overlayMap(
  img: { width: number; height: number; data: Uint8Array },
  mapAtInput: Float32Array,
  inputW: number,
  inputH: number,
  p: Placement,
  lut: Uint8Array,
  alpha: number,
  withHeat = false,
  outside = 0,
): { overlay: Uint8Array; heat?: Uint8Array } {
  const { width, height, data } = img;
  if (data.length !== width * height * 3) throw new RangeError(`image has ${data.length} bytes, expected ${width}x${height}x3`);
  const rows = imageSampling(img, mapAtInput, inputW, inputH, p, outside);
  const table = blendTable(alpha);
  const out = new Uint8Array(data.length);
  const heat = withHeat ? new Uint8Array(data.length) : null;
  const line = new Float32Array(width);
  for (let y = 0, o = 0; y < height; y++) {
    rows.fill(y, line, 0);
    for (let x = 0; x < width; x++, o += 3) {
      // applyColormap's table index: floor(255 * v) in float32, clamped to 0..255, NaN to 0.
      const t = fround(255 * line[x]);
      const i = (t >= 255 ? 255 : t > 0 ? t | 0 : 0) * 3;
      const r = lut[i];
      const g = lut[i + 1];
      const b = lut[i + 2];
      out[o] = table[(data[o] << 8) | r];
      out[o + 1] = table[(data[o + 1] << 8) | g];
      out[o + 2] = table[(data[o + 2] << 8) | b];
      if (heat) {
        heat[o] = r;
        heat[o + 1] = g;
        heat[o + 2] = b;
      }
    }
  }
  return heat ? { overlay: out, heat } : { overlay: out };
}
