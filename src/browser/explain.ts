/**
 * explainTensor for the browser: method names and layers resolved against the model (as the CLI's session
 * does), then the shared core (src/pipeline/explain-tensor.ts) with no worker threads: Score-CAM and
 * Ablation-CAM score their channels in batches on this thread.
 */
import * as tf from '@tensorflow/tfjs';
import { explainTensor as coreExplainTensor, ExplainTensorOptions, TensorExplanation, topIndices } from '../pipeline/explain-tensor';
import { METHOD_NAMES } from '../methods';
import { methodsFor } from '../model/resolve';
import { probabilitiesOfArray } from '../model/head';
import type { BrowserModel } from './load';

/** Methods the browser build runs: all but the guided ones, which patch tfjs-core's CommonJS exports (Node only). */
export const BROWSER_METHODS = METHOD_NAMES.filter((m) => m !== 'guided-backprop' && m !== 'guided-gradcam');

export interface BrowserExplainOptions extends Partial<Omit<ExplainTensorOptions, 'methods' | 'layers' | 'channelPool'>> {
  /** Method names: one, several (array or comma-separated), or 'all' (default: the model's, see BrowserModel.methods). */
  methods?: string | string[];
  /** Target layers (default: the model's, see BrowserModel.layers). */
  layers?: string[];
}

/** Maps for one preprocessed input `x` ([1, h, w, c]): the top-k classes (default 3) or those asked for. */
export function explainTensor(model: BrowserModel, x: tf.Tensor4D, options: BrowserExplainOptions = {}): TensorExplanation {
  const c = model.classifier;
  const layers = options.layers?.length ? options.layers.map((l) => c.resolveLayer(l)) : model.layers;
  const spec = Array.isArray(options.methods) ? options.methods.join(',') : options.methods ?? model.methods.join(',');
  const { methods } = methodsFor(c, layers, spec, false);
  const { methods: _m, layers: _l, ...rest } = options;
  return coreExplainTensor(c, x, { topK: 3, score: 'logit', ...rest, methods, layers, channelPool: null });
}

export interface Prediction {
  index: number;
  label: string;
  logit: number;
  probability: number;
}

/** The k highest-scoring classes of one input, with labels and probabilities (one forward pass). */
export function predict(model: BrowserModel, x: tf.Tensor4D, k = 5): Prediction[] {
  const logits = tf.tidy(() => model.classifier.predict(x).dataSync() as Float32Array);
  const p = probabilitiesOfArray(logits, model.classifier.head.kind);
  return topIndices(logits, k).map((index) => ({ index, label: model.labels[index], logit: logits[index], probability: p[index] }));
}
