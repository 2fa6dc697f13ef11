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
import { withSecondOrderGradients } from './second-order';

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
  const free = METHOD_NAMES.filter((n) => !getMethod(n).needs.some((x) => x === 'gradients' || x === 'noisy-gradients' || x === 'input-gradients' || x === 'full-gradients' || x === 'hessian-vector'));
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

/**
 * ShapleyCAM's pieces at a target layer, row i for targets[i]: the gradient G = dy/dA and the Hessian-vector
 * product H A = d/dA sum(G * A0), A0 the activation held fixed (pytorch-grad-cam differentiates the gradient with
 * the activation as its output weights). tfjs records the first backward pass's ops when it runs inside an outer
 * tf.grad, so the outer pass differentiates the inner one: second derivatives through the head after the layer.
 * An op whose gradient has no gradient in tfjs is refused with its name.
 */
export function classGradientsAndHessianVector(fp: ForwardPass, layerIndex: number, classes: TargetLike[], score: ScoreKind, layerName?: string, head: HeadKind = 'softmax'): { gradients: tf.Tensor4D; hessianVector: tf.Tensor4D } {
  try {
    return withSecondOrderGradients(() => withUnfusedOps(() =>
      tf.tidy(() => {
        const a = tileBatch(fp.activations[layerIndex], classes.length);
        const f = (x: tf.Tensor) => tf.sum(targetScores(fp.head(layerIndex, x as tf.Tensor4D), classes, 1, score, head));
        const gradOf = tf.grad(f);
        const gradients = gradOf(a) as tf.Tensor4D;
        // The vector of the product is a copy made outside the differentiated function: tfjs follows tensors, not
        // values, so with `a` itself it would also differentiate the vector and add G (d/dA sum(G A) = H A + G).
        const vector = tf.clone(a);
        // A gradient that does not depend on A (a head linear in A) leaves no path from A to sum(G * A0), and
        // tfjs refuses to differentiate (leaking what its tape had saved): 0 * sum(A) keeps a path whose
        // derivative is 0, so the Hessian comes out as 0.
        const hessianVector = tf.grad((x: tf.Tensor) => tf.add(tf.sum(tf.mul(gradOf(x), vector)), tf.mul(tf.sum(x), 0)))(a) as tf.Tensor4D;
        return { gradients, hessianVector };
      }),
    ));
  } catch (e) {
    const m = /gradient function not found for (\w+)/.exec(e instanceof Error ? e.message : String(e));
    if (!m) throw e;
    const after = layerName ? `after layer '${layerName}'` : 'after the target layer';
    throw new ModelError(`ShapleyCAM needs second derivatives, and the op '${m[1]}' (in the layers ${after} or in their gradients) has no gradient in TensorFlow.js; use --method gradcam (ShapleyCAM without its Hessian term)`);
  }
}
