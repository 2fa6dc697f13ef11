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

export function inputGradients(model: Classifier, xs: tf.Tensor4D, classes: TargetLike[], score: ScoreKind, guided = false): InputGradients {
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
