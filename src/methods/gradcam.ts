/** Grad-CAM (Selvaraju et al. 2017): channel weights are the spatial mean of the gradient. */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromWeights, requireGradients } from './types';

export const gradcam: CamMethod = {
  name: 'gradcam',
  title: 'Grad-CAM',
  needs: ['gradients'],
  compute(inputs) {
    const g = requireGradients(inputs, 'Grad-CAM');
    return mapFromWeights(inputs.activations, tf.mean(g, [1, 2]) as tf.Tensor2D, inputs.options);
  },
};
