/**
 * The shared interface of all class activation methods. A method is a function of tensors: given the target
 * layer's activation and, depending on the method, the class gradients, the CAM weights, or a way to score
 * modified inputs or activations, it returns one low-resolution map per requested class. Everything else
 * (picking classes, normalising, upsampling, colouring, files) belongs to the pipeline.
 */
import * as tf from '@tensorflow/tfjs';
import { principalProjection } from './projection';

/**
 * What a method needs from the pipeline. 'hessian-vector' is its own capability because no other can serve it:
 * ShapleyCAM needs the second derivative of the score through the head (a Hessian-vector product with the
 * activation), which costs a second-order backward pass that the plain 'gradients' pass must not pay for.
 */
export type MethodNeeds = 'gradients' | 'cam-head' | 'activations' | 'input-scores' | 'head-scores' | 'noisy-gradients' | 'input-gradients' | 'full-gradients' | 'guided-relu' | 'hessian-vector';

export interface MethodInputs {
  /** [1, h, w, K] activation of the target layer for one image. */
  activations: tf.Tensor4D;
  /** Requested classes, in order: row i of every result belongs to classes[i]. */
  classes: number[];
  /** [k, h, w, K] gradient of each requested class's score with respect to the activation. */
  gradients?: tf.Tensor4D;
  /** For CAM: [K, k] weights of the linear classifier for the requested classes, or the channels that are the class maps. */
  cam?: { weights: tf.Tensor2D } | { channels: number[] };
  /** The preprocessed input [1, H, W, C] (Score-CAM masks it; Smooth Grad-CAM++ adds noise to it). */
  input?: tf.Tensor4D;
  /** Class scores [n, k] for a batch of inputs [n, H, W, C] (a plain forward pass). */
  scoreInputs?: (x: tf.Tensor4D) => tf.Tensor2D;
  /** Class scores [n, k] for a batch of target activations [n, h, w, K] (the head only). */
  scoreActivations?: (a: tf.Tensor4D) => tf.Tensor2D;
  /**
   * ShapleyCAM: the gradient G [k, h, w, K] of each target's score at the target layer and the Hessian-vector
   * product H A [k, h, w, K] of that score with the activation A (d/dA of sum(G * A) with A held fixed in the product).
   */
  hessianVector?: () => { gradients: tf.Tensor4D; hessianVector: tf.Tensor4D };
  /** Gradients [k, h, w, K] of the class scores at the target layer for another input [1, H, W, C]. */
  gradientsAt?: (x: tf.Tensor4D) => tf.Tensor4D;
  /**
   * Gradients of the class scores with respect to the input, for a batch of inputs [n, H, W, C]: gradients
   * [k, n, H, W, C] and the scores [k, n] (same score as the gradients: logit or probability). With `guided`,
   * ReLUs pass only positive gradients through positive activations (guided backpropagation).
   */
  inputGradients?: (xs: tf.Tensor4D, guided?: boolean) => { gradients: tf.Tensor5D; scores: tf.Tensor2D };
  /**
   * FullGrad's pieces for the input, one row per class: grad_x f * x [k, H, W, C] and, per layer with a bias, the
   * bias-gradient grad_z f * b in that layer's output shape (k rows).
   */
  fullGradients?: () => { input: tf.Tensor4D; biases: tf.Tensor[] };
  /**
   * Pixel-level methods hand over their signed attribution per channel [k, H, W, C] (the gradient, the averaged
   * gradient, the attribution, the guided gradient, or its product with Grad-CAM) for the papers' grey-centred
   * gradient images. Absent when nobody asked for them.
   */
  keepSigned?: (attribution: tf.Tensor4D) => void;
  /** Per-class numbers the method reports beside its maps (e.g. Integrated Gradients' completeness error). */
  note?: (name: 'completenessError', perClass: number[]) => void;
  /** Something the user should know about this image's map (it goes to the image's warnings). */
  warn?: (message: string) => void;
  options: MethodOptions;
  /**
   * Spreads a per-channel method's channels over other threads (Score-CAM, Ablation-CAM with --jobs): returns
   * the scores of `channels` in order, computing `local(part)` for this thread's part. Synchronous.
   */
  shareChannels?: (method: string, channels: number[], local: (part: number[]) => number[][]) => number[][];
}

export interface MethodOptions {
  /** Replace the channel sum by the first principal component of the weighted activations (pytorch-grad-cam's eigen_smooth). */
  eigenSmooth: boolean;
  /** Forward passes per batch for Score-CAM and Ablation-CAM. */
  batchSize: number;
  /** Score-CAM / Ablation-CAM: only the N channels of highest spatial variance (0 = all). */
  maxChannels: number;
  /** Smooth Grad-CAM++ and SmoothGrad: noisy copies of the input. */
  noiseSamples: number;
  /** Smooth Grad-CAM++ and SmoothGrad: noise standard deviation as a fraction of the input's value range. */
  noiseLevel: number;
  /** Seed of every random draw (noise, ROAD's imputation), so that runs repeat exactly. */
  seed: number;
  /** Integrated Gradients: steps of the path integral (Riemann sum). */
  igSteps: number;
  /**
   * Integrated Gradients: the preprocessed baseline image [H * W * C] (model-input values). Absent: all zeros in
   * model-input space (the pipeline passes the preprocessed black image instead).
   */
  baseline?: Float32Array;
  /** FEM: a position counts for its channel where the activation exceeds mean + femK * std of that channel (default 2, > 0). */
  femK: number;
  /** KPCA-CAM: kernel of the kernel PCA over the positions (default 'sigmoid', as pytorch-grad-cam). */
  kpcaKernel: KpcaKernel;
  /** KPCA-CAM: the kernel's gamma (sigmoid, rbf, poly); absent: 1 / channels, as scikit-learn. */
  kpcaGamma?: number;
  /** Finer-CAM: how strongly the comparison classes' logits are subtracted (default 1, as pytorch-grad-cam). */
  finerAlpha: number;
  /**
   * Finer-CAM: the classes to compare with, by index; absent: the 3 classes whose logits are closest to the
   * explained class's (pytorch-grad-cam's comparison ranks 1, 2, 3).
   */
  finerCompare?: number[];
  /** Finer-CAM: the method that explains the Finer-CAM score (default 'gradcam'). */
  finerBase: string;
  /** Progress of long methods (channels done / total). */
  onProgress?: (done: number, total: number) => void;
}

/** KPCA-CAM's kernels (scikit-learn's definitions: see kernel-pca.ts). */
export type KpcaKernel = 'sigmoid' | 'rbf' | 'poly' | 'cosine';
export const KPCA_KERNELS: KpcaKernel[] = ['sigmoid', 'rbf', 'poly', 'cosine'];

export const DEFAULT_METHOD_OPTIONS: MethodOptions = { eigenSmooth: false, batchSize: 32, maxChannels: 0, noiseSamples: 8, noiseLevel: 0.15, seed: 0, igSteps: 32, femK: 2, kpcaKernel: 'sigmoid', finerAlpha: 1, finerBase: 'gradcam' };

export interface CamMethod {
  /** Name used on the command line. */
  name: string;
  /** Human-readable name. */
  title: string;
  needs: MethodNeeds[];
  /**
   * 'pixel': a pixel-level attribution, computed once per image from input gradients (no target layer); its maps
   * are at the input resolution. Absent: computed at each target layer.
   */
  level?: 'pixel';
  /**
   * How the maps of several target layers become one (each layer's map normalised and resized to the input first):
   * 'product' multiplies them (RefineCAM). Absent: as the run says (--aggregate, default 'mean').
   */
  aggregate?: LayerAggregation;
  /**
   * A method that is another method on other targets (Finer-CAM): the pipeline runs options.finerBase on the
   * Finer-CAM score of each explained class, and `compute` is never called.
   */
  finer?: boolean;
  /** Returns [k, h, w] maps (not normalised). Runs inside the caller's tidy scope. */
  compute(inputs: MethodInputs): tf.Tensor3D;
  /** Per-channel methods: the [channels, k] scores of some channels (what other threads compute for shareChannels). */
  channelScores?(inputs: MethodInputs, channels: number[]): number[][];
}

/** How several target layers' maps are combined: averaged (pytorch-grad-cam's default) or multiplied (RefineCAM). */
export type LayerAggregation = 'mean' | 'product';

/** A per-channel method's scores: spread over threads where the caller offers it, else all here. */
export function scoresOfChannels(method: CamMethod, inputs: MethodInputs, channels: number[]): number[][] {
  const local = (part: number[]) => method.channelScores!(inputs, part);
  return inputs.shareChannels ? inputs.shareChannels(method.name, channels, local) : local(channels);
}

/** sum_K w[i, K] * A[h, w, K] for every class i: [1,h,w,K] x [k,K] -> [k,h,w]. */
export function weightedSum(activations: tf.Tensor4D, weights: tf.Tensor2D): tf.Tensor3D {
  const [, h, w, K] = activations.shape;
  const flat = tf.reshape(activations, [h * w, K]);
  const maps = tf.matMul(weights, flat, false, true); // [k, h*w]
  return tf.reshape(maps, [weights.shape[0], h, w]);
}

/**
 * The map of a channel-weight method: ReLU(sum_K w_K A_K), or with eigen smoothing the first principal
 * component of the weighted activations w_K A_K (then ReLU).
 */
export function mapFromWeights(activations: tf.Tensor4D, weights: tf.Tensor2D, options: MethodOptions): tf.Tensor3D {
  if (!options.eigenSmooth) return tf.relu(weightedSum(activations, weights));
  const k = weights.shape[0];
  return mapFromContributions(tf.mul(activations, tf.reshape(weights, [k, 1, 1, weights.shape[1]])) as tf.Tensor4D, options);
}

/** The map of an element-wise method from its per-channel contributions [k, h, w, K]: channel sum (or eigen smoothing), then ReLU. */
export function mapFromContributions(contributions: tf.Tensor4D, options: MethodOptions): tf.Tensor3D {
  if (!options.eigenSmooth) return tf.relu(tf.sum(contributions, 3)) as tf.Tensor3D;
  const maps = tf.unstack(contributions).map((c) => principalProjection(c as tf.Tensor3D));
  return tf.relu(tf.stack(maps)) as tf.Tensor3D;
}

export function requireGradients(inputs: MethodInputs, method: string): tf.Tensor4D {
  if (!inputs.gradients) throw new Error(`${method} needs gradients`);
  return inputs.gradients;
}
