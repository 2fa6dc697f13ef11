/**
 * FullGrad (Srinivas & Fleuret 2019): the input-gradient x input plus the bias-gradients of every convolution and
 * batch-normalization layer, each post-processed as the reference implementation does — psi(t) = |t| shifted to
 * min 0 and divided by (max + 1e-6) over the whole tensor of one image — summed over channels, the layers' maps
 * upsampled bilinearly (corners aligned, as the reference) to the input, and added:
 *   map = sum_c psi(grad_x f * x) + sum_l up(sum_c psi(grad_{z_l} f * b_l)).
 * Pixel-level (input resolution, no target layer). Refused, with the reason, where the model is not piecewise
 * linear or has layers the decomposition cannot see through (src/model/fullgrad.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod } from './types';

/** [k, ...] -> per row |t| - min, / (max + 1e-6). */
export function fullGradPostprocess(t: tf.Tensor): tf.Tensor {
  const a = tf.abs(t);
  const axes = a.shape.slice(1).map((_, i) => i + 1);
  const shifted = tf.sub(a, tf.min(a, axes, true));
  return tf.div(shifted, tf.add(tf.max(shifted, axes, true), 1e-6));
}

export const fullgrad: CamMethod = {
  name: 'fullgrad',
  title: 'FullGrad',
  needs: ['full-gradients'],
  level: 'pixel',
  compute(inputs) {
    if (!inputs.fullGradients) throw new Error('FullGrad needs full gradients');
    const { input, biases } = inputs.fullGradients();
    const [, H, W] = input.shape;
    let map = tf.sum(fullGradPostprocess(input), 3) as tf.Tensor3D;
    for (const b of biases) {
      if (b.rank !== 4) continue; // dense layers complete the sum but have no place in the image
      const m = tf.sum(fullGradPostprocess(b), 3, true) as tf.Tensor4D;
      map = tf.add(map, tf.squeeze(tf.image.resizeBilinear(m, [H, W], true), [3])) as tf.Tensor3D;
    }
    return map;
  },
};
