/**
 * Smooth Grad-CAM++ (Omeiza et al. 2019): Grad-CAM++ with G, G^2 and G^3 averaged over n noisy copies of the
 * input, x + N(0, sigma^2) with sigma = level * (max(x) - min(x)); the activation is the clean image's.
 * The noise is seeded, so runs repeat exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromWeights } from './types';
import { gradcamPlusPlusWeights } from './gradcam-plus-plus';

export const smoothGradcamPlusPlus: CamMethod = {
  name: 'smoothgradcam++',
  title: 'Smooth Grad-CAM++',
  needs: ['noisy-gradients'],
  compute({ activations, input, gradientsAt, options }) {
    if (!input || !gradientsAt) throw new Error('Smooth Grad-CAM++ needs the input and gradients');
    const n = Math.max(1, options.noiseSamples);
    const sigma = tf.tidy(() => (tf.max(input).dataSync()[0] - tf.min(input).dataSync()[0]) * options.noiseLevel);
    let sums: tf.Tensor4D[] | null = null;
    for (let s = 0; s < n; s++) {
      const next: tf.Tensor4D[] = tf.tidy(() => {
        const noisy = tf.add(input, tf.randomNormal(input.shape, 0, sigma, 'float32', options.seed * 1000 + s + 1)) as tf.Tensor4D;
        const g = gradientsAt(noisy);
        const g2 = tf.square(g);
        const moments = [g, g2, tf.mul(g2, g)] as tf.Tensor4D[];
        return sums ? moments.map((m, i) => tf.add(sums![i], m) as tf.Tensor4D) : moments;
      });
      sums?.forEach((t) => t.dispose());
      sums = next;
      options.onProgress?.(s + 1, n);
    }
    const [g, g2, g3] = sums!.map((t) => tf.div(t, n) as tf.Tensor4D);
    return mapFromWeights(activations, gradcamPlusPlusWeights(g, g2, g3, activations), options);
  },
};
