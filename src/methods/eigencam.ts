/**
 * Eigen-CAM (Muhammad & Yeasin 2020): the first principal component of the activation, class-independent.
 * EigenGrad-CAM: the same on G * A, so it depends on the class. Orientation: see projection.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, requireGradients } from './types';
import { principalProjection } from './projection';

export const eigencam: CamMethod = {
  name: 'eigencam',
  title: 'Eigen-CAM',
  needs: ['activations'],
  compute({ activations, classes }) {
    const one = tf.relu(principalProjection(tf.squeeze(activations, [0]) as tf.Tensor3D));
    // The same map for every requested class.
    return tf.stack(classes.map(() => one)) as tf.Tensor3D;
  },
};

export const eigengradcam: CamMethod = {
  name: 'eigengradcam',
  title: 'EigenGrad-CAM',
  needs: ['gradients'],
  compute(inputs) {
    const g = requireGradients(inputs, 'EigenGrad-CAM');
    const ga = tf.mul(g, inputs.activations) as tf.Tensor4D;
    return tf.relu(tf.stack(tf.unstack(ga).map((c) => principalProjection(c as tf.Tensor3D)))) as tf.Tensor3D;
  },
};
