/**
 * d(score)/dA at a target layer for several classes at once: the activation is tiled to one row per class,
 * the head runs once on the batch, and one backward pass gives every class's gradient (row i of the result is
 * the gradient of class i's score; rows do not interact because inference-mode layers are per-example).
 */
import * as tf from '@tensorflow/tfjs';
import { ForwardPass, tileBatch } from '../model/classifier';
import { withUnfusedOps } from '../backend/gradient-mode';
import { getMethod, METHOD_NAMES } from '../methods';
import { ModelError } from '../util/errors';
import { HeadKind, probabilitiesOf } from '../model/head';
import { TargetLike, targetScores } from './targets';

export type ScoreKind = 'logit' | 'probability';

/** A [k, numClasses] 0/1 matrix selecting class i in row i (a product and a sum select the score; no gather, whose gradient WASM lacks). */
export function classSelector(classes: number[], numClasses: number): tf.Tensor2D {
  const m = new Float32Array(classes.length * numClasses);
  classes.forEach((c, i) => (m[i * numClasses + c] = 1));
  return tf.tensor2d(m, [classes.length, numClasses]);
}

/** Each row's selected score: the logit, or its probability as the model's head computes it (softmax or sigmoid). */
export function scoresOf(logits: tf.Tensor2D, selector: tf.Tensor2D, score: ScoreKind, head: HeadKind = 'softmax'): tf.Tensor1D {
  const s = score === 'probability' ? probabilitiesOf(logits, head) : logits;
  return tf.sum(tf.mul(s, selector), 1);
}

/**
 * tfjs has no gradient for some ops (DepthToSpace, StridedSlice, Einsum, ... in 4.22) and says so in a message that
 * names neither the layer nor a way out. That is a property of the model, the same for every image: a ModelError
 * naming the op and the methods that need no gradients.
 */
export function noGradientError(e: unknown, layerName?: string): ModelError | null {
  const m = /gradient function not found for (\w+)/.exec(e instanceof Error ? e.message : String(e));
  if (!m) return null;
  const free = METHOD_NAMES.filter((n) => !getMethod(n).needs.some((x) => x === 'gradients' || x === 'noisy-gradients' || x === 'input-gradients' || x === 'full-gradients'));
  const after = layerName ? `after layer '${layerName}'` : 'after the target layer';
  return new ModelError(`the op '${m[1]}' ${after} has no gradient in TensorFlow.js; use a method that needs no gradients: --method ${free.join(', ')} (or a target layer after that op)`);
}

/**
 * Returns [k, h, w, K] gradients, row i for classes[i] (a class index or any target, src/capture/targets.ts).
 * `layerName` only makes error messages precise. `numClasses` is kept for callers; the logits give it.
 */
export function classGradients(fp: ForwardPass, layerIndex: number, classes: TargetLike[], score: ScoreKind, numClasses: number, layerName?: string, head: HeadKind = 'softmax'): tf.Tensor4D {
  void numClasses;
  try {
    return withUnfusedOps(() =>
      tf.tidy(() => {
        const a = tileBatch(fp.activations[layerIndex], classes.length);
        const f = (x: tf.Tensor) => tf.sum(targetScores(fp.head(layerIndex, x as tf.Tensor4D), classes, 1, score, head));
        return tf.grad(f)(a) as tf.Tensor4D;
      }),
    );
  } catch (e) {
    throw noGradientError(e, layerName) ?? e;
  }
}
