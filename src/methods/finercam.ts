/**
 * Finer-CAM (Zhang et al. 2025), as pytorch-grad-cam computes it: a class is explained against the classes the
 * model finds most like it. The score explained is not the class's logit z_c but
 *   s = sum_i p_i (z_c - alpha z_i) / (sum_i p_i + 1e-9),
 * the comparison classes i weighted by their softmax probabilities p_i (differentiated too, as the reference
 * does); by default the 3 classes whose logits are closest to z_c, alpha = 1. Any method explains s (the
 * base, Grad-CAM by default): the pipeline runs the base on Finer-CAM's targets (explain-tensor.ts), so this
 * module only says what those targets are.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, MethodOptions } from './types';
import type { Target } from '../capture/targets';

/** The comparison classes pytorch-grad-cam picks: ranks 1..3 of all classes sorted by |z_j - z_c| (rank 0 is c). */
export const FINER_RANKS = [1, 2, 3];

/** The `count` classes other than c whose logits are closest to c's (ties: the lower index first). */
export function mostSimilarClasses(logits: ArrayLike<number>, c: number, count = FINER_RANKS.length): number[] {
  const others = Array.from({ length: logits.length }, (_, j) => j).filter((j) => j !== c);
  others.sort((a, b) => Math.abs(logits[a] - logits[c]) - Math.abs(logits[b] - logits[c]) || a - b);
  return others.slice(0, count);
}

function oneHotColumns(classes: number[], numClasses: number): tf.Tensor2D {
  const m = new Float32Array(numClasses * classes.length);
  classes.forEach((c, i) => (m[c * classes.length + i] = 1));
  return tf.tensor2d(m, [numClasses, classes.length]);
}

/**
 * Finer-CAM's score of class c against `compare` as a function target (logits [n, classes] -> [n]). One-hot
 * products select the logits (no gather, whose gradient WASM lacks).
 */
export function finerTarget(c: number, compare: number[], alpha: number): Target {
  return {
    kind: 'function',
    name: `finer:${c}-vs-${compare.join(',')}`,
    score: (logits) => {
      const numClasses = logits.shape[1];
      const zc = tf.matMul(logits, oneHotColumns([c], numClasses)); // [n, 1]
      const pick = oneHotColumns(compare, numClasses);
      const zs = tf.matMul(logits, pick); // [n, m]
      const ps = tf.matMul(tf.softmax(logits), pick); // [n, m]
      const num = tf.sum(tf.mul(ps, tf.sub(zc, tf.mul(zs, alpha))), 1);
      return tf.div(num, tf.add(tf.sum(ps, 1), 1e-9)) as tf.Tensor1D;
    },
  };
}

/** The classes each explained class is compared with: the given ones (less c itself) or the most similar. */
export function finerComparison(logits: ArrayLike<number>, c: number, options: Pick<MethodOptions, 'finerCompare'>): number[] {
  return options.finerCompare?.length ? options.finerCompare.filter((j) => j !== c) : mostSimilarClasses(logits, c);
}

/** Methods that cannot be Finer-CAM's base, and why. */
export function finerBaseProblem(name: string): string | null {
  if (name === 'finercam') return 'Finer-CAM cannot be its own base';
  if (name === 'cam') return "CAM's weights need a linear score, and Finer-CAM's is not (its comparison classes are weighted by their probabilities)";
  if (name === 'refinecam') return 'RefineCAM combines target layers its own way; use --method finercam --finer-base gradcam++ --aggregate product';
  return null;
}

export const finercam: CamMethod = {
  name: 'finercam',
  title: 'Finer-CAM',
  // What the default base (Grad-CAM) needs; the pipeline runs the base itself, with the base's needs.
  needs: ['gradients'],
  finer: true,
  compute() {
    throw new Error('Finer-CAM runs its base method on its own targets (see explain-tensor.ts)');
  },
};
