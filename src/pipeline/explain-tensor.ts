/**
 * One image through the model: one forward pass that keeps the target activations, one batched backward pass
 * through the head per target layer for all requested classes, then the method. Returns plain arrays; every
 * tensor made here is released before returning.
 */
import * as tf from '@tensorflow/tfjs';
import { Classifier, CamHead } from '../model/classifier';
import { CamMethod, MethodInputs } from '../methods';
import { classGradients, ScoreKind } from '../capture/gradients';
import { ModelError } from '../util/errors';
import { toInputResolution } from './maps';

export interface Prediction {
  index: number;
  logit: number;
  probability: number;
}

export interface ClassMap {
  classIndex: number;
  /** Normalised map at the model's input resolution (inputH * inputW, row-major). */
  map: Float32Array;
  flat: boolean;
  /** The method's raw low-resolution map per target layer, before any normalisation. */
  raw: { layer: string; data: Float32Array; height: number; width: number }[];
}

export interface TensorExplanation {
  logits: Float32Array;
  probabilities: Float32Array;
  /** Classes explained, in order. */
  classes: number[];
  /** Top classes by logit (at least as many as asked with topK). */
  top: Prediction[];
  maps: ClassMap[];
  timings: { forwardMs: number; backwardMs: number; methodMs: number };
}

export interface ExplainTensorOptions {
  method: CamMethod;
  layers: string[];
  /** Explicit classes; when absent, the top-k classes by score. */
  classes?: number[];
  topK: number;
  score: ScoreKind;
  /** How many top predictions to report even when classes are explicit. */
  reportTop?: number;
}

function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export function topIndices(values: Float32Array, k: number): number[] {
  const idx = Array.from(values.keys());
  // NaN sorts last; ties keep the lower index first, so results are stable.
  idx.sort((a, b) => {
    const va = Number.isNaN(values[a]) ? -Infinity : values[a];
    const vb = Number.isNaN(values[b]) ? -Infinity : values[b];
    return vb - va || a - b;
  });
  return idx.slice(0, Math.min(k, values.length));
}

function camInputs(head: CamHead, classes: number[]): MethodInputs['cam'] {
  if (head.kind === 'channels') return { channels: classes };
  if (head.kind === 'weights') return { weights: tf.gather(head.weights, classes, 1) as tf.Tensor2D };
  throw new ModelError(`CAM is not possible for this model: ${head.reason}; use --method gradcam`);
}

export function explainTensor(model: Classifier, x: tf.Tensor4D, opts: ExplainTensorOptions): TensorExplanation {
  const [inputH, inputW] = model.inputShape;
  const camHeads = opts.method.needsCamHead ? opts.layers.map((l) => model.camHead(l)) : [];
  try {
    for (const [i, h] of camHeads.entries()) {
      if (h.kind === 'none') throw new ModelError(`CAM is not possible at layer '${opts.layers[i]}': ${h.reason}; use --method gradcam`);
    }
    let t0 = performance.now();
    const fp = model.forward(x, opts.layers);
    try {
      const logits = fp.logits.dataSync() as Float32Array;
      const probabilities = softmax(logits);
      const forwardMs = performance.now() - t0;
      for (const c of opts.classes ?? []) {
        if (!Number.isInteger(c) || c < 0 || c >= model.numClasses) throw new ModelError(`class ${c} is out of range: the model has ${model.numClasses} classes`);
      }
      const classes = opts.classes ?? topIndices(logits, opts.topK);
      const top = topIndices(logits, Math.max(opts.topK, opts.reportTop ?? 0)).map((index) => ({ index, logit: logits[index], probability: probabilities[index] }));
      let backwardMs = 0;
      let methodMs = 0;
      const rawPerLayer: Float32Array[] = [];
      const shapes: [number, number][] = [];
      for (let li = 0; li < opts.layers.length; li++) {
        t0 = performance.now();
        const grads = opts.method.needsGradients ? classGradients(fp, li, classes, opts.score, model.numClasses) : undefined;
        if (grads) grads.dataSync(); // finish the backward pass here so the timings split honestly
        backwardMs += performance.now() - t0;
        t0 = performance.now();
        const maps = tf.tidy(() => {
          const a = fp.activations[li];
          return opts.method.compute({ activations: a, gradients: grads, cam: camHeads[li] ? camInputs(camHeads[li], classes) : undefined });
        });
        grads?.dispose();
        rawPerLayer.push(maps.dataSync() as Float32Array);
        shapes.push([maps.shape[1], maps.shape[2]]);
        maps.dispose();
        methodMs += performance.now() - t0;
      }
      t0 = performance.now();
      const out: ClassMap[] = classes.map((classIndex, ci) => {
        const raw = opts.layers.map((layer, li) => {
          const [h, w] = shapes[li];
          return { layer, data: rawPerLayer[li].slice(ci * h * w, (ci + 1) * h * w), height: h, width: w };
        });
        const m = toInputResolution(raw, inputH, inputW);
        return { classIndex, map: m.map, flat: m.flat, raw };
      });
      methodMs += performance.now() - t0;
      return { logits, probabilities, classes, top, maps: out, timings: { forwardMs, backwardMs, methodMs } };
    } finally {
      fp.dispose();
    }
  } finally {
    for (const h of camHeads) if (h.kind === 'weights') h.weights.dispose();
  }
}
