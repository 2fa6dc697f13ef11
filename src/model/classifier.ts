/**
 * One interface over LayersModel and GraphModel, exposing exactly what class activation maps need:
 * a forward pass that keeps the target layers' activations (and whatever else the part of the network after
 * them reads), and a differentiable function from a target activation to the class logits that runs only that
 * part ("the head").
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../util/random';

export type ModelFormat = 'layers-model' | 'graph-model';

export interface LayerInfo {
  name: string;
  /** Keras class name (layers models) or op name (graph models). */
  type: string;
  /** Output shape without the batch dimension; null entries are unknown. */
  outputShape: (number | null)[];
  /** 4-D output with more than one spatial position: a possible CAM target. */
  spatial: boolean;
}

/** How the classifier turns the target layer into class scores, for CAM. */
export type CamHead =
  | { kind: 'weights'; /** [K, numClasses] */ weights: tf.Tensor2D; path: string[] }
  | { kind: 'channels'; path: string[] }
  | { kind: 'none'; reason: string };

/** The result of one forward pass, holding what later head passes need. Dispose when done. */
export interface ForwardPass {
  /** [1, numClasses] class logits (a final softmax stepped over). */
  logits: tf.Tensor2D;
  /** One [1, h, w, K] activation per requested layer, in order. */
  activations: tf.Tensor4D[];
  /** Runs the head after layer i on a batch of activations [n, h, w, K]; returns [n, numClasses] logits. */
  head(i: number, activations: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

export interface Classifier {
  format: ModelFormat;
  /** [height, width, channels] of one input image. */
  inputShape: [number, number, number];
  numClasses: number;
  /** True when the model ends in softmax and scores are taken from the tensor before it. */
  softmaxSteppedOver: boolean;
  layers(): LayerInfo[];
  /** The last layer with a spatial 4-D output on the way to the logits; throws when there is none. */
  defaultTargetLayer(): string;
  camHead(layer: string): CamHead;
  /** Logits for a batch [n, h, w, c]. */
  predict(x: tf.Tensor4D): tf.Tensor2D;
  forward(x: tf.Tensor4D, layers: string[]): ForwardPass;
  /**
   * Shuffles the values within every weight tensor (seeded): the same architecture, untrained. A sanity
   * baseline: a map that looks just as good on this model is not explaining the model.
   */
  randomizeWeights(seed: number): void;
  dispose(): void;
}

/** A seeded permutation of an array's values (Fisher-Yates over mulberry32). */
export function shuffledValues(values: ArrayLike<number>, seed: number): Float32Array {
  const out = Float32Array.from(values);
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}

/** Tiles a [1, ...] tensor to [n, ...] along the batch axis (a no-op view when n is 1). */
export function tileBatch<T extends tf.Tensor>(t: T, n: number): T {
  if (t.shape[0] === n) return t;
  // Concatenation, not tf.tile: WASM's Tile kernel is an element-by-element loop, Concat copies blocks
  // (17 ms -> under 1 ms for darknet_tiny's 14x14x128 activation, 5 classes).
  return tf.concat(Array.from({ length: n }, () => t), 0) as T;
}
