/** XGrad-CAM (Fu et al. 2020): gradients weighted by the normalised activation, w_k = sum G A / (sum A + 1e-7). */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromWeights, requireGradients } from './types';

export const xgradcam: CamMethod = {
  name: 'xgradcam',
  title: 'XGrad-CAM',
  needs: ['gradients'],
  compute(inputs) {
    const g = requireGradients(inputs, 'XGrad-CAM');
    const a = inputs.activations;
    const weights = tf.div(tf.sum(tf.mul(g, a), [1, 2]), tf.add(tf.sum(a, [1, 2]), 1e-7)) as tf.Tensor2D;
    return mapFromWeights(a, weights, inputs.options);
  },
};
