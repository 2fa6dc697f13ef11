// Targets that read another output than the class scores: similar-to: (cosine similarity of an embedding) and
// seg: (a class's logits summed over a mask of a per-pixel output). Each map is checked against the same score
// differentiated by plain tf.grad on the tfjs model, written here without the tool's classifier.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { explainTensor, segmentMask } from '../../src/pipeline/explain-tensor';
import { parseMethods } from '../../src/methods';
import { parseTarget, Target, targetLabel, targetSpec } from '../../src/capture/targets';
import { gapDenseModel, seededInput } from '../helpers/models';

beforeAll(async () => {
  await initBackend('wasm');
});

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-4) {
  const w = Array.from(want);
  const scale = Math.max(...w.map(Math.abs));
  expect(scale).toBeGreaterThan(0);
  expect(got.length).toBe(w.length);
  w.forEach((v, i) => expect(Math.abs(got[i] - v) / scale).toBeLessThan(rel));
}

const cosine = (e: tf.Tensor2D, r: tf.Tensor2D) => tf.div(tf.sum(tf.mul(e, r)), tf.mul(tf.norm(e), tf.norm(r)));

/** Grad-CAM by hand: weights = mean over positions of d(score)/dA, map = ReLU(sum_k w_k A_k). */
function gradcamByHand(a: tf.Tensor4D, score: (a: tf.Tensor4D) => tf.Scalar): number[] {
  return tf.tidy(() => {
    const g = tf.grad((t: tf.Tensor) => score(t as tf.Tensor4D))(a);
    const w = tf.mean(g, [1, 2], true);
    return Array.from(tf.relu(tf.sum(tf.mul(a, w), 3)).dataSync());
  });
}

test('similar-to: Grad-CAM and saliency of the cosine similarity between GAP embeddings = plain tf.grad', () => {
  const model = gapDenseModel(8, 4);
  const clf = new LayersClassifier(model);
  const x = seededInput([1, 8, 8, 3], 5);
  const ref = seededInput([1, 8, 8, 3], 6);
  const feat = tf.model({ inputs: model.inputs, outputs: model.getLayer('feat').output as tf.SymbolicTensor });
  const embed = (t: tf.Tensor4D) => tf.mean(feat.predict(t) as tf.Tensor4D, [1, 2]) as tf.Tensor2D;
  const e0 = embed(ref);
  const target: Target = { kind: 'similarity', image: 'ref.png', reference: ref.dataSync() as Float32Array };
  expect(clf.defaultEmbeddingLayer()).toBe('gap');
  const ex = explainTensor(clf, x, { methods: parseMethods('gradcam,saliency'), layers: ['feat'], targets: [target], topK: 1, score: 'logit' });
  const A = feat.predict(x) as tf.Tensor4D;
  expectClose(ex.maps[0].raw[0].data, gradcamByHand(A, (a) => cosine(tf.mean(a, [1, 2]) as tf.Tensor2D, e0) as tf.Scalar));
  const sal = tf.tidy(() => Array.from(tf.max(tf.abs(tf.grad((t: tf.Tensor) => cosine(embed(t as tf.Tensor4D), e0))(x)), 3).dataSync()));
  expectClose(ex.maps[1].raw[0].data, sal);
  expect(ex.maps.map((m) => targetSpec(m.target))).toEqual(['similar-to:ref.png', 'similar-to:ref.png']);
  expect(ex.classes).toEqual([-1]);
  // The report's scores are the model's classes, not the embedding.
  expectClose(ex.logits, tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()));
  // A named embedding layer: the Dense layer's output (the logits themselves here).
  const exFc = explainTensor(clf, x, { methods: parseMethods('saliency'), layers: ['feat'], targets: [{ ...target, layer: 'fc' }], topK: 1, score: 'logit' });
  const logitsOf = (t: tf.Tensor4D) => model.predict(t) as tf.Tensor2D;
  const salFc = tf.tidy(() => Array.from(tf.max(tf.abs(tf.grad((t: tf.Tensor) => cosine(logitsOf(t as tf.Tensor4D), logitsOf(ref)))(x)), 3).dataSync()));
  expectClose(exFc.maps[0].raw[0].data, salFc);
  tf.dispose([x, ref, A, e0]);
  model.dispose();
});

test('similar-to among class targets: maps in the order given, the class maps as without it; CAM refuses it', () => {
  const model = gapDenseModel(8, 4);
  const clf = new LayersClassifier(model);
  const x = seededInput([1, 8, 8, 3], 8);
  const sim: Target = { kind: 'similarity', image: 'a/b/ref.png', reference: seededInput([1, 8, 8, 3], 9).dataSync() as Float32Array };
  const mixed = explainTensor(clf, x, { methods: parseMethods('gradcam,saliency'), layers: ['feat'], targets: [{ kind: 'class', index: 1 }, sim, { kind: 'class', index: 2 }], topK: 1, score: 'logit' });
  const plain = explainTensor(clf, x, { methods: parseMethods('gradcam,saliency'), layers: ['feat'], targets: [{ kind: 'class', index: 1 }, { kind: 'class', index: 2 }], topK: 1, score: 'logit' });
  const alone = explainTensor(clf, x, { methods: parseMethods('gradcam,saliency'), layers: ['feat'], targets: [sim], topK: 1, score: 'logit' });
  expect(mixed.maps.map((m) => `${m.method} ${targetSpec(m.target)}`)).toEqual([
    'gradcam class:1', 'gradcam similar-to:a/b/ref.png', 'gradcam class:2',
    'saliency class:1', 'saliency similar-to:a/b/ref.png', 'saliency class:2',
  ]);
  expect(mixed.classes).toEqual([1, -1, 2]);
  for (const [i, j] of [[0, 0], [2, 1], [3, 2], [5, 3]]) expect(Array.from(mixed.maps[i].map)).toEqual(Array.from(plain.maps[j].map));
  expect(Array.from(mixed.maps[1].map)).toEqual(Array.from(alone.maps[0].map));
  expect(Array.from(mixed.maps[4].map)).toEqual(Array.from(alone.maps[1].map));
  expect(targetLabel(sim, [])).toBe('similar to ref.png');
  expect(() => explainTensor(clf, x, { methods: parseMethods('cam'), layers: ['feat'], targets: [sim], topK: 1, score: 'logit' })).toThrow(
    "cam weighs channels by the classifier's class weights, which a similar-to:a/b/ref.png target does not have; use --method gradcam (or another gradient or perturbation method)",
  );
  // The embedding must come after the target layer.
  expect(() => explainTensor(clf, x, { methods: parseMethods('gradcam'), layers: ['feat'], targets: [{ ...sim, layer: 'c1' }], topK: 1, score: 'logit' })).toThrow("layer 'feat' does not lead to 'c1' (the layer must come before it)");
  x.dispose();
  model.dispose();
});

/** conv 3x3 (relu) -> 1x1 conv to 3 classes per pixel: a per-pixel class map [8, 8, 3]. */
function segModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(21), name: 'feat' }),
      tf.layers.conv2d({ filters: 3, kernelSize: 1, padding: 'same', kernelInitializer: init(22), biasInitializer: tf.initializers.constant({ value: 0.05 }), name: 'seg' }),
    ],
  });
}

test('seg: a segmentation model is read as one: class scores are the mean logits; Grad-CAM of seg:c = plain tf.grad over its mask', () => {
  const model = segModel();
  const clf = new LayersClassifier(model);
  expect(clf.segmentation).toEqual({ height: 8, width: 8, classes: 3 });
  expect(clf.numClasses).toBe(3);
  const x = seededInput([1, 8, 8, 3], 4);
  const out = model.predict(x) as tf.Tensor4D;
  const outData = out.dataSync() as Float32Array;
  const logits = tf.tidy(() => clf.predict(x).dataSync());
  expectClose(logits, tf.tidy(() => tf.mean(out, [1, 2]).dataSync()));
  // The predicted mask of class 1: its pixels' largest logit, by hand.
  const predicted = new Array(64).fill(0).map((_, p) => {
    const v = [0, 1, 2].map((c) => outData[p * 3 + c]);
    return v.indexOf(Math.max(...v)) === 1 ? 1 : 0;
  });
  expect(Array.from(segmentMask(outData, 3, 1))).toEqual(predicted);
  expect(predicted.some((m) => m === 1)).toBe(true);
  expect(predicted.some((m) => m === 0)).toBe(true);
  const given = Uint8Array.from({ length: 64 }, (_, p) => (p % 8 < 3 ? 1 : 0));
  const feat = tf.model({ inputs: model.inputs, outputs: model.getLayer('feat').output as tf.SymbolicTensor });
  const A = feat.predict(x) as tf.Tensor4D;
  const segLayer = model.getLayer('seg');
  const byHand = (mask: ArrayLike<number>, c: number) =>
    gradcamByHand(A, (a) => {
      const o = segLayer.apply(a) as tf.Tensor4D;
      const m = tf.tensor4d(Float32Array.from(mask), [1, 8, 8, 1]);
      return tf.sum(tf.mul(tf.slice(o, [0, 0, 0, c], [1, 8, 8, 1]), m)) as tf.Scalar;
    });
  const targets: Target[] = [{ kind: 'segment', index: 1 }, { kind: 'segment', index: 2, maskFile: 'left.png', mask: given }];
  const ex = explainTensor(clf, x, { methods: parseMethods('gradcam'), layers: ['feat'], targets, topK: 1, score: 'logit' });
  expectClose(ex.maps[0].raw[0].data, byHand(predicted, 1));
  expectClose(ex.maps[1].raw[0].data, byHand(given, 2));
  expect(ex.maps.map((m) => targetSpec(m.target))).toEqual(['seg:1', 'seg:2@left.png']);
  expect(ex.classes).toEqual([1, 2]);
  expect(targetLabel(targets[1], ['bg', 'a', 'b'])).toBe('b (segment left.png)');
  // CAM has no pooled head to weigh by; a class's mean logit still explains with Grad-CAM.
  expect(() => explainTensor(clf, x, { methods: parseMethods('cam'), layers: ['feat'], targets: [{ kind: 'class', index: 1 }], topK: 1, score: 'logit' })).toThrow(
    "CAM is not possible at layer 'feat': the model outputs a per-pixel class map (segmentation), not pooled class scores; use --method gradcam",
  );
  // seg: on a classifier is refused with the reason.
  const classifier = new LayersClassifier(gapDenseModel(8, 4));
  expect(() => explainTensor(classifier, x, { methods: parseMethods('gradcam'), layers: ['feat'], targets: [{ kind: 'segment', index: 1 }], topK: 1, score: 'logit' })).toThrow(
    "--target seg:1: the model's output is one vector of class scores, not a per-pixel class map: seg: targets need a segmentation model",
  );
  classifier.dispose();
  tf.dispose([x, out, A]);
  model.dispose();
});

test('parseTarget reads seg: and similar-to:', () => {
  const idx = (c: string) => (/^\d+$/.test(c) ? Number(c) : ['background', 'zero', 'seven'].indexOf(c));
  expect(parseTarget('seg:seven', idx)).toEqual({ kind: 'segment', index: 2 });
  expect(parseTarget('seg:1@masks/a b.png', idx)).toEqual({ kind: 'segment', index: 1, maskFile: 'masks/a b.png' });
  expect(parseTarget('similar-to:C:/x/ref,1.png', idx)).toEqual({ kind: 'similarity', image: 'C:/x/ref,1.png' });
  expect(() => parseTarget('similar-to:', idx)).toThrow("bad --target 'similar-to:': similar-to: takes an image, similar-to:<image>");
  expect(() => parseTarget('seg:1@', idx)).toThrow("bad --target 'seg:1@': an empty mask file after '@'");
  expect(() => parseTarget('seg:@m.png', idx)).toThrow("bad --target 'seg:@m.png': seg: takes a class, seg:<c> or seg:<c>@<mask.png>");
  expect(targetSpec({ kind: 'segment', index: 1, maskFile: 'm.png' })).toBe('seg:1@m.png');
});
