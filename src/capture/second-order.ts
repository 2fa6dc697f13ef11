/**
 * Second derivatives through tfjs's tape. tfjs records the ops of a backward pass that runs inside an outer
 * tf.grad, so a gradient can be differentiated again; but the tensors an op saves for its gradient are clones made
 * inside the op, which the tape cannot trace back. Where a gradient reads its op's saved *output* (softmax,
 * sigmoid, tanh, exp, ELU, log-softmax: tfjs 4.22's gradients with outputsToSave that are not piecewise constant),
 * the second pass would silently miss that output's dependence on the input and return a wrong Hessian.
 * While fn runs, those gradients are replaced by ones that recompute the output from the saved *input* (whose clone
 * the tape does trace), and put back afterwards. Max pooling and max/min keep theirs: their saved output only
 * picks positions, a choice with zero derivative.
 *
 * Two backward ops that tfjs 4.22 cannot differentiate at all get a gradient here too: average pooling's and a
 * depthwise convolution's input gradients (AvgPoolGrad, DepthwiseConv2dNativeBackpropInput), both linear in dy, so
 * their derivative is the forward op they are the adjoint of (MobileNets pool with AveragePooling2D and are made of
 * depthwise convolutions). Max pooling's gradient (MaxPoolGrad) has none: ShapleyCAM refuses it, naming it.
 */
import * as tf from '@tensorflow/tfjs';

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[], attrs: Record<string, unknown>) => Record<string, () => tf.Tensor>;

const FROM_INPUTS: { kernelName: string; inputsToSave: string[]; gradFunc: GradFunc }[] = [
  {
    kernelName: 'Softmax',
    inputsToSave: ['logits'],
    gradFunc: (dy, [logits], attrs) => ({
      logits: () => {
        const dim = attrs.dim as number;
        const y = tf.softmax(logits, dim);
        const dyY = tf.mul(dy, y);
        return tf.sub(dyY, tf.mul(tf.sum(dyY, [dim], true), y));
      },
    }),
  },
  {
    kernelName: 'LogSoftmax',
    inputsToSave: ['logits'],
    gradFunc: (dy, [logits], attrs) => ({
      logits: () => {
        const axis = attrs.axis as number;
        return tf.sub(dy, tf.mul(tf.sum(dy, axis, true), tf.softmax(logits, axis)));
      },
    }),
  },
  { kernelName: 'Sigmoid', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => { const y = tf.sigmoid(x); return tf.mul(dy, tf.mul(y, tf.sub(1, y))); } }) },
  { kernelName: 'Tanh', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy, tf.sub(1, tf.square(tf.tanh(x)))) }) },
  { kernelName: 'Exp', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy, tf.exp(x)) }) },
  // tfjs's ELU has alpha 1: d elu(x) / dx = 1 for x > 0, exp(x) otherwise. The mask is a step (whose gradient
  // tfjs knows is 0), not a comparison (which has no gradient at all), and exp reads min(x, 0) so as not to overflow.
  {
    kernelName: 'Elu',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({
      x: () => {
        const positive = tf.step(x);
        return tf.mul(dy, tf.add(positive, tf.mul(tf.sub(1, positive), tf.exp(tf.minimum(x, 0)))));
      },
    }),
  },
  {
    kernelName: 'AvgPoolGrad',
    inputsToSave: ['input'],
    gradFunc: (ddx, [input], attrs) => ({
      dy: () => tf.avgPool(ddx as tf.Tensor4D, attrs.filterSize as [number, number], attrs.strides as [number, number], attrs.pad as 'valid'),
      // the input gives only a shape
      input: () => tf.zerosLike(input),
    }),
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    inputsToSave: ['filter'],
    gradFunc: (ddx, [filter], attrs) => ({
      dy: () => tf.depthwiseConv2d(ddx as tf.Tensor4D, filter as tf.Tensor4D, attrs.strides as [number, number], attrs.pad as 'valid', 'NHWC', attrs.dilations as [number, number], attrs.dimRoundingMode as 'round'),
    }),
  },
];

/** Runs fn with the gradients above traceable to second order (not re-entrant-safe across threads: tfjs is one thread). */
export function withSecondOrderGradients<T>(fn: () => T): T {
  const saved = FROM_INPUTS.map((g) => ({ name: g.kernelName, config: tf.getGradient(g.kernelName) }));
  for (const g of FROM_INPUTS) tf.registerGradient(g as unknown as tf.GradConfig);
  try {
    return fn();
  } finally {
    for (const s of saved) {
      if (s.config) tf.registerGradient(s.config);
      else tf.unregisterGradient(s.name);
    }
  }
}
