/**
 * Pixel-level attributions: gradients of the class score with respect to the input image (not a layer), maps at
 * the input resolution. Each map is one value per pixel (the pipeline min-max normalises it); the signed
 * attribution per channel also goes to `keepSigned`, for the papers' gradient images (render/gradient.ts):
 *
 * - Saliency (Simonyan et al. 2014, "vanilla gradient"): max over channels of |dy/dx|.
 * - SmoothGrad (Smilkov et al. 2017): the gradient averaged over n noisy copies x + N(0, sigma^2),
 *   sigma = level * (max(x) - min(x)) (seeded), then max over channels of its absolute value.
 * - Integrated Gradients (Sundararajan et al. 2017): (x - x') * mean_{s=1..m} dy/dx at x' + (s/m)(x - x');
 *   the map is the sum over channels of |attribution|. Completeness: sum(attribution) = f(x) - f(x') up to the
 *   Riemann error; the difference is reported per class.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethod, MethodInputs } from './types';

/** [k, n, H, W, C] -> [k, H, W, C]: the first (only) input's rows. */
function perClass(g: tf.Tensor): tf.Tensor4D {
  const [k, , H, W, C] = g.shape;
  return tf.reshape(g, [k, H, W, C]);
}

/** [k, n, H, W, C] -> [k, H, W]: max over channels of |g| of the first (only) input. */
export function maxAbsOverChannels(g: tf.Tensor): tf.Tensor3D {
  const [k, , H, W, C] = g.shape;
  return tf.max(tf.abs(tf.reshape(g, [k, H, W, C])), 3) as tf.Tensor3D;
}

function requireInputGradients(inputs: MethodInputs, method: string) {
  if (!inputs.input || !inputs.inputGradients) throw new Error(`${method} needs the input and input gradients`);
  return { input: inputs.input, inputGradients: inputs.inputGradients };
}

/** Rows of a batch per backward pass: batchSize rows in all, k of them (one per class) per input. */
const perPass = (batchSize: number, k: number) => Math.max(1, Math.floor(batchSize / Math.max(1, k)));

export const saliency: CamMethod = {
  name: 'saliency',
  title: 'Saliency',
  needs: ['input-gradients'],
  level: 'pixel',
  compute(inputs) {
    const { input, inputGradients } = requireInputGradients(inputs, 'Saliency');
    const g = inputGradients(input).gradients;
    inputs.keepSigned?.(perClass(g));
    return maxAbsOverChannels(g);
  },
};

/** Seeded noisy copies s0 .. s0 + n - 1 of x, sigma as in Smooth Grad-CAM++ (same seeds, so the same noise). */
export function noisyCopies(input: tf.Tensor4D, from: number, count: number, sigma: number, seed: number): tf.Tensor4D {
  return tf.concat(Array.from({ length: count }, (_, i) => tf.add(input, tf.randomNormal(input.shape, 0, sigma, 'float32', seed * 1000 + from + i + 1)))) as tf.Tensor4D;
}

export const smoothgrad: CamMethod = {
  name: 'smoothgrad',
  title: 'SmoothGrad',
  needs: ['input-gradients'],
  level: 'pixel',
  compute(inputs) {
    const { input, inputGradients } = requireInputGradients(inputs, 'SmoothGrad');
    const { options, classes } = inputs;
    const n = Math.max(1, options.noiseSamples);
    const sigma = tf.tidy(() => (tf.max(input).dataSync()[0] - tf.min(input).dataSync()[0]) * options.noiseLevel);
    const step = perPass(options.batchSize, classes.length);
    let sum: tf.Tensor | null = null;
    for (let s = 0; s < n; s += step) {
      const count = Math.min(step, n - s);
      const next: tf.Tensor = tf.tidy(() => {
        const g = tf.sum(inputGradients(noisyCopies(input, s, count, sigma, options.seed)).gradients, 1, true); // [k, 1, H, W, C]
        return sum ? tf.add(sum, g) : g;
      });
      sum?.dispose();
      sum = next;
      options.onProgress?.(s + count, n);
    }
    return tf.tidy(() => {
      const mean = tf.div(sum!, n);
      inputs.keepSigned?.(perClass(mean));
      return maxAbsOverChannels(mean);
    });
  },
};

export const integratedGradients: CamMethod = {
  name: 'integrated-gradients',
  title: 'Integrated Gradients',
  needs: ['input-gradients'],
  level: 'pixel',
  compute(inputs) {
    const { input, inputGradients } = requireInputGradients(inputs, 'Integrated Gradients');
    const { options, classes } = inputs;
    const k = classes.length;
    const m = Math.max(1, options.igSteps);
    const baseline = options.baseline ? tf.tensor4d(options.baseline, input.shape) : tf.zerosLike(input);
    const diff = tf.sub(input, baseline) as tf.Tensor4D;
    // Points s = 0 .. m on the straight path; s = 0 (the baseline) and s = m (the image) give f(x') and f(x),
    // the right Riemann sum uses s = 1 .. m.
    const step = perPass(options.batchSize, k);
    let sum: tf.Tensor | null = null;
    const ends = new Float32Array(2 * k); // f(x') then f(x), per class
    for (let s = 0; s <= m; s += step) {
      const count = Math.min(step, m + 1 - s);
      const next: tf.Tensor = tf.tidy(() => {
        const alphas = tf.tensor1d(Array.from({ length: count }, (_, i) => (s + i) / m)).reshape([count, 1, 1, 1]);
        const { gradients, scores } = inputGradients(tf.add(baseline, tf.mul(alphas, diff)) as tf.Tensor4D);
        const sc = scores.arraySync();
        for (let c = 0; c < k; c++) {
          if (s === 0) ends[c] = sc[c][0];
          if (s + count - 1 === m) ends[k + c] = sc[c][count - 1];
        }
        // leave out s = 0 from the sum
        const used = s === 0 ? tf.slice(gradients, [0, 1], [-1, -1]) : gradients;
        const g = tf.sum(used, 1, true);
        return sum ? tf.add(sum, g) : g;
      });
      sum?.dispose();
      sum = next;
      options.onProgress?.(Math.min(s + count, m + 1), m + 1);
    }
    const [, H, W, C] = input.shape;
    const attr = tf.mul(tf.reshape(tf.div(sum!, m), [k, H, W, C]), diff); // [k, H, W, C]
    sum!.dispose();
    const totals = tf.sum(attr, [1, 2, 3]).dataSync();
    inputs.note?.('completenessError', classes.map((_, c) => totals[c] - (ends[k + c] - ends[c])));
    inputs.keepSigned?.(attr as tf.Tensor4D);
    return tf.sum(tf.abs(attr), 3) as tf.Tensor3D;
  },
};
