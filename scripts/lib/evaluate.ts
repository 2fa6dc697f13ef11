/** Running a model over clutter canvases: logits/probabilities in chunks, and accuracy. */
import * as tf from '@tensorflow/tfjs';
import { Canvas, toInputBatch } from '../data/clutter';

/** Anything with a batched predict (LayersModel, GraphModel). */
export interface Predictor {
  predict(x: tf.Tensor, config?: object): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
}

/** The model input tensor for canvases: [n, H, W, 1], pixel / 255. */
export function canvasesToTensor(canvases: Canvas[]): tf.Tensor4D {
  const b = toInputBatch(canvases);
  return tf.tensor4d(b.x, b.shape);
}

/** Model outputs for the canvases, [n, 10], computed in chunks to bound memory. */
export function predictAll(model: Predictor, canvases: Canvas[], chunk = 250): Float32Array {
  const out = new Float32Array(canvases.length * 10);
  for (let i = 0; i < canvases.length; i += chunk) {
    const part = canvases.slice(i, i + chunk);
    const values = tf.tidy(() => {
      const y = model.predict(canvasesToTensor(part));
      if (!(y instanceof tf.Tensor)) throw new Error('expected one output tensor');
      return y.dataSync() as Float32Array;
    });
    out.set(values, i * 10);
  }
  return out;
}

/** Fraction of canvases whose arg-max output is the label. */
export function accuracyOf(outputs: Float32Array, canvases: Canvas[]): number {
  let correct = 0;
  canvases.forEach((c, k) => {
    let best = 0;
    for (let j = 1; j < 10; j++) if (outputs[k * 10 + j] > outputs[k * 10 + best]) best = j;
    if (best === c.label) correct++;
  });
  return correct / canvases.length;
}

/**
 * Accuracy over canvases made on demand (make(i) for i < n), so 10,000 canvases never sit in memory at once.
 */
export function streamingAccuracy(model: Predictor, n: number, make: (i: number) => Canvas, chunk = 500): number {
  let correct = 0;
  for (let i = 0; i < n; i += chunk) {
    const part: Canvas[] = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) part.push(make(j));
    correct += Math.round(accuracyOf(predictAll(model, part), part) * part.length);
  }
  return correct / n;
}
