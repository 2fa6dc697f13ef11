/**
 * Guided backpropagation and Guided Grad-CAM (Selvaraju et al. 2017, section 3.1; guided backprop from
 * Springenberg et al. 2015). Guided backprop is the input gradient with every ReLU passing only positive
 * gradients through positive activations; Guided Grad-CAM multiplies it, pixel by pixel, with the Grad-CAM map
 * upsampled to the input. Shown as heatmaps of max over channels of |value|.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, MethodInputs, requireGradients, mapFromWeights } from './types';
import { maxAbsOverChannels } from './pixel';

function guidedMap(inputs: MethodInputs, method: string): tf.Tensor3D {
  if (!inputs.input || !inputs.inputGradients) throw new Error(`${method} needs the input and input gradients`);
  return maxAbsOverChannels(inputs.inputGradients(inputs.input, true).gradients);
}

export const guidedBackprop: CamMethod = {
  name: 'guided-backprop',
  title: 'Guided Backprop',
  needs: ['input-gradients', 'guided-relu'],
  level: 'pixel',
  compute(inputs) {
    return guidedMap(inputs, 'Guided backprop');
  },
};

/** [k, h, w] -> per-class (m - min) / (max - min + 1e-7), as the pipeline normalises maps (methods.md). */
export function normalizePerClass(m: tf.Tensor3D): tf.Tensor3D {
  const min = tf.min(m, [1, 2], true);
  const max = tf.max(m, [1, 2], true);
  return tf.div(tf.sub(m, min), tf.add(tf.sub(max, min), 1e-7)) as tf.Tensor3D;
}

export const guidedGradcam: CamMethod = {
  name: 'guided-gradcam',
  title: 'Guided Grad-CAM',
  needs: ['gradients', 'input-gradients', 'guided-relu'],
  compute(inputs) {
    const g = requireGradients(inputs, 'Guided Grad-CAM');
    const cam = mapFromWeights(inputs.activations, tf.mean(g, [1, 2]) as tf.Tensor2D, inputs.options); // [k, h, w]
    const [, H, W] = inputs.input!.shape;
    // Grad-CAM as shown: normalised, upsampled bilinearly (half-pixel centres) to the input, normalised again.
    const up = tf.image.resizeBilinear(tf.expandDims(normalizePerClass(cam), 3) as tf.Tensor4D, [H, W], false, true);
    return tf.mul(guidedMap(inputs, 'Guided Grad-CAM'), normalizePerClass(tf.squeeze(up, [3]) as tf.Tensor3D)) as tf.Tensor3D;
  },
};
