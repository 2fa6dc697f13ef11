// Separable bilinear sampling with half-pixel centres (OpenCV INTER_LINEAR / align_corners=false), shared by the
// heatmap upsampling and by the enlarging step of the model-input resize.

/** Per-output-pixel source taps along one axis. */
export interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  frac: Float64Array;
  /** 1 where the output pixel's centre lies within the input's extent [0, n]. */
  inside: Uint8Array;
}

/**
 * Output pixel o (centre o + 0.5) samples input coordinate c = (o + 0.5) * scale + shift, in input pixel units,
 * i.e. input index c - 0.5 between its two neighbours, clamped at the borders (as OpenCV and
 * tf.image.resizeBilinear(halfPixelCenters=true) do).
 */
export function axisTaps(n: number, outN: number, scale: number, shift: number): Taps {
  const t: Taps = { i0: new Int32Array(outN), i1: new Int32Array(outN), frac: new Float64Array(outN), inside: new Uint8Array(outN) };
  for (let o = 0; o < outN; o++) {
    const c = (o + 0.5) * scale + shift;
    t.inside[o] = c >= 0 && c <= n ? 1 : 0;
    const u = Math.min(Math.max(c - 0.5, 0), n - 1);
    const i0 = Math.floor(u);
    t.i0[o] = i0;
    t.i1[o] = Math.min(i0 + 1, n - 1);
    t.frac[o] = u - i0;
  }
  return t;
}

/**
 * Plain bilinear resize of interleaved 8-bit pixels, rounded to nearest. No anti-aliasing, so meant for
 * enlarging (shrinking is left to libvips, which filters properly).
 */
export function bilinearBytes(src: Uint8Array, w: number, h: number, outW: number, outH: number, channels: number): Uint8Array {
  const tx = axisTaps(w, outW, w / outW, 0);
  const ty = axisTaps(h, outH, h / outH, 0);
  const out = new Uint8Array(outW * outH * channels);
  const rowLen = w * channels;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const r0 = ty.i0[y] * rowLen;
    const r1 = ty.i1[y] * rowLen;
    const fy = ty.frac[y];
    for (let x = 0; x < outW; x++) {
      const a = tx.i0[x] * channels;
      const b = tx.i1[x] * channels;
      const fx = tx.frac[x];
      for (let c = 0; c < channels; c++) {
        const top = src[r0 + a + c] + (src[r0 + b + c] - src[r0 + a + c]) * fx;
        const bottom = src[r1 + a + c] + (src[r1 + b + c] - src[r1 + a + c]) * fx;
        out[o++] = (top + (bottom - top) * fy + 0.5) | 0; // within 0..255.5: truncation rounds half up
      }
    }
  }
  return out;
}
