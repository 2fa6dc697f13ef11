/** CAM (Zhou et al. 2016): the linear classifier's weights after global average pooling weigh the channels. */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, mapFromWeights } from './types';

export const cam: CamMethod = {
  name: 'cam',
  title: 'CAM',
  needs: ['cam-head'],
  compute({ activations, cam: head, options }) {
    if (!head) throw new Error('CAM needs the classifier weights');
    if ('channels' in head) {
      // The target's channels are the class maps (a linear 1x1 conv right before the pooling).
      const maps = head.channels.map((c) => tf.slice(activations, [0, 0, 0, c], [1, -1, -1, 1]));
      return tf.relu(tf.reshape(tf.concat(maps, 0), [head.channels.length, activations.shape[1], activations.shape[2]]));
    }
    return mapFromWeights(activations, tf.transpose(head.weights) as tf.Tensor2D, options);
  },
};
