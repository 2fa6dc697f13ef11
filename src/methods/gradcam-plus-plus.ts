/**
 * Grad-CAM++ (Chattopadhyay et al. 2018), in the closed form used by pytorch-grad-cam (exponential score):
 * alpha = G^2 / (2 G^2 + S_k G^3 + eps), S_k = sum_ij A_ijk; w_k = sum_ij ReLU(G) alpha.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromWeights, requireGradients } from './types';

const EPS = 1e-6;

/** Channel weights [k, K] from gradient moments; shared with Smooth Grad-CAM++ which averages the moments. */
export function gradcamPlusPlusWeights(g: tf.Tensor4D, g2: tf.Tensor4D, g3: tf.Tensor4D, activations: tf.Tensor4D): tf.Tensor2D {
  const sumA = tf.sum(activations, [1, 2], true); // [1, 1, 1, K]
  const denom = tf.add(tf.add(tf.mul(g2, 2), tf.mul(sumA, g3)), EPS);
  const alpha = tf.where(tf.notEqual(g, 0), tf.div(g2, denom), tf.zerosLike(g));
  return tf.sum(tf.mul(tf.relu(g), alpha), [1, 2]) as tf.Tensor2D;
}

export const gradcamPlusPlus: CamMethod = {
  name: 'gradcam++',
  title: 'Grad-CAM++',
  needs: ['gradients'],
  compute(inputs) {
    const g = requireGradients(inputs, 'Grad-CAM++');
    const g2 = tf.square(g) as tf.Tensor4D;
    const g3 = tf.mul(g2, g) as tf.Tensor4D;
    return mapFromWeights(inputs.activations, gradcamPlusPlusWeights(g, g2, g3, inputs.activations), inputs.options);
  },
};
