/**
 * tfjs-layers runs Conv2D, DepthwiseConv2D and Dense as fused ops. A fused op's gradient always computes the
 * filter and bias gradients too, which we never need (we differentiate with respect to activations only) and
 * which WASM cannot compute natively. While a gradient is being taken we route the fused ops to their unfused
 * equivalents: the unfused gradients compute only what the chain rule asks for. Same forward values.
 */
import * as tf from '@tensorflow/tfjs';

type FusedConvArgs = Parameters<typeof tf.fused.conv2d>[0];
type FusedDepthwiseArgs = Parameters<typeof tf.fused.depthwiseConv2d>[0];
type FusedMatMulArgs = Parameters<typeof tf.fused.matMul>[0];
type Activation = FusedConvArgs['activation'];

function applyActivation(x: tf.Tensor, activation: Activation, prelu?: tf.Tensor | tf.TensorLike, leakyAlpha?: number): tf.Tensor {
  switch (activation ?? 'linear') {
    case 'linear': return x;
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'elu': return tf.elu(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'leakyrelu': return tf.leakyRelu(x, leakyAlpha ?? 0.2);
    case 'prelu': return tf.prelu(x, prelu as tf.Tensor);
    default: throw new Error(`unsupported fused activation '${activation}'`);
  }
}

function withBias(x: tf.Tensor, bias?: tf.Tensor | tf.TensorLike): tf.Tensor {
  return bias == null ? x : tf.add(x, bias as tf.Tensor);
}

const unfused = {
  conv2d(a: FusedConvArgs): tf.Tensor {
    const y = tf.conv2d(a.x as tf.Tensor4D, a.filter as tf.Tensor4D, a.strides, a.pad, a.dataFormat, a.dilations, a.dimRoundingMode);
    return applyActivation(withBias(y, a.bias), a.activation, a.preluActivationWeights, a.leakyreluAlpha);
  },
  depthwiseConv2d(a: FusedDepthwiseArgs): tf.Tensor {
    const y = tf.depthwiseConv2d(a.x as tf.Tensor4D, a.filter as tf.Tensor4D, a.strides, a.pad, a.dataFormat, a.dilations, a.dimRoundingMode);
    return applyActivation(withBias(y, a.bias), a.activation, a.preluActivationWeights, a.leakyreluAlpha);
  },
  matMul(a: FusedMatMulArgs): tf.Tensor {
    const y = tf.matMul(a.a as tf.Tensor, a.b as tf.Tensor, a.transposeA, a.transposeB);
    return applyActivation(withBias(y, a.bias), a.activation, a.preluActivationWeights, a.leakyreluAlpha);
  },
};

let depth = 0;
let saved: { conv2d: unknown; depthwiseConv2d: unknown; matMul: unknown } | null = null;

/**
 * Whether tf.fused's functions can be replaced: in Node (CommonJS) they can; in an ES module bundle (the browser
 * build) the namespace's properties are read-only. There the fused ops stay: tfjs-core then runs a fused op with
 * a non-linear activation unfused under a gradient anyway, and WebGL has the kernels a linear one's gradient
 * needs (WASM gets them from wasm-kernels.ts), so only the extra filter and bias gradients are lost time.
 */
const patchable = Object.getOwnPropertyDescriptor(tf.fused, 'conv2d')?.writable === true || Object.getOwnPropertyDescriptor(tf.fused, 'conv2d')?.set != null;

/** Runs fn with the fused layer ops replaced by unfused ones (re-entrant). */
export function withUnfusedOps<T>(fn: () => T): T {
  if (!patchable) return fn();
  const fused = tf.fused as unknown as Record<string, unknown>;
  if (depth === 0) {
    saved = { conv2d: fused.conv2d, depthwiseConv2d: fused.depthwiseConv2d, matMul: fused.matMul };
    fused.conv2d = unfused.conv2d;
    fused.depthwiseConv2d = unfused.depthwiseConv2d;
    fused.matMul = unfused.matMul;
  }
  depth++;
  try {
    return fn();
  } finally {
    depth--;
    if (depth === 0 && saved) {
      fused.conv2d = saved.conv2d;
      fused.depthwiseConv2d = saved.depthwiseConv2d;
      fused.matMul = saved.matMul;
      saved = null;
    }
  }
}
