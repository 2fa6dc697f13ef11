/**
 * Ablation-CAM (Desai & Ramaswamy 2020): no gradients. Channel k's weight is the relative drop of the class
 * score when that channel is removed: w_k = (s_0 - s_k) / s_0. "Removed" follows pytorch-grad-cam: set to 0
 * when the activation's minimum is 0 (after ReLU), else to min(A) - 1e7. Only the head after the target
 * layer runs, on batches of ablated activations.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromWeights, scoresOfChannels } from './types';
import { channelsToScore, inBatches } from './channels';

const ABLATION_OFFSET = 1e7;

/** The value that stands for "channel removed": 0 after a ReLU, else far below every activation. */
function ablationValue(activations: tf.Tensor4D): number {
  const min = tf.tidy(() => tf.min(activations).dataSync()[0]);
  return min === 0 ? 0 : min - ABLATION_OFFSET;
}

export const ablationcam: CamMethod = {
  name: 'ablationcam',
  title: 'Ablation-CAM',
  needs: ['head-scores'],
  channelScores({ activations, scoreActivations, options }, channels) {
    if (!scoreActivations) throw new Error('Ablation-CAM needs the head scorer');
    const K = activations.shape[3];
    const value = ablationValue(activations);
    return inBatches(
      channels,
      options.batchSize,
      (batch) =>
        tf.tidy(() => {
          const mask = tf.reshape(tf.oneHot(tf.tensor1d(batch, 'int32'), K), [batch.length, 1, 1, K]); // 1 at the ablated channel
          const ablated = tf.add(tf.mul(activations, tf.sub(1, mask)), tf.mul(mask, value)) as tf.Tensor4D;
          return scoreActivations(ablated).arraySync() as number[][];
        }),
      options.onProgress,
    ).flat();
  },
  compute(inputs) {
    const { activations, scoreActivations, classes, options } = inputs;
    if (!scoreActivations) throw new Error('Ablation-CAM needs the head scorer');
    const K = activations.shape[3];
    const s0 = tf.tidy(() => scoreActivations(activations).dataSync()); // [k]
    const channels = channelsToScore(activations, options.maxChannels);
    const scores = scoresOfChannels(ablationcam, inputs, channels);
    const w = new Float32Array(classes.length * K);
    for (let c = 0; c < classes.length; c++) channels.forEach((ch, i) => (w[c * K + ch] = (s0[c] - scores[i][c]) / s0[c]));
    return mapFromWeights(activations, tf.tensor2d(w, [classes.length, K]), options);
  },
};
