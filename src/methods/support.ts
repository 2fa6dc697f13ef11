/**
 * Which kinds of method a model allows at its target layers, and why not where it does not: what `--method all`
 * leaves out (and says it left out). A method named on its own is not checked here: it runs, and is refused with
 * the same reason (src/pipeline/explain-tensor.ts).
 */
import type { Classifier } from '../model/classifier';
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
  const refine = layers.length < 2 ? 'RefineCAM multiplies the maps of several target layers (--layer a --layer b); with one it is Grad-CAM++' : null;
  return { cam, fullGrad, guided, refine };
}
