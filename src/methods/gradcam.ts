/** Grad-CAM (Selvaraju et al. 2017): channel weights are the spatial mean of the gradient. */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, requireGradients, weightedSum } from './types';

export const gradcam: CamMethod = {
  name: 'gradcam',
  title: 'Grad-CAM',
  needsGradients: true,
  needsCamHead: false,
  compute(inputs) {
    const g = requireGradients(inputs, 'Grad-CAM');
    const weights = tf.mean(g, [1, 2]) as tf.Tensor2D; // [k, K]
    return tf.relu(weightedSum(inputs.activations, weights));
  },
};
