/**
 * The element-wise gradient methods: each position of each channel gets its own weight instead of a
 * channel mean.
 *   HiResCAM (Draelos & Carin 2020):   map = sum_k G_k * A_k
 *   Grad-CAM element-wise:            map = sum_k ReLU(G_k * A_k)
 *   LayerCAM (Jiang et al. 2021):     map = sum_k ReLU(G_k) * A_k
 * (then ReLU, like every map)
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromContributions, requireGradients } from './types';

function elementwise(name: string, title: string, contribution: (g: tf.Tensor4D, a: tf.Tensor4D) => tf.Tensor): CamMethod {
  return {
    name,
    title,
    needs: ['gradients'],
    compute(inputs) {
      const g = requireGradients(inputs, title);
      return mapFromContributions(contribution(g, inputs.activations) as tf.Tensor4D, inputs.options);
    },
  };
}

export const hirescam = elementwise('hirescam', 'HiResCAM', (g, a) => tf.mul(g, a));
export const gradcamElementwise = elementwise('gradcam-elementwise', 'Grad-CAM element-wise', (g, a) => tf.relu(tf.mul(g, a)));
export const layercam = elementwise('layercam', 'LayerCAM', (g, a) => tf.mul(tf.relu(g), a));
