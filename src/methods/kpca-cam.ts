/**
 * KPCA-CAM (Karmani et al. 2024), as pytorch-grad-cam computes it: no gradients. The activation [h, w, K] is read
 * as h*w samples of K features, each feature centred, and the map is ReLU of the samples' projection on their first
 * kernel principal component (kernel-pca.ts: scikit-learn's KernelPCA, its sign rule, its defaults).
 * Class-independent: the same map for every requested class.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod } from './types';
import { kernelPcaProjection } from './kernel-pca';

export const kpcaCam: CamMethod = {
  name: 'kpca-cam',
  title: 'KPCA-CAM',
  needs: ['activations'],
  compute({ activations, classes, options }) {
    const [, h, w, K] = activations.shape;
    const x = Float64Array.from(activations.dataSync());
    for (let i = 0; i < x.length; i++) if (Number.isNaN(x[i])) x[i] = 0; // as the reference
    const proj = kernelPcaProjection(x, h * w, K, options.kpcaKernel, options.kpcaGamma ?? 1 / K);
    const one = tf.relu(tf.tensor3d(Float32Array.from(proj), [1, h, w]));
    return tf.tile(one, [classes.length, 1, 1]) as tf.Tensor3D;
  },
};
