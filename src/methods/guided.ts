/**
 * Guided backpropagation and Guided Grad-CAM (Selvaraju et al. 2017, section 3.1; guided backprop from
 * Springenberg et al. 2015). Guided backprop is the input gradient with every ReLU passing only positive
 * gradients through positive activations; Guided Grad-CAM multiplies it, pixel by pixel, with the Grad-CAM map
 * upsampled to the input. Their maps are max over channels of |value|; the signed values per channel go to
 * `keepSigned` for the Grad-CAM paper's gradient images (drawn so by default: render/gradient.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, MethodInputs, requireGradients, mapFromWeights } from './types';
import { maxAbsOverChannels } from './pixel';

/** The guided gradient [k, H, W, C] of the input. */
function guidedGradient(inputs: MethodInputs, method: string): tf.Tensor4D {
  if (!inputs.input || !inputs.inputGradients) throw new Error(`${method} needs the input and input gradients`);
  const g = inputs.inputGradients(inputs.input, true).gradients;
  const [k, , H, W, C] = g.shape;
  return tf.reshape(g, [k, H, W, C]);
}

/** [k, H, W, C] -> [k, H, W]: max over channels of |g|. */
const maxAbs = (g: tf.Tensor4D) => maxAbsOverChannels(tf.expandDims(g, 1));

export const guidedBackprop: CamMethod = {
  name: 'guided-backprop',
  title: 'Guided Backprop',
  needs: ['input-gradients', 'guided-relu'],
  level: 'pixel',
  compute(inputs) {
    const g = guidedGradient(inputs, 'Guided backprop');
    inputs.keepSigned?.(g);
    return maxAbs(g);
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
    const weight = normalizePerClass(tf.squeeze(up, [3]) as tf.Tensor3D); // [k, H, W]
    const guided = guidedGradient(inputs, 'Guided Grad-CAM');
    // The paper's Guided Grad-CAM image: the guided gradient, every channel weighted by the map.
    inputs.keepSigned?.(tf.mul(guided, tf.expandDims(weight, 3)) as tf.Tensor4D);
    return tf.mul(maxAbs(guided), weight) as tf.Tensor3D;
  },
};
