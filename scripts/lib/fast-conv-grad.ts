/**
 * A fast Conv2DBackpropFilter for the WASM backend, for training only.
 *
 * Why: tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter. src/backend/wasm-kernels.ts stands in with the pure-JS
 * CPU kernel, which is correct but reads every element through TensorBuffer accessors: one 3x3 conv of 16->32
 * channels at 32x32 on 16 images took ~25 s, i.e. hours per epoch. The filter gradient
 *
 *   dW[i, j, c, o] = sum_{b, y, x} xpad[b, y*s + i, x*s + j, c] * dy[b, y, x, o]
 *
 * which is itself a convolution: with the batch axis moved to the channel position, the padded input
 * ([Ci, Hp, Wp, B]) convolved with dy as the filter ([Ho, Wo, B, Co], dilated by the stride) gives [Ci, kh, kw, Co].
 * WASM runs that as one XNNPACK convolution (plus pads/transposes): 20-60 ms for the example above. Same values as the CPU kernel up to
 * float summation order.
 *
 * The library itself never needs filter gradients (it differentiates with respect to activations), so this stays
 * in scripts/ and is installed only by the training scripts.
 */
import * as tf from '@tensorflow/tfjs';

type Attrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

function conv2dBackpropFilterAsConv(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  if (attrs.dataFormat !== 'NHWC') throw new Error('fast Conv2DBackpropFilter: only NHWC is supported');
  const [kh, kw, ci, co] = attrs.filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  const { top, bottom, left, right } = info.padInfo;
  return tf.tidy(() => {
    const xp = top || bottom || left || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [Ci, Hp, Wp, B]
    const f = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, B, Co]
    // With stride s, tap (i, j) sees rows y*s + i: a filter dilated by s. 'same' padding with s > 1 can leave
    // spare rows/columns at the bottom/right, hence the slice to exactly kh x kw taps.
    let g = tf.conv2d(xt, f, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]) as tf.Tensor4D;
    if (g.shape[1] !== kh || g.shape[2] !== kw) g = tf.slice(g, [0, 0, 0, 0], [ci, kh, kw, co]);
    return tf.transpose(g, [1, 2, 0, 3]); // [kh, kw, Ci, Co]
  });
}

/**
 * Replaces the 'wasm' Conv2DBackpropFilter kernel (the slow CPU stand-in) with the convolution version.
 * Call after initBackend('wasm'). Idempotent.
 */
export function installFastConvFilterGradient(): void {
  const name = 'Conv2DBackpropFilter';
  if (tf.getKernel(name, 'wasm') != null) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    // Ops call runKernel with Tensor inputs, so tf ops can run on them here; the engine accepts a Tensor as a
    // kernel output, and ops run inside a kernel are not recorded on the gradient tape.
    kernelFunc: ({ inputs, attrs }) =>
      conv2dBackpropFilterAsConv(
        inputs.x as tf.Tensor4D,
        inputs.dy as tf.Tensor4D,
        attrs as unknown as Attrs,
      ) as unknown as tf.TensorInfo,
  });
}
