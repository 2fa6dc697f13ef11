/**
 * ShapleyCAM (Cai 2025), as pytorch-grad-cam computes it: channel weights are the spatial mean of
 * G - 0.5 * H A, with G = dy/dA and H A the Hessian-vector product of the score with the activation (a
 * second-order expansion of the score's Shapley values); map = ReLU(sum_k w_k A_k), or eigen smoothing. Where the
 * score is piecewise linear in A (a logit behind ReLUs, pooling and linear layers) H A = 0 and it is Grad-CAM.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromWeights } from './types';

export const shapleycam: CamMethod = {
  name: 'shapleycam',
  title: 'ShapleyCAM',
  needs: ['hessian-vector'],
  compute(inputs) {
    if (!inputs.hessianVector) throw new Error('ShapleyCAM needs the Hessian-vector product');
    const { gradients, hessianVector } = inputs.hessianVector();
    const weights = tf.mean(tf.sub(gradients, tf.mul(hessianVector, 0.5)), [1, 2]) as tf.Tensor2D;
    return mapFromWeights(inputs.activations, weights, inputs.options);
  },
};
