/**
 * The shared interface of all class activation methods. A method is a pure function of tensors: given the
 * target layer's activation (and, depending on the method, the class gradients or the CAM weights) it returns
 * one low-resolution map per requested class. Everything else (picking classes, normalising, upsampling,
 * colouring, files) belongs to the pipeline.
 */
import * as tf from '@tensorflow/tfjs';

export interface MethodInputs {
  /** [1, h, w, K] activation of the target layer for one image. */
  activations: tf.Tensor4D;
  /** [k, h, w, K] gradient of each requested class's score with respect to the activation. */
  gradients?: tf.Tensor4D;
  /** For CAM: [K, k] weights of the linear classifier for the requested classes, or 'channels' when the
   * activation's channels are themselves the class maps. */
  cam?: { weights: tf.Tensor2D } | { channels: number[] };
}

export interface CamMethod {
  /** Name used on the command line. */
  name: string;
  /** Human-readable name. */
  title: string;
  needsGradients: boolean;
  needsCamHead: boolean;
  /** Returns [k, h, w] maps (not normalised). Runs inside the caller's tidy scope. */
  compute(inputs: MethodInputs): tf.Tensor3D;
}

/** sum_K w[i, K] * A[h, w, K] for every class i: [1,h,w,K] x [k,K] -> [k,h,w]. */
export function weightedSum(activations: tf.Tensor4D, weights: tf.Tensor2D): tf.Tensor3D {
  const [, h, w, K] = activations.shape;
  const flat = tf.reshape(activations, [h * w, K]);
  const maps = tf.matMul(weights, flat, false, true); // [k, h*w]
  return tf.reshape(maps, [weights.shape[0], h, w]);
}

export function requireGradients(inputs: MethodInputs, method: string): tf.Tensor4D {
  if (!inputs.gradients) throw new Error(`${method} needs gradients`);
  return inputs.gradients;
}
