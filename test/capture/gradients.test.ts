// The gradient at an intermediate layer of a branching model (a skip connection goes around the target layer)
// against central finite differences of an independently assembled head, on WASM and on the pure-JS CPU backend.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { classGradients } from '../../src/capture/gradients';
import { residualModel, seededInput } from '../helpers/models';

/**
 * logits as a function of one layer's activation, applying the model's own layers by hand
 * (c1 is the skip branch's value, fixed unless c1 itself is the layer).
 */
function handHead(model: tf.LayersModel, layer: string, c1: tf.Tensor, t: tf.Tensor): tf.Tensor2D {
  const apply = (name: string, v: tf.Tensor | tf.Tensor[]) => model.getLayer(name).apply(v) as tf.Tensor;
  const chain = ['c1', 'target', 'dw', 'bn', 'r'];
  let v = t;
  for (const name of chain.slice(chain.indexOf(layer) + 1)) v = apply(name, v);
  return apply('logits', apply('gap', apply('add', [layer === 'c1' ? t : c1, v]))) as tf.Tensor2D;
}

describe.each(['wasm', 'cpu'] as const)('gradients on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
    await tf.setBackend(backend);
  });

  test.each(['target', 'c1', 'dw', 'bn'])('d(logit)/d(%s) matches finite differences for two classes at once', (layer) => {
    const model = residualModel();
    const clf = new LayersClassifier(model);
    const x = seededInput([1, 8, 8, 3]);
    const before = tf.memory().numTensors;
    const fp = clf.forward(x, [layer]);
    const classes = [3, 1];
    const g = classGradients(fp, 0, classes, 'logit', clf.numClasses);
    expect(g.shape).toEqual([2, 8, 8, 4]);
    const grad = g.arraySync() as number[][][][];
    g.dispose();

    // The head starting from the activation gives the same logits as the whole model from the image.
    const fromImage = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const fromHead = fp.logits.dataSync();
    fromImage.forEach((v, i) => expect(fromHead[i]).toBeCloseTo(v, 5));

    const c1 = tf.tidy(() => tf.model({ inputs: model.inputs, outputs: model.getLayer('c1').output as tf.SymbolicTensor }).predict(x) as tf.Tensor);
    const a = fp.activations[0].dataSync();
    const eps = 1e-3;
    for (const [row, cls] of classes.entries()) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < a.length; i++) {
        const f = (delta: number) =>
          tf.tidy(() => {
            const v = Float32Array.from(a);
            v[i] += delta;
            return handHead(model, layer, c1, tf.tensor4d(v, [1, 8, 8, 4])).dataSync()[cls];
          });
        const fd = (f(eps) - f(-eps)) / (2 * eps);
        const h = Math.floor(i / 32), w = Math.floor(i / 4) % 8, k = i % 4;
        const an = grad[row][h][w][k];
        num += (an - fd) ** 2;
        den += fd ** 2;
      }
      expect(den).toBeGreaterThan(1e-6); // the gradient is not trivially zero
      expect(Math.sqrt(num / den)).toBeLessThan(1e-2);
    }
    c1.dispose();
    fp.dispose();
    x.dispose();
    // Every tensor made by the forward and backward passes is released.
    expect(tf.memory().numTensors).toBe(before - 1);
    model.dispose();
  });
});
