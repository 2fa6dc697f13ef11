/**
 * Which kinds of method a model allows at its target layers, and why not where it does not: what `--method all`
 * leaves out (and says it left out). A method named on its own is not checked here: it runs, and is refused with
 * the same reason (src/pipeline/explain-tensor.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../model/classifier';
import { classGradientsAndHessianVector } from '../capture/gradients';
import type { MethodSupport } from './index';

export function methodSupport(c: Classifier, layers: string[]): MethodSupport {
  let cam: string | null = null;
  for (const l of layers) {
    const h = c.camHead(l);
    if (h.kind === 'weights') h.weights.dispose();
    if (h.kind === 'none') {
      cam = `CAM at '${l}': ${h.reason}`;
      break;
    }
  }
  const plan = c.fullGradPlan?.();
  const fullGrad = !plan ? 'FullGrad needs a layers model to find the biases, and this is a graph model' : plan.kind === 'none' ? plan.reason : null;
  const guided = c.format === 'graph-model' ? "this is a graph model, which tfjs-converter runs with its own copy of the ops, out of reach of the guided ReLU" : null;
  const shapley = secondOrderProblem(c, layers);
  const refine = layers.length < 2 ? 'RefineCAM multiplies the maps of several target layers (--layer a --layer b); with one it is Grad-CAM++' : null;
  return { cam, fullGrad, guided, refine, shapley };
}

/**
 * Why ShapleyCAM's second derivatives cannot be taken at these layers (an op whose gradient tfjs cannot
 * differentiate, such as max pooling's), or null. Found by trying, on a blank input: which ops a backward pass
 * meets does not depend on the pixels. One forward and a second-order backward pass, paid only for --method all.
 */
function secondOrderProblem(c: Classifier, layers: string[]): string | null {
  const x = tf.zeros([1, ...c.inputShape]) as tf.Tensor4D;
  try {
    const fp = c.forward(x, layers);
    try {
      for (let i = 0; i < layers.length; i++) {
        const { gradients, hessianVector } = classGradientsAndHessianVector(fp, i, [0], 'logit', layers[i], c.head.kind);
        tf.dispose([gradients, hessianVector]);
      }
    } finally {
      fp.dispose();
    }
    return null;
  } catch (e) {
    return e instanceof Error && e.name === 'ModelError' ? e.message.replace(/; use --method gradcam.*$/, '') : null;
  } finally {
    x.dispose();
  }
}
