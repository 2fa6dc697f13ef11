/**
 * FullGrad (Srinivas & Fleuret 2019, "Full-gradient representation for neural network visualization"): for a
 * piecewise-linear network with biases, f(x) = grad_x f . x + sum over layers l of sum (grad_{z_l} f * b_l), where
 * z_l is layer l's output before its activation and b_l its bias (for inference BatchNormalization the implicit
 * bias beta - mean * gamma / sqrt(var + eps)). This module finds the layers that carry a bias, refuses models the
 * decomposition does not hold for (naming the layer), and computes the pieces on a LayersModel.
 *
 * The bias-gradients are taken by adding a zero offset e_l to each such layer's output while differentiating
 * (the layer's call is wrapped, as gradient-mode.ts routes fused ops): grad_{e_l} f is the gradient at the layer's
 * output after its activation; times the activation's derivative there (ReLU: a > 0; ReLU6: 0 < a < 6; linear: 1)
 * it is the gradient before the activation.
 */
import * as tf from '@tensorflow/tfjs';

export type PieceActivation = 'linear' | 'relu' | 'relu6';

export interface BiasLayer {
  /** The layer's own (flat) name. */
  name: string;
  /** Per-channel bias [c]. */
  bias: Float32Array;
  activation: PieceActivation;
  /** A 4-D (spatial) output: FullGrad's map aggregates these; others (Dense) only complete the sum. */
  spatial: boolean;
}

export type FullGradPlan = { kind: 'ok'; layers: BiasLayer[] } | { kind: 'none'; reason: string };

/** Layers that are piecewise linear with no bias of their own (or none that matters). */
const PLAIN = new Set([
  'InputLayer', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten', 'Reshape', 'ZeroPadding2D', 'Cropping2D',
  'Add', 'Subtract', 'Average', 'Maximum', 'Minimum', 'Concatenate', 'ReLU', 'LeakyReLU', 'Permute', 'UpSampling2D',
  'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization', 'Masking',
]);
const BIASED = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense', 'BatchNormalization']);

function activationOf(cfg: Record<string, unknown>): string {
  const a = cfg.activation;
  return a == null ? 'linear' : String(a);
}

/** A layer's weight by its role ('bias', 'gamma', 'moving_mean'...): the name it was created with, before tfjs made it unique. */
const weightEnding = (l: tf.layers.Layer, end: string) => l.weights.find((w) => new RegExp(`(^|/)${end}(:0)?$`).test(w.originalName));

/**
 * The bias layers of the part of the model that computes the logits, or why FullGrad does not apply.
 * `show` names a layer as the user sees it.
 */
export function fullGradPlan(layers: tf.layers.Layer[], show: (name: string) => string): FullGradPlan {
  const out: BiasLayer[] = [];
  for (const l of layers) {
    const type = l.getClassName();
    const cfg = l.getConfig() as Record<string, unknown>;
    const where = `'${show(l.name)}' (${type})`;
    if (((l as unknown as { inboundNodes?: unknown[] }).inboundNodes?.length ?? 0) > 1) return { kind: 'none', reason: `${where} is applied more than once (a shared layer): its bias-gradient is not one tensor` };
    if (type === 'Activation') {
      const a = activationOf(cfg);
      if (a !== 'linear' && a !== 'relu' && a !== 'relu6') return { kind: 'none', reason: `${where} applies activation '${a}', which is not piecewise linear: FullGrad's decomposition f(x) = grad_x f . x + sum grad_b f . b holds only for piecewise-linear networks (ReLU, max pooling, ...)` };
      continue;
    }
    if (PLAIN.has(type)) continue;
    if (!BIASED.has(type)) return { kind: 'none', reason: `${where} is not a layer FullGrad can decompose (it handles convolutions, dense and batch-normalization layers with ReLU/ReLU6/linear activations, pooling, padding, adds and concatenations)` };
    const a = activationOf(cfg);
    if (a !== 'linear' && a !== 'relu' && a !== 'relu6') return { kind: 'none', reason: `${where} applies activation '${a}', which is not piecewise linear: FullGrad's decomposition holds only for piecewise-linear networks` };
    const spatial = (l.outputShape as (number | null)[]).length === 4;
    let bias: Float32Array | null = null;
    if (type === 'BatchNormalization') {
      const eps = Number(cfg.epsilon ?? 1e-3);
      const mean = weightEnding(l, 'moving_mean')!.read().dataSync() as Float32Array;
      const variance = weightEnding(l, 'moving_variance')!.read().dataSync() as Float32Array;
      const gamma = weightEnding(l, 'gamma')?.read().dataSync();
      const beta = weightEnding(l, 'beta')?.read().dataSync();
      bias = Float32Array.from(mean, (m, c) => (beta ? beta[c] : 0) - (m * (gamma ? gamma[c] : 1)) / Math.sqrt(variance[c] + eps));
    } else if (cfg.useBias !== false) {
      const b = weightEnding(l, 'bias');
      if (b) bias = Float32Array.from(b.read().dataSync());
    }
    if (bias) out.push({ name: l.name, bias, activation: a as PieceActivation, spatial });
  }
  return { kind: 'ok', layers: out };
}

export interface FullGradPieces {
  /** grad_x f * x, same shape as x. */
  input: tf.Tensor;
  /** Per bias layer (plan order): grad_{z_l} f * b_l, the layer's output shape. */
  biases: tf.Tensor[];
}

/**
 * The pieces for a batch of rows x [n, ...] and per-row scores: `predict` runs the model, `score` turns its
 * logits into [n] scores (row i's target). `layerByName` finds a plan layer in the model.
 */
export function fullGradPieces(plan: BiasLayer[], layerByName: (name: string) => tf.layers.Layer, x: tf.Tensor4D, predict: (x: tf.Tensor4D) => tf.Tensor2D, score: (logits: tf.Tensor2D) => tf.Tensor1D): FullGradPieces {
  const layers = plan.map((p) => layerByName(p.name));
  type Callable = { call: (inputs: unknown, kwargs: unknown) => tf.Tensor | tf.Tensor[] };
  const originals = layers.map((l) => (l as unknown as Callable).call);
  const ownCall = layers.map((l) => Object.prototype.hasOwnProperty.call(l, 'call'));
  const offsets: (tf.Tensor | null)[] = plan.map(() => null);
  const masks: (tf.Tensor | null)[] = plan.map(() => null);
  const shapes: number[][] = plan.map(() => []);
  let probing = true;
  // Wrapped calls: record each layer's output shape (first, a probe pass) and, while differentiating, add the offset
  // and keep the activation's derivative.
  layers.forEach((l, i) => {
    (l as unknown as Callable).call = (inputs, kwargs) => {
      const out = originals[i].call(l, inputs, kwargs) as tf.Tensor;
      if (probing) {
        shapes[i] = out.shape;
        return out;
      }
      const act = plan[i].activation;
      masks[i] = tf.keep(act === 'linear' ? tf.onesLike(out) : act === 'relu' ? tf.step(out, 0) : tf.mul(tf.step(out, 0), tf.step(tf.sub(6, out), 0)));
      return tf.add(out, offsets[i]!);
    };
  });
  try {
    tf.tidy(() => {
      predict(x);
    });
    probing = false;
    return tf.tidy(() => {
      const zeros = shapes.map((s) => tf.zeros(s));
      const grads = tf.grads((...args: tf.Tensor[]) => {
        args.slice(1).forEach((e, i) => (offsets[i] = e));
        return tf.sum(score(predict(args[0] as tf.Tensor4D)));
      })([x, ...zeros]);
      const input = tf.mul(grads[0], x);
      const biases = plan.map((p, i) => tf.mul(tf.mul(grads[i + 1], masks[i]!), tf.tensor1d(p.bias)));
      return { input, biases };
    });
  } finally {
    layers.forEach((l, i) => {
      if (ownCall[i]) (l as unknown as Callable).call = originals[i];
      else delete (l as unknown as Partial<Callable>).call; // back to the class's method
    });
    tf.dispose(masks.filter((m): m is tf.Tensor => !!m));
  }
}
