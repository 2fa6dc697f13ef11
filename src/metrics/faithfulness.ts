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

/**
 * Deletion and insertion curves: pixels ranked by map value (highest first, ties by position), in `steps`
 * equal steps. Deletion sets the ranked pixels to the baseline (0 in the model's input space); insertion
 * starts from the baseline and puts the ranked pixels back. Each curve has steps + 1 points (x = 0..1);
 * all the inputs of a curve are scored in batches.
 */
export function deletionInsertion(x: tf.Tensor4D, map: Float32Array, probability: ProbabilityFn, steps = 32, batch = 17): { deletion: number[]; insertion: number[] } {
  const [, h, w, c] = x.shape;
  const n = h * w;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => map[b] - map[a] || a - b);
  const rank = new Int32Array(n);
  order.forEach((p, r) => (rank[p] = r));
  const counts = Array.from({ length: steps + 1 }, (_, i) => Math.round((i / steps) * n));
  const curve = (insert: boolean): number[] => {
    const out: number[] = [];
    for (let s = 0; s < counts.length; s += batch) {
      const part = counts.slice(s, s + batch);
      const probs = tf.tidy(() => {
        // keep[k][p] = 1 where the pixel shows the image at step k
        const keep = new Float32Array(part.length * n);
        part.forEach((cnt, k) => {
          for (let p = 0; p < n; p++) keep[k * n + p] = (rank[p] < cnt) === insert ? 1 : 0;
        });
        return probability(tf.mul(x, tf.tensor4d(keep, [part.length, h, w, 1])) as tf.Tensor4D);
      });
      out.push(...probs);
    }
    return out;
  };
  void c;
  return { deletion: curve(false), insertion: curve(true) };
}
