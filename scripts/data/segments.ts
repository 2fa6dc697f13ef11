/**
 * "Digits to segment": a seeded generator of 64x64 grayscale canvases, each holding TWO MNIST digits of different
 * classes at random, non-overlapping places and scales among distractors (strokes, fragments of other digits, noise),
 * with a per-pixel class map: background, or the digit whose ink (grown by SEGMENT_GROW px) covers the pixel.
 *
 * Made for the segmentation model (scripts/train-segmenter.ts) and its samples (samples/.segments/): with two
 * digits on a canvas, a map for one digit's segment has a wrong place to go (the other digit), which is what the
 * pointing-game test checks. Built from the pieces of "digits in clutter" (./clutter.ts), so the same split
 * discipline holds: test canvases use only MNIST test digits. Pure function of (split, index, seed).
 */
import { Box, boxesIntersect, cropDigit, fragmentPatch, grow, inkBox, MnistSplit, mixSeed, mulberry32, randInt, Rng, scalePatch, stamp, strokePatch, uniform } from './clutter';

export const SEGMENT_CANVAS = 64;
/** The model's output is one class per 4x4 block of the canvas. */
export const SEGMENT_STRIDE = 4;
export const SEGMENT_OUTPUT = SEGMENT_CANVAS / SEGMENT_STRIDE;
/** Class 0 is the background; class d + 1 is digit d (named, so that `seg:seven` is not read as an index). */
export const SEGMENT_LABELS = ['background', 'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
/** A digit's segment: its ink (grey level > 64) grown by this many pixels, so that a 4x4 block centre meets it. */
export const SEGMENT_GROW = 2;

export interface SegmentCanvas {
  /** SEGMENT_CANVAS^2 grey levels, row-major. */
  pixels: Uint8Array;
  /** SEGMENT_CANVAS^2 classes (0 background, d + 1 digit d), row-major. */
  classes: Uint8Array;
  digits: { digit: number; classIndex: number; box: Box; digitIndex: number }[];
}

/** The digit's ink patch, scaled; null when the MNIST image is empty. */
function digitPatch(split: MnistSplit, index: number, rng: Rng) {
  const digit = split.images.subarray(index * split.rows * split.cols, (index + 1) * split.rows * split.cols);
  const ink = inkBox(digit, split.cols, split.rows);
  if (!ink) return null;
  return scalePatch(cropDigit(split, index, ink), uniform(rng, 0.9, 1.25));
}

/**
 * One canvas: digits `first` and a second one of another class (drawn from the split by rng), placed apart by at
 * least 2 * SEGMENT_GROW + 2 px so that their segments never touch.
 */
export function makeSegmentCanvas(split: MnistSplit, first: number, rng: Rng): SegmentCanvas {
  const size = SEGMENT_CANVAS;
  const digitLayer = new Float32Array(size * size);
  const owner = new Int8Array(size * size).fill(-1);
  const placed: { digit: number; box: Box; digitIndex: number; patch: ReturnType<typeof digitPatch> & object; ox: number; oy: number }[] = [];
  const indices = [first];
  for (let guard = 0; indices.length < 2 && guard < 100; guard++) {
    const j = randInt(rng, 0, split.count - 1);
    if (split.labels[j] !== split.labels[first]) indices.push(j);
  }
  for (const index of indices) {
    const patch = digitPatch(split, index, rng);
    if (!patch || patch.w > size || patch.h > size) continue;
    for (let attempt = 0; attempt < 60; attempt++) {
      const ox = randInt(rng, 0, size - patch.w), oy = randInt(rng, 0, size - patch.h);
      const box = { x: ox, y: oy, width: patch.w, height: patch.h };
      if (placed.some((p) => boxesIntersect(grow(p.box, 2 * SEGMENT_GROW + 2), box))) continue;
      placed.push({ digit: split.labels[index], box, digitIndex: index, patch, ox, oy });
      break;
    }
  }
  for (const [k, p] of placed.entries()) {
    stamp(digitLayer, size, p.patch, p.ox, p.oy);
    for (let y = 0; y < p.patch.h; y++) for (let x = 0; x < p.patch.w; x++) if (p.patch.data[y * p.patch.w + x] > 64) owner[(p.oy + y) * size + p.ox + x] = k;
  }
  // Segments: each digit's ink grown by SEGMENT_GROW (a square neighbourhood); digits are far enough apart not to meet.
  const classes = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let dy = -SEGMENT_GROW; dy <= SEGMENT_GROW && !classes[y * size + x]; dy++) {
        for (let dx = -SEGMENT_GROW; dx <= SEGMENT_GROW; dx++) {
          const yy = y + dy, xx = x + dx;
          if (yy < 0 || xx < 0 || yy >= size || xx >= size) continue;
          const o = owner[yy * size + xx];
          if (o >= 0) {
            classes[y * size + x] = placed[o].digit + 1;
            break;
          }
        }
      }
    }
  }
  // Distractors keep clear of both digits' segments; they are background.
  const layer = Float32Array.from(digitLayer);
  const keepClear = placed.map((p) => grow(p.box, SEGMENT_GROW + 2));
  for (let i = randInt(rng, 1, 3); i > 0; i--) {
    const other = randInt(rng, 0, split.count - 1);
    const frag = fragmentPatch(split, other, rng);
    if (frag) placeClear(layer, size, frag, keepClear, rng);
  }
  for (let i = randInt(rng, 0, 2); i > 0; i--) placeClear(layer, size, strokePatch(rng), keepClear, rng);
  const pixels = new Uint8Array(size * size);
  const amplitude = uniform(rng, 0, 24);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(0, Math.min(255, Math.round(layer[i] + amplitude * rng())));
  return { pixels, classes, digits: placed.map((p) => ({ digit: p.digit, classIndex: p.digit + 1, box: p.box, digitIndex: p.digitIndex })) };
}

/** Stamps a distractor where it touches none of the boxes (up to 30 tries). */
function placeClear(layer: Float32Array, size: number, p: { w: number; h: number; data: Float32Array }, boxes: Box[], rng: Rng): void {
  if (p.w > size || p.h > size) return;
  for (let attempt = 0; attempt < 30; attempt++) {
    const ox = randInt(rng, 0, size - p.w), oy = randInt(rng, 0, size - p.h);
    const at = { x: ox, y: oy, width: p.w, height: p.h };
    if (boxes.every((b) => !boxesIntersect(b, at))) return stamp(layer, size, p, ox, oy);
  }
}

/** Canvas i of a split under a seed: its own PRNG, so any canvas can be made alone. */
export function seededSegmentCanvas(split: MnistSplit, index: number, seed: number): SegmentCanvas {
  return makeSegmentCanvas(split, index, mulberry32(mixSeed(seed, index)));
}

/** The class of each output block: the class of the canvas pixel at the block's centre (as the tool samples masks). */
export function blockClasses(classes: Uint8Array): Uint8Array {
  const out = new Uint8Array(SEGMENT_OUTPUT * SEGMENT_OUTPUT);
  const c = SEGMENT_STRIDE >> 1;
  for (let y = 0; y < SEGMENT_OUTPUT; y++) for (let x = 0; x < SEGMENT_OUTPUT; x++) out[y * SEGMENT_OUTPUT + x] = classes[(y * SEGMENT_STRIDE + c) * SEGMENT_CANVAS + x * SEGMENT_STRIDE + c];
  return out;
}
