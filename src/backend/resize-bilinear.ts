/**
 * The gradient of a bilinear resize (NHWC, float32 in, float32 out) on plain arrays: each output pixel spreads its
 * gradient over the four input pixels it was interpolated from, with the forward's weights. The sampling positions
 * are tfjs's own forward ones (tfjs-backend-cpu's ResizeBilinear, which WASM's matches): with `alignCorners` the
 * corner pixels line up, with `halfPixelCenters` pixel centres do.
 *
 * Why our own: the ResizeBilinearGrad kernels of tfjs 4.22 (WASM's and CPU's) ignore halfPixelCenters, so the
 * gradient of tf.image.resizeBilinear(x, size, false, true) is not the gradient of what the forward computed.
 */
export interface ResizeShape {
  batch: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
}

/** One axis: for every output index, the two source indices and the weight of the second (tfjs's forward formula). */
function axisWeights(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): { lo: Int32Array; hi: Int32Array; frac: Float64Array } {
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const source = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    lo[o] = Math.max(0, Math.floor(source));
    hi[o] = Math.min(inSize - 1, Math.ceil(source));
    frac[o] = source - lo[o];
  }
  return { lo, hi, frac };
}

/**
 * dx [batch, inHeight, inWidth, channels] for dy [batch, outHeight, outWidth, channels], summed in double precision
 * (the adjoint of the forward resize). The forward is top + (bottom - top) * rowFrac with top and bottom interpolated
 * along the row the same way, so the four weights are products of (1 - frac) and frac.
 */
export function resizeBilinearGradient(dy: Float32Array, s: ResizeShape, alignCorners: boolean, halfPixelCenters: boolean): Float32Array {
  const rows = axisWeights(s.inHeight, s.outHeight, alignCorners, halfPixelCenters);
  const cols = axisWeights(s.inWidth, s.outWidth, alignCorners, halfPixelCenters);
  const C = s.channels;
  const sum = new Float64Array(s.batch * s.inHeight * s.inWidth * C);
  let at = 0;
  for (let b = 0; b < s.batch; b++) {
    const image = b * s.inHeight;
    for (let r = 0; r < s.outHeight; r++) {
      const top = (image + rows.lo[r]) * s.inWidth;
      const bottom = (image + rows.hi[r]) * s.inWidth;
      const rf = rows.frac[r];
      for (let c = 0; c < s.outWidth; c++) {
        const cf = cols.frac[c];
        const w = [(1 - rf) * (1 - cf), (1 - rf) * cf, rf * (1 - cf), rf * cf];
        const to = [(top + cols.lo[c]) * C, (top + cols.hi[c]) * C, (bottom + cols.lo[c]) * C, (bottom + cols.hi[c]) * C];
        for (let d = 0; d < C; d++, at++) {
          const g = dy[at];
          for (let k = 0; k < 4; k++) sum[to[k] + d] += w[k] * g;
        }
      }
    }
  }
  return Float32Array.from(sum);
}
