/**
 * Signed attributions (saliency's gradient, SmoothGrad, Integrated Gradients, guided backprop, Guided Grad-CAM) as
 * one signed value per pixel on a scale centred on zero, the way Captum's `visualize_image_attr` draws them with
 * sign 'all': the attribution summed over the input channels, divided by a clip value and clipped to [-1, 1].
 *
 * The clip value is Captum's `_cumulative_sum_threshold(|a|, 100 - outlierPercent)`: with the |values| sorted
 * ascending, the first one at which their running sum reaches (100 - p)% of the total. So the largest values that
 * together hold p% of all |attribution| (2% by default) saturate at the colour map's ends, and one extreme pixel
 * cannot wash out the rest (a min-max scale left Integrated Gradients almost uniformly one colour). It is a share
 * of the attribution's mass, not of the pixel count: a map with a few strong pixels saturates fewer than 2% of them.
 *
 * Plain arithmetic, shared by the Node renderer and the browser build.
 */

/** Captum's default share (percent) of the total |attribution| that saturates. */
export const DEFAULT_OUTLIER_PERCENT = 2;

/** Throws unless 0 <= p < 100 (100 would clip at the smallest value, saturating everything). */
export function checkOutlierPercent(p: number): void {
  if (!(p >= 0 && p < 100)) throw new RangeError(`outlier percent must be a number from 0 up to (not including) 100, got ${p}`);
}

/** The sum over channels of an [n * c] attribution (channels last): one signed value per pixel; NaN and infinities count as 0. */
export function channelSum(signed: Float32Array, n: number, c: number): Float32Array {
  if (signed.length !== n * c) throw new RangeError(`attribution has ${signed.length} values, expected ${n}x${c}`);
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    let s = 0;
    for (let k = 0; k < c; k++) {
      const v = signed[p * c + k];
      if (Number.isFinite(v)) s += v;
    }
    out[p] = s;
  }
  return out;
}

/**
 * The clip value: the smallest |v| at which the running sum of the sorted |values| reaches (100 - outlierPercent)%
 * of their total (summed in float64). 0 when every value is 0 (or not finite).
 */
export function signedClip(values: Float32Array, outlierPercent = DEFAULT_OUTLIER_PERCENT): number {
  checkOutlierPercent(outlierPercent);
  const abs = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) abs[i] = Number.isFinite(values[i]) ? Math.abs(values[i]) : 0;
  abs.sort();
  let total = 0;
  for (let i = 0; i < abs.length; i++) total += abs[i];
  if (!(total > 0)) return 0;
  const target = total * 0.01 * (100 - outlierPercent);
  let sum = 0;
  for (let i = 0; i < abs.length; i++) {
    sum += abs[i];
    if (sum >= target) return abs[i];
  }
  return abs[abs.length - 1]; // rounding left the sum a hair under the target: the largest value
}

/**
 * Each value on the colour maps' 0..1 scale: (clamp(v / clip, -1, 1) + 1) / 2, so -clip -> 0, zero -> 0.5 (the
 * diverging maps' white), +clip and beyond -> 1. A zero clip (an all-zero attribution) puts everything at 0.5.
 */
export function signedToUnit(values: Float32Array, clip: number): Float32Array {
  const out = new Float32Array(values.length);
  if (!(clip > 0)) return out.fill(0.5);
  for (let i = 0; i < values.length; i++) {
    const v = Number.isFinite(values[i]) ? values[i] / clip : 0;
    out[i] = ((v < -1 ? -1 : v > 1 ? 1 : v) + 1) / 2;
  }
  return out;
}

/**
 * A signed attribution [h * w * c] as a map of one value per pixel on the 0..1 scale (signedToUnit of the channel
 * sum), and the clip value that its ends stand for (+-clip, in the attribution's own units).
 */
export function signedUnitMap(signed: Float32Array, h: number, w: number, c: number, outlierPercent = DEFAULT_OUTLIER_PERCENT): { unit: Float32Array; clip: number } {
  const summed = channelSum(signed, h * w, c);
  const clip = signedClip(summed, outlierPercent);
  return { unit: signedToUnit(summed, clip), clip };
}
