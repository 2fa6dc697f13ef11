/**
 * Max pooling's bookkeeping on plain arrays (NHWC, float32): which input element is each window's maximum, and
 * the gradient that follows from it. The maths of tfjs's CPU kernels (and TensorFlow's): the first maximum of a
 * window in row-major window order wins ties; padding never wins; NaN never wins; a window with nothing above
 * -Infinity has no maximum (position -1, no gradient).
 *
 * Why our own: tfjs-backend-wasm 4.22 starts its search for the maximum at FLT_MIN (the smallest positive float)
 * instead of -Infinity, in MaxPoolGrad and in MaxPoolWithArgmax: a window whose maximum is <= 0 loses its gradient
 * (it goes to one wrong element, once), MaxPoolWithArgmax returns 1.2e-38 for such a window, and both give ties to
 * the last maximum. The plain loop here is also faster than WASM's own MaxPoolGrad (measured in docs/kernels.md).
 */

export interface PoolGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * For every output element [b, oy, ox, c] (row-major, NHWC), the flat index into x ([b, y, x, c], batch included)
 * of its window's first maximum, or -1.
 */
export function firstMaxPositions(x: Float32Array, g: PoolGeometry): Int32Array {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const out = new Int32Array(batchSize * OH * OW * C).fill(-1);
  const best = new Float32Array(C);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * g.strideHeight - g.padTop;
      const yFrom = Math.max(0, y0);
      const yTo = Math.min(H, y0 + g.filterHeight);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * g.strideWidth - g.padLeft;
        const xFrom = Math.max(0, x0);
        const xTo = Math.min(W, x0 + g.filterWidth);
        const o = ((b * OH + oy) * OW + ox) * C;
        best.fill(-Infinity);
        // Row-major over the window, channels innermost: the first strictly greater value wins, as on CPU.
        for (let y = yFrom; y < yTo; y++) {
          for (let xx = xFrom; xx < xTo; xx++) {
            const at = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) {
              const v = x[at + c];
              if (v > best[c]) {
                best[c] = v;
                out[o + c] = at + c;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * dx = the sum, over the windows whose first maximum an input element is, of those windows' dy. Where windows
 * overlap, an element can collect several: they are added in row-major window order and in double precision,
 * rounded once, as the CPU kernel adds them (a float32 running sum differs in the last bit). `dx` is overwritten.
 */
export function maxPoolGradient(positions: Int32Array, dy: Float32Array, dx: Float32Array, overlapping: boolean): void {
  if (!overlapping) {
    dx.fill(0);
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i];
      if (p >= 0) dx[p] = dy[i];
    }
    return;
  }
  const sum = new Float64Array(dx.length);
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    if (p >= 0) sum[p] += dy[i];
  }
  dx.set(sum);
}
