/**
 * Score-CAM (Wang et al. 2020): no gradients. Each channel, upsampled to the input (bilinear, corners aligned,
 * as the reference) and min-max normalised, masks the input; the masked input's class score s_k is its
 * weight after a softmax over channels. Batched forward passes, each batch in its own tidy scope, so memory
 * stays bounded whatever the channel count. With maxChannels, only the channels of highest spatial variance
 * are scored (the others get weight 0).
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromWeights, scoresOfChannels } from './types';
import { channelsToScore, constantChannels, inBatches } from './channels';

export const scorecam: CamMethod = {
  name: 'scorecam',
  title: 'Score-CAM',
  needs: ['input-scores'],
  channelScores({ activations, input, scoreInputs, options }, channels) {
    if (!input || !scoreInputs) throw new Error('Score-CAM needs the input and a scorer');
    const [, H, W] = input.shape;
    return inBatches(
      channels,
      options.batchSize,
      (batch) =>
        tf.tidy(() => {
          const picked = tf.gather(activations, batch, 3); // [1, h, w, n]
          const masks = tf.image.resizeBilinear(tf.transpose(picked, [3, 1, 2, 0]) as tf.Tensor4D, [H, W], true); // [n, H, W, 1]
          const min = tf.min(masks, [1, 2, 3], true);
          const max = tf.max(masks, [1, 2, 3], true);
          const norm = tf.div(tf.sub(masks, min), tf.add(tf.sub(max, min), 1e-8));
          return scoreInputs(tf.mul(input, norm) as tf.Tensor4D).arraySync() as number[][]; // [n, k]
        }),
      options.onProgress,
    ).flat();
  },
  compute(inputs) {
    const { activations, classes, options } = inputs;
    const K = activations.shape[3];
    const channels = channelsToScore(activations, options.maxChannels);
    // A constant channel (after a ReLU, often all zero) normalises to a mask of exactly 0: every such channel
    // masks the input to the same all-zero image, scored once here instead of once per channel.
    const constant = constantChannels(activations);
    const varying = channels.filter((ch) => !constant.has(ch));
    const varyingScores = varying.length ? scoresOfChannels(scorecam, inputs, varying) : [];
    const zeroScores = varying.length < channels.length ? tf.tidy(() => inputs.scoreInputs!(tf.zerosLike(inputs.input!) as tf.Tensor4D).arraySync()[0] as number[]) : [];
    let next = 0;
    const scores = channels.map((ch) => (constant.has(ch) ? zeroScores : varyingScores[next++]));
    // softmax over the scored channels, per class
    const w = new Float32Array(classes.length * K);
    for (let c = 0; c < classes.length; c++) {
      const s = scores.map((row) => row[c]);
      const max = Math.max(...s);
      const e = s.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      channels.forEach((ch, i) => (w[c * K + ch] = e[i] / sum));
    }
    return mapFromWeights(activations, tf.tensor2d(w, [classes.length, K]), options);
  },
};
