/**
 * Gradients of the class scores with respect to the model's input (pixel-level attribution), for a batch of
 * inputs and several classes in one backward pass: the batch is tiled once per class, row (i, j) of the result is
 * d score(classes[i]) / d xs[j]. With `guided`, ReLUs pass only positive gradients through positive activations
 * (guided backpropagation, src/backend/guided-relu.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { Classifier } from '../model/classifier';
import { withUnfusedOps } from '../backend/gradient-mode';
import { recordActivations, withGuidedRelu } from '../backend/guided-relu';
import { noGradientError, ScoreKind } from './gradients';
import { TargetLike, targetScores } from './targets';

export interface InputGradients {
  /** [k, n, H, W, C]: row i, j = d score(classes[i]) / d xs[j] (a class or any target). */
  gradients: tf.Tensor5D;
  /** [k, n]: score(classes[i]) at xs[j]. */
  scores: tf.Tensor2D;
  /** Guided only: non-ReLU activation functions the guidance did not apply to (e.g. 'ELU'). */
  otherActivations: string[];
  /** Guided only: how many ReLU / ReLU6 applications were guided (0: the map is the plain gradient). */
  guidedReLUs: number;
}

/**
 * Activation values one backward pass to the input may hold: a pass keeps every layer's output for each of its
 * rows, and WASM's memory ends at 4 GB. 100M float32 values (400 MB, a few times that with the gradients) was
 * measured to be safe: Integrated Gradients' 32 rows through MobileNetV2 at 224 (22M values a row) ran out of
 * WASM memory in one pass.
 */
const VALUES_PER_PASS = 100_000_000;
const rowValues = new WeakMap<Classifier, number>();

/** How many (target, image) rows one backward pass through this model may take. */
export function rowsPerPass(model: Classifier): number {
  let v = rowValues.get(model);
  if (v == null) {
    v = model.layers().reduce((sum, l) => sum + l.outputShape.reduce<number>((a, d) => a * (d ?? 1), 1), 0);
    rowValues.set(model, v);
  }
  return Math.max(1, Math.floor(VALUES_PER_PASS / Math.max(1, v)));
}

/** `most`: rows per backward pass (default: what the model's size allows, see rowsPerPass). */
export function inputGradients(model: Classifier, xs: tf.Tensor4D, classes: TargetLike[], score: ScoreKind, guided = false, most = rowsPerPass(model)): InputGradients {
  const [n] = xs.shape;
  const k = classes.length;
  if (n * k <= most) return inputGradientsInOnePass(model, xs, classes, score, guided);
  // Too many rows for one pass: targets in groups, each group's images in parts; reassembled as [k, n, ...].
  const kc = Math.min(k, most);
  const nc = Math.max(1, Math.floor(most / kc));
  const parts: InputGradients[][] = [];
  for (let i = 0; i < k; i += kc) {
    const row: InputGradients[] = [];
    for (let j = 0; j < n; j += nc) {
      const part = tf.tidy(() => tf.slice(xs, [j, 0, 0, 0], [Math.min(nc, n - j), -1, -1, -1]));
      row.push(inputGradientsInOnePass(model, part, classes.slice(i, i + kc), score, guided));
      part.dispose();
    }
    parts.push(row);
  }
  const all = parts.flat();
  const gradients = tf.tidy(() => tf.concat(parts.map((row) => tf.concat(row.map((p) => p.gradients), 1)), 0) as tf.Tensor5D);
  const scores = tf.tidy(() => tf.concat(parts.map((row) => tf.concat(row.map((p) => p.scores), 1)), 0) as tf.Tensor2D);
  for (const p of all) {
    p.gradients.dispose();
    p.scores.dispose();
  }
  return {
    gradients,
    scores,
    otherActivations: [...new Set(all.flatMap((p) => p.otherActivations))].sort(),
    guidedReLUs: Math.max(...all.map((p) => p.guidedReLUs)),
  };
}

function inputGradientsInOnePass(model: Classifier, xs: tf.Tensor4D, classes: TargetLike[], score: ScoreKind, guided: boolean): InputGradients {
  const [n, H, W, C] = xs.shape;
  const k = classes.length;
  const run = () =>
    withUnfusedOps(() =>
      tf.tidy(() => {
        const tiled = k === 1 ? xs : (tf.concat(Array.from({ length: k }, () => xs), 0) as tf.Tensor4D);
        const f = (x: tf.Tensor) => targetScores(recordActivations(() => model.predict(x as tf.Tensor4D)), classes, n, score, model.head.kind);
        let scores: tf.Tensor1D | null = null;
        const g = tf.grad((x: tf.Tensor) => {
          const s = f(x);
          scores = tf.keep(s.clone()) as tf.Tensor1D;
          return tf.sum(s);
        })(tiled);
        const out = { gradients: tf.reshape(g, [k, n, H, W, C]) as tf.Tensor5D, scores: tf.reshape(scores!, [k, n]) as tf.Tensor2D };
        scores!.dispose();
        return out;
      }),
    );
  try {
    if (!guided) return { ...run(), otherActivations: [], guidedReLUs: 0 };
    const r = withGuidedRelu(run);
    return { ...r.value, otherActivations: r.otherActivations, guidedReLUs: r.guidedReLUs };
  } catch (e) {
    throw noGradientError(e, undefined) ?? e;
  }
}
