// Small models built by the tests, with seeded weights, so expected values can be derived independently.
import * as tf from '@tensorflow/tfjs';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/**
 * A residual model with a skip connection around the target layer 'target':
 *   x -> conv 'c1' (relu) -> conv 'target' -> depthwise 'dw' -> BN 'bn' -> relu 'r' -> add(c1, r) -> GAP -> dense 'logits'
 * c1 reaches the Add without passing through 'target', so the head after 'target' reads c1 too.
 */
export function residualModel(opts: { size?: number; classes?: number; softmax?: boolean } = {}): tf.LayersModel {
  const size = opts.size ?? 8;
  const x = tf.input({ shape: [size, size, 3], name: 'image' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'c1' }).apply(x) as tf.SymbolicTensor;
  const t = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(2), biasInitializer: tf.initializers.constant({ value: 0.1 }), name: 'target' }).apply(c1) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(3), name: 'dw' }).apply(t) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn', movingMeanInitializer: tf.initializers.constant({ value: 0.05 }), movingVarianceInitializer: tf.initializers.constant({ value: 1.7 }), gammaInitializer: tf.initializers.constant({ value: 1.3 }), betaInitializer: tf.initializers.constant({ value: 0.02 }) }).apply(dw) as tf.SymbolicTensor;
  const r = tf.layers.activation({ activation: 'relu', name: 'r' }).apply(bn) as tf.SymbolicTensor;
  const add = tf.layers.add({ name: 'add' }).apply([c1, r]) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(add) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: opts.classes ?? 5, kernelInitializer: init(4), biasInitializer: tf.initializers.constant({ value: 0.3 }), activation: opts.softmax ? 'softmax' : 'linear', name: 'logits' }).apply(gap) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: out });
}

/** conv -> conv 'feat' (relu) -> GAP -> dense: the CAM paper's design. */
export function gapDenseModel(size = 8, classes = 4): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [size, size, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(11), name: 'c1' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(12), name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: classes, kernelInitializer: init(13), name: 'fc' }),
    ],
  });
}

/**
 * conv 1x1 with positive weights + relu -> GAP -> dense on 16x16 images: class 0 is the image's brightness and
 * class 1 its negative, so a map of class 0 lands on a bright spot drawn on black (the evaluate tests).
 */
export function brightnessModel(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 2, kernelSize: 1, activation: 'relu', name: 'feat' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 2, name: 'fc' }),
    ],
  });
  m.getLayer('feat').setWeights([tf.tensor4d([1, 0.5, 1, 0.5, 1, 0.5], [1, 1, 3, 2]), tf.tensor1d([0, 0])]);
  m.getLayer('fc').setWeights([tf.tensor2d([1, -1, 1, -1], [2, 2]), tf.tensor1d([0, 0])]);
  return m;
}

/** A deterministic pseudo-random input in [0, 1). */
export function seededInput(shape: number[], seed = 7): tf.Tensor4D {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    v[i] = s / 2 ** 32;
  }
  return tf.tensor4d(v, shape as [number, number, number, number]);
}
