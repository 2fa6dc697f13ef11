/**
 * Whether a map marks what the model actually uses (methods.md): Average Drop / Increase in Confidence
 * (Grad-CAM++ paper) and deletion / insertion curves (RISE). The model is reached only through `probabilities`,
 * a function from a batch of preprocessed inputs to the class's probability per input, so the maths stays
 * testable with any function.
 */
import * as tf from '@tensorflow/tfjs';

/** Class probability for each input of a batch [n, H, W, C]. */
export type ProbabilityFn = (x: tf.Tensor4D) => Float32Array;

/** O_c: the class probability on the input multiplied by the map (map in [0,1] at input resolution). */
export function maskedProbability(x: tf.Tensor4D, map: Float32Array, probability: ProbabilityFn): number {
  const [, h, w] = x.shape;
  return tf.tidy(() => probability(tf.mul(x, tf.tensor4d(map, [1, h, w, 1])) as tf.Tensor4D))[0];
}

/** Average Drop % and Increase in Confidence % over images, from Y_c (plain) and O_c (masked) probabilities. */
export function averageDropAndIncrease(pairs: { y: number; o: number }[]): { averageDrop: number; increaseInConfidence: number } {
  if (!pairs.length) return { averageDrop: 0, increaseInConfidence: 0 };
  const drop = pairs.reduce((s, { y, o }) => s + (y > 0 ? Math.max(0, y - o) / y : 0), 0) / pairs.length;
  const inc = pairs.filter(({ y, o }) => o > y).length / pairs.length;
  return { averageDrop: drop * 100, increaseInConfidence: inc * 100 };
}

/** Trapezoidal area under y over x evenly spaced in [0, 1]. */
export function auc(ys: number[]): number {
  if (ys.length < 2) return ys[0] ?? 0;
  let s = 0;
  for (let i = 1; i < ys.length; i++) s += (ys[i - 1] + ys[i]) / 2;
  return s / (ys.length - 1);
}

/** One map's faithfulness numbers on its image. */
export interface MapFaithfulness {
  /** O_c: the class probability on the input multiplied by the map. */
  masked: number;
  /** steps + 1 points each, x = 0..1. */
  deletion: number[];
  insertion: number[];
}

/**
 * The inputs of every faithfulness measurement of one image, for all its maps at once. They are x times a mask:
 * all ones (Y_c, also every deletion curve's first point and every insertion curve's last), all zeros (the
 * baseline: every deletion curve's last point and insertion curve's first), and per map the map itself (O_c)
 * and the inner points of its deletion and insertion curves: 2 + maps x (2 steps - 1) inputs, where measuring
 * each map alone took maps x 2 (steps + 2). Pixels are ranked by map value (highest first, ties by position);
 * deletion sets the ranked pixels to 0 (in the model's input space), insertion puts them back on a 0 image.
 */
export interface FaithfulnessPlan {
  /** Number of inputs (mask rows). */
  total: number;
  /** Writes mask row r (height x width values) into keep. */
  fill(r: number, keep: Float32Array): void;
  /** The measurements from the class probability of every row. */
  assemble(probs: Float32Array): { y: number; maps: MapFaithfulness[] };
}

export function faithfulnessPlan(height: number, width: number, maps: Float32Array[], steps: number): FaithfulnessPlan {
  const n = height * width;
  const counts = Array.from({ length: steps + 1 }, (_, i) => Math.round((i / steps) * n));
  const ranks = maps.map((map) => {
    if (map.length !== n) throw new RangeError(`map has ${map.length} values, expected ${width}x${height}`);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => map[b] - map[a] || a - b);
    const rank = new Int32Array(n);
    order.forEach((p, r) => (rank[p] = r));
    return rank;
  });
  const inner = steps - 1;
  const perMap = 1 + 2 * inner;
  return {
    total: 2 + maps.length * perMap,
    fill(r, keep) {
      if (r < 2) return void keep.fill(r === 0 ? 1 : 0);
      const m = Math.floor((r - 2) / perMap);
      const k = (r - 2) % perMap;
      if (k === 0) return void keep.set(maps[m]);
      const insert = k > inner;
      const cnt = counts[insert ? k - inner : k];
      const rank = ranks[m];
      for (let p = 0; p < n; p++) keep[p] = (rank[p] < cnt) === insert ? 1 : 0;
    },
    assemble(probs) {
      const y = probs[0];
      const zero = probs[1];
      return {
        y,
        maps: maps.map((_, m) => {
          const at = 2 + m * perMap;
          const del = Array.from(probs.subarray(at + 1, at + 1 + inner));
          const ins = Array.from(probs.subarray(at + 1 + inner, at + perMap));
          return { masked: probs[at], deletion: [y, ...del, zero], insertion: [zero, ...ins, y] };
        }),
      };
    },
  };
}

/** Scores rows [from, to) of a plan, `batch` inputs per call, into out[from..to). */
export function scoreRows(
  x: tf.Tensor4D,
  plan: FaithfulnessPlan,
  probability: ProbabilityFn,
  from: number,
  to: number,
  out: Float32Array,
  batch = 32,
  onProgress?: (done: number, total: number) => void,
): void {
  const [, h, w] = x.shape;
  const n = h * w;
  for (let s = from; s < to; s += batch) {
    const b = Math.min(batch, to - s);
    const keep = new Float32Array(b * n);
    for (let i = 0; i < b; i++) plan.fill(s + i, keep.subarray(i * n, (i + 1) * n));
    out.set(tf.tidy(() => probability(tf.mul(x, tf.tensor4d(keep, [b, h, w, 1])) as tf.Tensor4D)), s);
    onProgress?.(s + b - from, to - from);
  }
}

/**
 * Every faithfulness measurement of one image, for all its maps at once (see FaithfulnessPlan), the inputs
 * scored `batch` at a time whatever map they belong to. (evaluate --jobs spreads a plan's rows over threads
 * with scoreRows, see batch/row-chunks.ts.)
 */
export function imageFaithfulness(
  x: tf.Tensor4D,
  maps: Float32Array[],
  probability: ProbabilityFn,
  steps = 32,
  batch = 32,
  onProgress?: (done: number, total: number) => void,
): { y: number; maps: MapFaithfulness[] } {
  const [, h, w] = x.shape;
  const plan = faithfulnessPlan(h, w, maps, steps);
  const probs = new Float32Array(plan.total);
  scoreRows(x, plan, probability, 0, plan.total, probs, batch, onProgress);
  return plan.assemble(probs);
}

/** Deletion and insertion curves of one map (see imageFaithfulness): steps + 1 points each. */
export function deletionInsertion(x: tf.Tensor4D, map: Float32Array, probability: ProbabilityFn, steps = 32, batch = 32): { deletion: number[]; insertion: number[] } {
  const { deletion, insertion } = imageFaithfulness(x, [map], probability, steps, batch).maps[0];
  return { deletion, insertion };
}
