/**
 * Inference-only fusion for LayersModels: Conv2D / DepthwiseConv2D -> BatchNormalization -> activation run as
 * one fused convolution, the BatchNormalization folded into the filter and bias.
 *
 * Why: Keras models keep BatchNormalization and the activation as layers of their own, so tfjs runs three
 * kernels where one would do. On WASM the two extra passes over each activation are a large share of a forward
 * pass (darknet_tiny: conv 66%, BN 24%, LeakyReLU 10% of the time), and every forward-pass-heavy method
 * (Score-CAM, faithfulness curves, Smooth Grad-CAM++'s noisy copies) pays them many times over.
 *
 * Only for passes that take no gradient: the folded filters are constants, and the fused kernels' gradients are
 * what gradient-mode.ts avoids. A group is used only when nothing outside it reads the tensors inside it (the
 * convolution's or the normalisation's own output), so every value the executor hands out is unchanged up to
 * float rounding (the folded weights are W * gamma / sqrt(var + eps), computed once in float32).
 */
import * as tf from '@tensorflow/tfjs';

/** The part of tfjs-layers' SymbolicTensor this module reads. */
export interface FusableSym {
  id: number;
  sourceLayer: tf.layers.Layer;
  inputs: FusableSym[];
  shape: (number | null)[];
}

type FusedActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';

/** A chain conv [-> batchnorm] [-> activation] whose last tensor is `out`. */
export interface FusedGroup {
  conv: FusableSym;
  /** The tensors computed inside the group that the fused op skips (the conv's and the BN's outputs). */
  interior: FusableSym[];
  out: FusableSym;
  bn?: FusableSym;
  act?: FusableSym;
}

interface FoldedOp {
  depthwise: boolean;
  filter: tf.Tensor4D;
  bias?: tf.Tensor1D;
  activation: FusedActivation;
  leakyAlpha?: number;
  strides: [number, number];
  pad: 'same' | 'valid';
  dilations: [number, number];
}

function cfg(l: tf.layers.Layer): Record<string, unknown> {
  return l.getConfig() as Record<string, unknown>;
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

function channelsLast(l: tf.layers.Layer): boolean {
  const f = cfg(l).dataFormat;
  return f == null || f === 'channelsLast' || f === 'channels_last';
}

/** The activation a standalone layer applies, in fused-op terms; null when it is not one a fused op can apply. */
export function activationOf(l: tf.layers.Layer): { activation: FusedActivation; leakyAlpha?: number } | null {
  const c = cfg(l);
  switch (l.getClassName()) {
    case 'ReLU': {
      // tfjs' ReLU layer has only maxValue; Keras' negative_slope / threshold do not reach it.
      const max = c.maxValue;
      if (max == null) return { activation: 'relu' };
      return max === 6 ? { activation: 'relu6' } : null;
    }
    case 'LeakyReLU':
      return { activation: 'leakyrelu', leakyAlpha: typeof c.alpha === 'number' ? c.alpha : 0.3 };
    case 'ELU':
      return c.alpha == null || c.alpha === 1 ? { activation: 'elu' } : null;
    case 'Activation': {
      const a = c.activation;
      if (a === 'relu' || a === 'relu6' || a === 'elu' || a === 'sigmoid' || a === 'linear') return { activation: a };
      return null;
    }
    default:
      return null;
  }
}

/** A BatchNormalization over the last axis, whose folding is exact algebra. */
function isChannelBatchNorm(t: FusableSym): boolean {
  if (t.sourceLayer.getClassName() !== 'BatchNormalization') return false;
  const axis = cfg(t.sourceLayer).axis;
  const rank = t.shape.length;
  return axis === -1 || axis === rank - 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === rank - 1));
}

function isFusableConv(t: FusableSym): boolean {
  const type = t.sourceLayer.getClassName();
  if (type !== 'Conv2D' && type !== 'DepthwiseConv2D') return false;
  if (!channelsLast(t.sourceLayer) || t.inputs.length !== 1) return false;
  const c = cfg(t.sourceLayer);
  return (c.padding === 'same' || c.padding === 'valid') && (c.activation == null || c.activation === 'linear');
}

/**
 * The fusable groups of a graph given in topological order. `consumers` counts the readers of each tensor in the
 * whole model, so a tensor read anywhere else never disappears inside a group.
 */
export function findFusedGroups(order: FusableSym[], consumers: Map<number, FusableSym[]>): FusedGroup[] {
  const groups: FusedGroup[] = [];
  const only = (t: FusableSym): FusableSym | null => {
    const cs = consumers.get(t.id) ?? [];
    return cs.length === 1 && cs[0].inputs.length === 1 ? cs[0] : null;
  };
  for (const t of order) {
    if (!isFusableConv(t)) continue;
    const group: FusedGroup = { conv: t, interior: [], out: t };
    let next = only(t);
    if (next && isChannelBatchNorm(next)) {
      group.interior.push(group.out);
      group.bn = next;
      group.out = next;
      next = only(next);
    }
    if (next && activationOf(next.sourceLayer)) {
      group.interior.push(group.out);
      group.act = next;
      group.out = next;
    }
    if (group.interior.length > 0) groups.push(group);
  }
  return groups;
}

function weightNamed(l: tf.layers.Layer, suffix: string): tf.Tensor | undefined {
  const v = l.weights.find((w) => w.name.endsWith(`/${suffix}`) || w.originalName.endsWith(`/${suffix}`));
  return v?.read();
}

/** The group's convolution with the normalisation folded in (tensors kept until disposeFolded). */
function fold(g: FusedGroup): FoldedOp {
  const conv = g.conv.sourceLayer;
  const c = cfg(conv);
  const depthwise = conv.getClassName() === 'DepthwiseConv2D';
  const folded = tf.tidy(() => {
    const weights = conv.getWeights();
    let filter = weights[0] as tf.Tensor4D;
    let bias = c.useBias === false ? undefined : (weights[1] as tf.Tensor1D | undefined);
    if (g.bn) {
      const bn = g.bn.sourceLayer;
      const bc = cfg(bn);
      const variance = weightNamed(bn, 'moving_variance')!;
      const mean = weightNamed(bn, 'moving_mean')!;
      const gamma = bc.scale === false ? undefined : weightNamed(bn, 'gamma');
      const beta = bc.center === false ? undefined : weightNamed(bn, 'beta');
      const eps = typeof bc.epsilon === 'number' ? bc.epsilon : 1e-3;
      let scale = tf.rsqrt(tf.add(variance, eps));
      if (gamma) scale = tf.mul(scale, gamma);
      // Output channel o of a depthwise filter [kh, kw, inC, mult] is (in channel, multiplier) = divmod(o, mult).
      const [, , inC, last] = filter.shape; // last: out channels (conv) or the depth multiplier (depthwise)
      filter = tf.mul(filter, depthwise ? tf.reshape(scale, [1, 1, inC, last]) : tf.reshape(scale, [1, 1, 1, last])) as tf.Tensor4D;
      let b = tf.mul(tf.neg(mean), scale) as tf.Tensor1D;
      if (bias) b = tf.add(b, tf.mul(bias, scale)) as tf.Tensor1D;
      if (beta) b = tf.add(b, beta) as tf.Tensor1D;
      bias = b;
    }
    // Copies, kept: the layer's own weight tensors stay the layer's, and the folded ones outlive any scope.
    return bias ? { filter: tf.keep(filter.clone()), bias: tf.keep(bias.clone()) } : { filter: tf.keep(filter.clone()) };
  });
  const act = g.act ? activationOf(g.act.sourceLayer)! : { activation: 'linear' as const };
  return {
    depthwise,
    filter: folded.filter,
    ...(folded.bias ? { bias: folded.bias } : {}),
    activation: act.activation,
    ...(act.leakyAlpha != null ? { leakyAlpha: act.leakyAlpha } : {}),
    strides: pair(c.strides, 1),
    pad: c.padding as 'same' | 'valid',
    dilations: pair(c.dilationRate, 1),
  };
}

/** Runs a folded group on its input. */
function apply(op: FoldedOp, x: tf.Tensor4D): tf.Tensor4D {
  const args = {
    x,
    filter: op.filter,
    strides: op.strides,
    pad: op.pad,
    dilations: op.dilations,
    bias: op.bias,
    activation: op.activation,
    ...(op.leakyAlpha != null ? { leakyreluAlpha: op.leakyAlpha } : {}),
  };
  return op.depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
}

/**
 * The fused groups of one model and their folded weights, made up front (so a model's tensor count does not
 * change on first use). `refold` after the weights change (randomizeWeights); `dispose` with the model.
 */
export class FusedInference {
  private readonly byOut = new Map<number, FusedGroup>();
  private readonly folded = new Map<FusedGroup, FoldedOp>();

  constructor(groups: FusedGroup[]) {
    for (const g of groups) this.byOut.set(g.out.id, g);
    this.refold();
  }

  get size(): number {
    return this.byOut.size;
  }

  /** The group ending at this tensor, if it may be used when `needed` tensors must stay visible. */
  groupEndingAt(t: FusableSym, needed: (id: number) => boolean): FusedGroup | undefined {
    const g = this.byOut.get(t.id);
    if (!g || g.interior.some((i) => needed(i.id))) return undefined;
    return g;
  }

  run(g: FusedGroup, x: tf.Tensor4D): tf.Tensor4D {
    return apply(this.folded.get(g)!, x);
  }

  /** Folds every group's weights anew from the layers' current weights. */
  refold(): void {
    this.dispose();
    for (const g of this.byOut.values()) this.folded.set(g, fold(g));
  }

  dispose(): void {
    for (const op of this.folded.values()) {
      op.filter.dispose();
      op.bias?.dispose();
    }
    this.folded.clear();
  }
}

let enabled = true;
/** Turns the fusion off or on for every model (benchmarks and tests compare the two). */
export function setFusedInference(on: boolean): void {
  enabled = on;
}
export function fusedInferenceEnabled(): boolean {
  return enabled;
}
/** Runs fn with every layer called as itself (code that wraps layers' calls, as FullGrad does, needs that). */
export function withoutFusedInference<T>(fn: () => T): T {
  const was = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = was;
  }
}

/** True while a gradient is being recorded: fused, folded constants must not stand in for layers then. */
export function recordingGradient(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number } }).state;
  return state.gradientDepth > 0;
}
