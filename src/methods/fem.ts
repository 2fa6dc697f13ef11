/**
 * FEM, the Feature Explanation Method (Fuad et al. 2020), as pytorch-grad-cam computes it: no gradients. A
 * position is salient for channel k where A_k exceeds mean(A_k) + k_sigma * std(A_k) (population std over the
 * positions); channel k's weight is the share of its positions that are salient, and the map is
 * ReLU(sum_k w_k A_k). Class-independent: the same map for every requested class. Like the reference, FEM
 * ignores eigen smoothing (its map is not a weighted channel sum of the kind eigen smoothing replaces).
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, weightedSum } from './types';

/** FEM's channel weights [1, K] for an activation [1, h, w, K]: the share of positions above mean + k * std. */
export function femWeights(activations: tf.Tensor4D, k: number): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(activations, [1, 2], true); // [1, 1, 1, K], population variance
    const threshold = tf.add(mean, tf.mul(tf.sqrt(variance), k));
    const salient = tf.cast(tf.greater(activations, threshold), 'float32');
    return tf.reshape(tf.mean(salient, [1, 2]), [1, activations.shape[3]]) as tf.Tensor2D;
  });
}

export const fem: CamMethod = {
  name: 'fem',
  title: 'FEM',
  needs: ['activations'],
  compute({ activations, classes, options }) {
    if (!(options.femK > 0)) throw new Error(`FEM's k must be > 0 (got ${options.femK})`);
    const one = tf.relu(weightedSum(activations, femWeights(activations, options.femK))); // [1, h, w]
    return tf.tile(one, [classes.length, 1, 1]) as tf.Tensor3D;
  },
};
