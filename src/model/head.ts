/**
 * The classifier's head, described independently of the model format: what turns the last layers' numbers into
 * class scores (softmax, sigmoid or nothing), and whether the part after a target layer is "linear once pooled"
 * so that CAM applies. The layers and graph classifiers each walk their own structure and describe it in these
 * terms; the rules live here once, as pure functions.
 */
import * as tf from '@tensorflow/tfjs';

/** What the model applies to its logits: probabilities are computed the same way. */
export type HeadKind = 'softmax' | 'sigmoid' | 'linear';

/**
 * How the logits are presented. A single sigmoid unit is a binary classifier: two classes, logits [-z, z],
 * probabilities [1 - sigmoid(z), sigmoid(z)] (class 1 is the positive class the unit scores).
 */
export interface HeadInfo {
  kind: HeadKind;
  /** One sigmoid unit shown as two classes. */
  binary: boolean;
  /** Where the final activation was found, for messages and `inspect`: "'dense_5' (Dense, activation softmax)". */
  activationAt?: string;
}

/** [n, ...] pre-activation values -> [n, classes] logits as the tool presents them (see HeadInfo.binary). */
export function presentLogits(raw: tf.Tensor, head: HeadInfo): tf.Tensor2D {
  return tf.tidy(() => {
    const n = raw.shape[0];
    const flat = (raw.rank === 2 ? raw : tf.reshape(raw, [n, -1])) as tf.Tensor2D;
    return head.binary ? (tf.concat([tf.neg(flat), flat], 1) as tf.Tensor2D) : flat;
  });
}

/** Class probabilities from presented logits: softmax for softmax and linear heads, element-wise sigmoid for sigmoid heads. */
export function probabilitiesOf(logits: tf.Tensor2D, kind: HeadKind): tf.Tensor2D {
  return kind === 'sigmoid' ? tf.sigmoid(logits) : tf.softmax(logits);
}

/** The same on plain numbers (one image's logits). */
export function probabilitiesOfArray(logits: Float32Array, kind: HeadKind): Float32Array {
  const out = new Float32Array(logits.length);
  if (kind === 'sigmoid') {
    for (let i = 0; i < logits.length; i++) out[i] = 1 / (1 + Math.exp(-logits[i]));
    return out;
  }
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * Whether a pre-activation tensor of this shape (batch dimension left out) is one vector of class scores: every
 * dimension but the last is 1 (MobileNet v1's [1, 1, 1000] before its final reshape). A softmax over the last axis
 * of anything else is not a softmax over classes, and is not stepped over.
 */
export function isClassVector(shape: (number | null)[]): boolean {
  return shape.length >= 1 && shape.slice(0, -1).every((d) => d === 1) && (shape[shape.length - 1] ?? 0) > 0;
}

/** One step on the way from a target layer to the logits, as far as CAM cares. */
export type HeadStep =
  /** Identity or shape only on a pooled (1x1) tensor: Dropout, Identity, Reshape, Squeeze, linear Activation... */
  | { kind: 'pass'; at: string; type: string }
  /** Adds a constant (bias): does not change which channel weighs what. */
  | { kind: 'bias'; at: string; type: string }
  /** Global average pooling over height and width. */
  | { kind: 'gap'; at: string; type: string }
  /** Multiplies channels by a [K, K'] matrix (Dense, MatMul, 1x1 convolution), row-major. */
  | { kind: 'linear'; at: string; type: string; weights: Float32Array; rows: number; cols: number }
  /** Scales each channel (inference BatchNormalization, Mul by a per-channel constant). */
  | { kind: 'scale'; at: string; type: string; scale: Float32Array }
  /** Anything CAM cannot see through; `why` completes "'<at>' (<type>) ...". */
  | { kind: 'blocker'; at: string; type: string; why: string };

export type CamRule = { kind: 'weights'; weights: Float32Array; rows: number; cols: number; path: string[] } | { kind: 'channels'; path: string[] } | { kind: 'none'; reason: string };

function matMul(a: Float32Array, ar: number, ac: number, b: Float32Array, bc: number): Float32Array {
  const out = new Float32Array(ar * bc);
  for (let i = 0; i < ar; i++) {
    for (let k = 0; k < ac; k++) {
      const v = a[i * ac + k];
      if (v === 0) continue;
      for (let j = 0; j < bc; j++) out[i * bc + j] += v * b[k * bc + j];
    }
  }
  return out;
}

/**
 * CAM applies when the head after the target is linear once pooled: logits = GAP(A) W + b. Before the pooling,
 * only maps that commute with it may stand (1x1 linear convolutions, per-channel scales, biases); after it, any
 * chain of linear maps, scales, biases and shape-only steps. The product of the linear maps is W ([K, classes]).
 * With no linear map at all, the target's channels are the class maps, one per class.
 *
 * `channels` is the target's channel count K; `classes` the number of raw logits the steps end in.
 */
export function camRule(target: string, steps: HeadStep[], channels: number, classes: number): CamRule {
  let pooled = false;
  let w: Float32Array | null = null;
  let rows = channels;
  let cols = channels;
  const path: string[] = [];
  for (const s of steps) {
    if (s.kind === 'blocker') return { kind: 'none', reason: `'${s.at}' (${s.type}) ${s.why}` };
    path.push(`${s.at} (${s.type})`);
    if (s.kind === 'gap') {
      if (pooled) return { kind: 'none', reason: `'${s.at}' pools a second time` };
      pooled = true;
    } else if (s.kind === 'linear') {
      if (s.rows !== cols) return { kind: 'none', reason: `'${s.at}' takes ${s.rows} channels where ${cols} arrive` };
      w = w ? matMul(w, rows, cols, s.weights, s.cols) : Float32Array.from(s.weights);
      cols = s.cols;
    } else if (s.kind === 'scale') {
      if (s.scale.length !== cols) return { kind: 'none', reason: `'${s.at}' scales ${s.scale.length} channels where ${cols} arrive` };
      if (!w) {
        // diag(scale) so far: start the product from it.
        w = new Float32Array(rows * cols);
        for (let i = 0; i < rows; i++) w[i * cols + i] = s.scale[i];
      } else {
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) w[i * cols + j] *= s.scale[j];
      }
    }
  }
  if (!pooled) return { kind: 'none', reason: `no global average pooling between '${target}' and the logits (CAM needs pooling followed by a linear classifier)` };
  if (!w) {
    if (channels === classes) return { kind: 'channels', path };
    return { kind: 'none', reason: `'${target}' is pooled straight into the logits but has ${channels} channels for ${classes} classes` };
  }
  if (cols !== classes) return { kind: 'none', reason: `the head ends in ${cols} values where the model has ${classes} logits` };
  return { kind: 'weights', weights: w, rows, cols, path };
}

/** CAM weights for the presented classes: a binary head's class 0 is the negated unit. */
export function presentCamWeights(rule: Extract<CamRule, { kind: 'weights' }>, head: HeadInfo): tf.Tensor2D {
  if (!head.binary) return tf.tensor2d(rule.weights, [rule.rows, rule.cols]);
  const w = new Float32Array(rule.rows * 2);
  for (let i = 0; i < rule.rows; i++) {
    w[i * 2] = -rule.weights[i];
    w[i * 2 + 1] = rule.weights[i];
  }
  return tf.tensor2d(w, [rule.rows, 2]);
}

/** A binary head whose single channel is its class map: CAM weights [[-1, 1]]. */
export function binaryChannelWeights(): tf.Tensor2D {
  return tf.tensor2d([-1, 1], [1, 2]);
}
