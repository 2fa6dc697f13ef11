/**
 * One interface over LayersModel and GraphModel, exposing exactly what class activation maps need:
 * a forward pass that keeps the target layers' activations (and whatever else the part of the network after
 * them reads), and a differentiable function from a target activation to the class logits that runs only that
 * part ("the head").
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../util/random';
import { binaryChannelWeights, CamRule, HeadInfo, presentCamWeights } from './head';
import { ModelError } from '../util/errors';
import { closestNames } from '../util/suggest';
import type { FullGradPieces, FullGradPlan } from './fullgrad';
import type { InputRange } from './input-range';

export type ModelFormat = 'layers-model' | 'graph-model';

export interface LayerInfo {
  /** The name to use and show: qualified by the nested models that hold it ('sequential_1/mobilenet/out_relu'). */
  name: string;
  /** The layer's own name, where it differs from `name` (accepted by --layer when unique). */
  shortName?: string;
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
  /** [1, numClasses] class logits (a final softmax or sigmoid stepped over; see HeadInfo for a binary head). */
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
  /** The pixel range the model's own first layers or ops take (a Rescaling first, ...), where they say it unambiguously. */
  inputRange?: InputRange | null;
  numClasses: number;
  /** True when the model ends in softmax and scores are taken from the tensor before it. */
  softmaxSteppedOver: boolean;
  /** What the model applies to its logits, and whether one sigmoid unit is shown as two classes. */
  head: HeadInfo;
  layers(): LayerInfo[];
  /** A layer name as the user wrote it (qualified, short, or a unique '/'-suffix) -> its name in layers(); throws with suggestions. */
  resolveLayer(name: string): string;
  /**
   * The last layer with a spatial 4-D output on the way to the logits, stepping back over layers that only pass
   * their input on (Dropout, Identity, linear Activation); throws when there is none.
   */
  defaultTargetLayer(): string;
  camHead(layer: string): CamHead;
  /** FullGrad: the layers with a bias on the way to the logits, or why the decomposition does not hold. Absent: not supported (graph models). */
  fullGradPlan?(): FullGradPlan;
  /** FullGrad's pieces for rows x [n, H, W, C] and per-row scores of the logits (see src/model/fullgrad.ts). */
  fullGradPieces?(x: tf.Tensor4D, score: (logits: tf.Tensor2D) => tf.Tensor1D): FullGradPieces;
  /** Logits for a batch [n, h, w, c]. */
  predict(x: tf.Tensor4D): tf.Tensor2D;
  forward(x: tf.Tensor4D, layers: string[]): ForwardPass;
  /**
   * A segmentation model: its output is a per-pixel class map [1, height, width, classes] (before any softmax), and
   * its presented logits are each class's mean logit over the pixels (what `top` and class targets read).
   */
  segmentation?: { height: number; width: number; classes: number };
  /**
   * The same network with another output: the output of `layer` (null: the model's own raw output, a segmentation
   * model's whole per-pixel map), flattened, as its "logits" [n, values], no activation applied. It shares the
   * weights: dispose it before this classifier (disposing it leaves the weights alone). Used by targets that read
   * more than the class scores (similar-to: an embedding; seg: a class's pixels).
   */
  outputView?(layer: string | null): Classifier;
  /**
   * The default embedding layer of similar-to targets: the last global pooling layer on the way to the logits;
   * throws a ModelError when there is none.
   */
  defaultEmbeddingLayer?(): string;
  /**
   * Shuffles the values within every weight tensor (seeded): the same architecture, untrained. A sanity
   * baseline: a map that looks just as good on this model is not explaining the model.
   */
  randomizeWeights(seed: number): void;
  dispose(): void;
}

/** A format-independent CAM rule as the CamHead the methods take, in presented classes (a binary head's class 0 negated). */
export function camHeadFromRule(rule: CamRule, head: HeadInfo): CamHead {
  if (rule.kind === 'none') return rule;
  if (rule.kind === 'channels') return head.binary ? { kind: 'weights', weights: binaryChannelWeights(), path: rule.path } : rule;
  return { kind: 'weights', weights: presentCamWeights(rule, head), path: rule.path };
}

/**
 * Resolves a user-given layer name against the layers' qualified names and own names: an exact match of either,
 * else the one qualified name that ends in '/<given>'. Unknown or ambiguous names get a one-line error.
 */
export function resolveLayerName(given: string, layers: { name: string; shortName?: string }[], what = 'layer'): string {
  const exact = layers.find((l) => l.name === given);
  if (exact) return exact.name;
  const byShort = layers.filter((l) => l.shortName === given);
  if (byShort.length === 1) return byShort[0].name;
  const bySuffix = layers.filter((l) => l.name.endsWith('/' + given));
  const matches = byShort.length > 1 ? byShort : bySuffix;
  if (matches.length === 1) return matches[0].name;
  if (matches.length > 1) {
    throw new ModelError(`${what} name '${given}' is ambiguous: ${matches.slice(0, 5).map((l) => `'${l.name}'`).join(', ')}${matches.length > 5 ? ', ...' : ''}; give the qualified name`);
  }
  const near = closestNames(given, [...new Set([...layers.map((l) => l.name), ...layers.flatMap((l) => (l.shortName ? [l.shortName] : []))])]);
  throw new ModelError(`no ${what} named '${given}' in the model${near.length ? ` (did you mean ${near.map((n) => `'${n}'`).join(', ')}?)` : ''}`);
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
