/**
 * One image through the model: one forward pass that keeps the target activations, one batched backward pass
 * through the head per target layer for all requested classes (shared by every gradient method), then each
 * method. Returns plain arrays; every tensor made here is released before returning.
 */
import * as tf from '@tensorflow/tfjs';
import { Classifier, CamHead, ForwardPass } from '../model/classifier';
import { CamMethod, DEFAULT_METHOD_OPTIONS, getMethod, LayerAggregation, MethodInputs, MethodOptions } from '../methods';
import { finerBaseProblem, finerComparison, finerTarget } from '../methods/finercam';
import { classGradients, classGradientsAndHessianVector, ScoreKind } from '../capture/gradients';
import { asTarget, readsOtherOutput, SegmentTarget, SimilarityTarget, Target, targetClasses, TargetLike, targetMatrix, targetScoreMatrix, targetScores, targetSpec } from '../capture/targets';
import { inputGradients } from '../capture/input-gradients';
import { ModelError, UsageError } from '../util/errors';
import { probabilitiesOfArray } from '../model/head';
import { toInputResolution } from './maps';
import { normalizeMap } from '../render/pixels';

export interface Prediction {
  index: number;
  logit: number;
  probability: number;
}

export interface RawMap {
  layer: string;
  data: Float32Array;
  height: number;
  width: number;
}

export interface ClassMap {
  method: string;
  /** The class explained; for another target its first class (-1 for a function target). */
  classIndex: number;
  /** What the map explains (a class target for plain classes). */
  target: Target;
  /** Normalised map at the model's input resolution (inputH * inputW, row-major). */
  map: Float32Array;
  flat: boolean;
  /**
   * The method's raw low-resolution map per target layer, before any normalisation (un-augmented image). A
   * pixel-level method has one, layer 'input', at the input resolution.
   */
  raw: RawMap[];
  /** Integrated Gradients: sum(attribution) - (f(x) - f(baseline)) for this class (un-augmented image). */
  completenessError?: number;
  /** Finer-CAM: the classes this class was compared with (un-augmented image). */
  comparedWith?: number[];
  /**
   * With `signedFor` naming the method: its signed attribution per channel at the input resolution [H * W * C],
   * channels last in the model's order (un-augmented image; summed over target layers for Guided Grad-CAM).
   */
  signed?: Float32Array;
}

export interface TensorExplanation {
  logits: Float32Array;
  probabilities: Float32Array;
  /** Classes explained, in order (for other targets, each target's first class, -1 for a function). */
  classes: number[];
  /** Targets explained, in order (class targets for plain classes). */
  targets: Target[];
  /** Top classes by logit (at least as many as asked with topK). */
  top: Prediction[];
  /** One map per method and class, methods in the order given, classes in order within each. */
  maps: ClassMap[];
  /** What the user should know about these maps (e.g. guided backprop met activations that are not ReLUs). */
  warnings: string[];
  timings: { forwardMs: number; backwardMs: number; methodMs: number };
}

/**
 * What explainTensor uses of a channel pool (src/batch/channel-pool.ts, Node worker threads), declared here so that
 * this core module type-checks without Node's types: the browser build has no pool.
 */
export interface ChannelSharer {
  share(
    method: string,
    channels: number[],
    local: (part: number[]) => number[][],
    ctx: { id: number; x: Float32Array; xShape: number[]; layer: string; targets: TargetLike[]; options: Partial<MethodOptions>; score: ScoreKind },
  ): number[][];
}

export interface ExplainTensorOptions {
  methods: CamMethod[];
  layers: string[];
  /** Explicit classes; when absent, the top-k classes by score. */
  classes?: number[];
  /**
   * What to explain instead of classes: class, logit-diff, sum or function targets (src/capture/targets.ts).
   * Overrides classes and topK.
   */
  targets?: TargetLike[];
  topK: number;
  score: ScoreKind;
  /** How many top predictions to report even when classes are explicit. */
  reportTop?: number;
  methodOptions?: Partial<MethodOptions>;
  /** Test-time augmentation: horizontal flip x brightness 0.9/1.0/1.1, maps de-augmented and averaged. */
  augSmooth?: boolean;
  /** Classes per backward pass (default: from the activation's size, see classChunkSize); results do not depend on it. */
  classChunk?: number;
  /** Worker threads that share Score-CAM's and Ablation-CAM's channels with this thread. */
  channelPool?: ChannelSharer | null;
  /** Pixel-level methods whose signed attribution to return (ClassMap.signed), for gradient images. */
  signedFor?: string[];
  /** How several target layers' maps become one: 'mean' (default) or 'product'; a method's own (RefineCAM's) wins. */
  aggregate?: LayerAggregation;
}

let inputIds = 0;

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

function camInputs(head: CamHead, targets: Target[], numClasses: number): MethodInputs['cam'] {
  if (targets.every((t) => t.kind === 'class')) {
    const classes = targets.map((t) => targetClasses(t)[0]);
    if (head.kind === 'channels') return { channels: classes };
    if (head.kind === 'weights') return { weights: tf.gather(head.weights, classes, 1) as tf.Tensor2D };
  }
  // A linear target's CAM weights are the same combination of the classes' weights: W t.
  const m = head.kind === 'none' ? null : targetMatrix(targets, numClasses); // [k, classes]
  if (head.kind !== 'none' && !m) throw new ModelError('CAM needs targets that are linear in the logits (class, logit-diff, sum), not a function; use --method gradcam');
  if (head.kind === 'channels') return { weights: tf.transpose(m!) as tf.Tensor2D };
  if (head.kind === 'weights') return { weights: tf.matMul(head.weights, m!, false, true) as tf.Tensor2D };
  throw new ModelError(`CAM is not possible for this model: ${head.reason}; use --method gradcam`);
}

const needs = (methods: CamMethod[], what: CamMethod['needs'][number]) => methods.some((m) => m.needs.includes(what));

/** The layer name of a pixel-level method's raw map. */
export const INPUT_LAYER = 'input';

interface RawResult {
  /** per method, per layer: [k, h, w] maps flattened */
  raw: Map<string, RawMap[]>;
  /** per method: per-class numbers the method noted */
  notes: Map<string, number[]>;
  /** per method: its signed attribution [k * H * W * C] (methods in signedFor only) */
  signed: Map<string, Float32Array>;
  warnings: string[];
  backwardMs: number;
  methodMs: number;
}

/**
 * Tiled rows per backward pass: the head runs on [rows, h, w, K] activations, and its widest tensors grow with
 * the rows. Bounded so that -k 1000 on a 1000-class model runs in chunks instead of exhausting WASM's 4 GB
 * (2M values per tiled activation: 79 rows of darknet_tiny's 14x14x128, 31 of MobileNetV2's 7x7x1280).
 */
const MAX_TILED_VALUES = 2_000_000;

export function classChunkSize(activationShape: number[], override?: number): number {
  if (override != null) return Math.max(1, Math.floor(override));
  const perRow = activationShape.slice(1).reduce((a, b) => a * b, 1);
  return Math.max(1, Math.floor(MAX_TILED_VALUES / Math.max(1, perRow)));
}

/**
 * Methods whose work grows with the targets (a backward pass or CAM weights per target): these run per chunk. The
 * others score every target in the same forward passes, and run once.
 */
const perClassWork = (m: CamMethod) => m.needs.some((n) => n === 'gradients' || n === 'noisy-gradients' || n === 'cam-head' || n === 'hessian-vector');

/** The methods' raw maps for one (possibly augmented) input, given its forward pass. */
function rawMaps(model: Classifier, x: tf.Tensor4D, fp: ForwardPass, opts: ExplainTensorOptions, targets: Target[], camHeads: CamHead[], options: MethodOptions): RawResult {
  const classes = targets.map((t) => targetClasses(t)[0] ?? -1);
  // Plain classes go to the score functions as before; other targets as they are.
  const scored: TargetLike[] = targets.every((t) => t.kind === 'class') ? classes : targets;
  const linear = targets.every((t) => t.kind !== 'function');
  const raw = new Map<string, RawMap[]>(opts.methods.map((m) => [m.name, []]));
  const notes = new Map<string, number[]>();
  const signed = new Map<string, Float32Array>();
  const warnings = new Set<string>();
  const xId = ++inputIds; // lets channel workers reuse their forward pass of this input across methods
  let backwardMs = 0;
  let methodMs = 0;
  // The guided gradient of this input serves guided backprop and Guided Grad-CAM at every layer: computed once.
  let guidedHere: { gradients: tf.Tensor5D; scores: tf.Tensor2D } | null = null;
  const pixelGradients = (xs: tf.Tensor4D, guided = false) => {
    if (guided && xs === x && guidedHere) return guidedHere;
    const r = inputGradients(model, xs, scored, opts.score, guided);
    if (guided && r.guidedReLUs === 0) warnings.add("guided backprop met no ReLU in this model: its map is the plain input gradient (as saliency's)");
    if (r.otherActivations.length) {
      warnings.add(`guided backprop guides only the model's ReLUs; its other activation functions (${r.otherActivations.join(', ')}) pass their ordinary gradients`);
    }
    if (guided && xs === x) {
      guidedHere = { gradients: tf.keep(r.gradients), scores: tf.keep(r.scores) };
      return guidedHere;
    }
    return r;
  };
  /** One method on one chunk of targets at layer li; returns its [k, h, w] maps as data. */
  const run = (method: CamMethod, li: number, grads: tf.Tensor4D | undefined, part: { targets: Target[]; classes: number[]; scored: TargetLike[] }) => {
    const maps = tf.tidy(() => {
      const inputs: MethodInputs = {
        activations: fp.activations[li],
        classes: part.classes,
        gradients: grads,
        cam: method.needs.includes('cam-head') ? camInputs(camHeads[li], part.targets, model.numClasses) : undefined,
        input: x,
        scoreInputs: (xs) => targetScoreMatrix(model.predict(xs), part.scored),
        scoreActivations: (a) => targetScoreMatrix(fp.head(li, a), part.scored),
        shareChannels: opts.channelPool && linear
          ? (name, channels, local) =>
              opts.channelPool!.share(name, channels, local, { id: xId, x: x.dataSync() as Float32Array, xShape: x.shape, layer: opts.layers[li], targets: part.scored, options: { batchSize: options.batchSize }, score: opts.score })
          : undefined,
        hessianVector: () => classGradientsAndHessianVector(fp, li, part.scored, opts.score, opts.layers[li], model.head.kind),
        gradientsAt: (xs) => {
          const other = model.forward(xs, [opts.layers[li]]);
          try {
            return classGradients(other, 0, part.scored, opts.score, model.numClasses, opts.layers[li], model.head.kind);
          } finally {
            other.dispose();
          }
        },
        inputGradients: pixelGradients,
        fullGradients: () => {
          const k = part.targets.length;
          const tiled = k === 1 ? x : (tf.concat(Array.from({ length: k }, () => x), 0) as tf.Tensor4D);
          const { input, biases } = model.fullGradPieces!(tiled, (logits) => targetScores(logits, part.scored, 1, opts.score, model.head.kind));
          return { input: input as tf.Tensor4D, biases };
        },
        note: (name, perClass) => notes.set(method.name, perClass),
        keepSigned: opts.signedFor?.includes(method.name)
          ? (t) => {
              // Guided Grad-CAM hands one per target layer: they add up.
              const data = t.dataSync() as Float32Array;
              const had = signed.get(method.name);
              if (had) for (let i = 0; i < had.length; i++) had[i] += data[i];
              else signed.set(method.name, Float32Array.from(data));
            }
          : undefined,
        warn: (message) => warnings.add(message),
        options,
      };
      return method.compute(inputs);
    });
    const out = { data: maps.dataSync() as Float32Array, height: maps.shape[1], width: maps.shape[2] };
    maps.dispose();
    return out;
  };
  const all: { targets: Target[]; classes: number[]; scored: TargetLike[] } = { targets, classes, scored };
  try {
    const layerMethods = opts.methods.filter((m) => m.level !== 'pixel');
    // Gradient and CAM methods run per chunk of targets (bounded memory: see classChunkSize); per-channel methods
    // score every target in one pass whatever their number, and Guided Grad-CAM shares the guided input gradient
    // of all targets, so those run once.
    const chunked = layerMethods.filter((m) => perClassWork(m) && !m.needs.includes('input-gradients'));
    const whole = layerMethods.filter((m) => !chunked.includes(m));
    for (let li = 0; li < opts.layers.length && layerMethods.length; li++) {
      const chunk = classChunkSize(fp.activations[li].shape, opts.classChunk);
      const parts = new Map<string, { data: Float32Array[]; height: number; width: number }>();
      const keep = (method: CamMethod, r: { data: Float32Array; height: number; width: number }) => {
        const p = parts.get(method.name) ?? { data: [], height: r.height, width: r.width };
        p.data.push(r.data);
        parts.set(method.name, p);
      };
      // One backward pass for a group of targets (when a method needs it), then each method on that group.
      const runGroup = (methods: CamMethod[], part: typeof all) => {
        let t0 = performance.now();
        const grads = needs(methods, 'gradients') ? classGradients(fp, li, part.scored, opts.score, model.numClasses, opts.layers[li], model.head.kind) : undefined;
        if (grads) grads.dataSync(); // finish the backward pass here so the timings split honestly
        backwardMs += performance.now() - t0;
        t0 = performance.now();
        try {
          for (const method of methods) keep(method, run(method, li, grads, part));
        } finally {
          grads?.dispose();
        }
        methodMs += performance.now() - t0;
      };
      for (let start = 0; start < targets.length && chunked.length; start += chunk) {
        runGroup(chunked, { targets: targets.slice(start, start + chunk), classes: classes.slice(start, start + chunk), scored: scored.slice(start, start + chunk) as TargetLike[] });
      }
      if (whole.length) runGroup(whole, all);
      for (const method of layerMethods) {
        const p = parts.get(method.name)!;
        raw.get(method.name)!.push({ layer: opts.layers[li], data: p.data.length === 1 ? p.data[0] : concatFloat32(p.data), height: p.height, width: p.width });
      }
    }
    // Pixel-level methods: no target layer, once per input.
    const t0 = performance.now();
    for (const method of opts.methods) {
      if (method.level === 'pixel') raw.get(method.name)!.push({ layer: INPUT_LAYER, ...run(method, 0, undefined, all) });
    }
    methodMs += performance.now() - t0;
  } finally {
    const kept = guidedHere as { gradients: tf.Tensor5D; scores: tf.Tensor2D } | null;
    if (kept) tf.dispose([kept.gradients, kept.scores]);
  }
  return { raw, notes, signed, warnings: [...warnings], backwardMs, methodMs };
}

function concatFloat32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function classSlice(layers: RawMap[], ci: number): RawMap[] {
  return layers.map((r) => ({ ...r, data: r.data.slice(ci * r.height * r.width, (ci + 1) * r.height * r.width) }));
}

function flipRows(map: Float32Array, width: number): Float32Array {
  const out = new Float32Array(map.length);
  for (let i = 0; i < map.length; i += width) for (let x = 0; x < width; x++) out[i + x] = map[i + width - 1 - x];
  return out;
}

/** Finer-CAM's base method, refused with a reason where it cannot be one. */
function finerBase(options: MethodOptions): CamMethod {
  const base = getMethod(options.finerBase);
  const why = finerBaseProblem(base.name);
  if (why) throw new UsageError(`--finer-base ${base.name}: ${why}`);
  return base;
}

/** Finer-CAM's comparison classes for each target (each must be a class), from the un-augmented image's logits. */
function finerComparisons(targets: Target[], logits: Float32Array, options: MethodOptions): number[][] {
  return targets.map((t) => {
    if (t.kind !== 'class') throw new UsageError(`finercam explains classes against similar classes; '${targetSpec(t)}' is not a class (use --class or --top-k)`);
    const compare = finerComparison(logits, t.index, options);
    if (!compare.length) throw new UsageError(`--finer-compare: class ${t.index} is explained and is the only class named, so it has nothing to be compared with`);
    return compare;
  });
}

/**
 * The raw maps of every method for one (possibly augmented) input: the plain methods on the targets, then each
 * Finer-CAM method as its base method on the Finer-CAM scores of the targets' classes against `compared`, filed
 * under the Finer-CAM method's name.
 */
function allRawMaps(model: Classifier, x: tf.Tensor4D, fp: ForwardPass, opts: ExplainTensorOptions, targets: Target[], camHeads: CamHead[], options: MethodOptions, compared: number[][] | null): RawResult {
  const finer = opts.methods.filter((m) => m.finer);
  const result = rawMaps(model, x, fp, { ...opts, methods: opts.methods.filter((m) => !m.finer) }, targets, camHeads, options);
  if (!finer.length || !compared) return result;
  const base = finerBase(options);
  const finerTargets = targets.map((t, i) => finerTarget((t as { index: number }).index, compared[i], options.finerAlpha));
  const r = rawMaps(model, x, fp, { ...opts, methods: [base], signedFor: undefined }, finerTargets, [], options);
  for (const m of finer) result.raw.set(m.name, r.raw.get(base.name)!);
  for (const w of r.warnings) if (!result.warnings.includes(w)) result.warnings.push(w);
  return { ...result, backwardMs: result.backwardMs + r.backwardMs, methodMs: result.methodMs + r.methodMs };
}

const AUGMENTATIONS = [false, true].flatMap((flip) => [0.9, 1.0, 1.1].map((brightness) => ({ flip, brightness })));

/** Cosine similarity of each row of `embeddings` [n, d] with `reference` [d] (0 for a zero vector). */
export function cosineScores(embeddings: tf.Tensor2D, reference: Float32Array): tf.Tensor1D {
  return tf.tidy(() => {
    const r = tf.tensor2d(reference, [1, reference.length]);
    const dot = tf.sum(tf.mul(embeddings, r), 1);
    const norms = tf.mul(tf.sqrt(tf.sum(tf.square(embeddings), 1)), tf.sqrt(tf.sum(tf.square(r))));
    return tf.div(dot, tf.maximum(norms, 1e-12)) as tf.Tensor1D;
  });
}

/**
 * Which output pixels a seg: target sums over: its given mask, else where the model predicts its class (the
 * largest logit of the pixel; ties to the lower class). `output` is [height * width * classes], channels last.
 */
export function segmentMask(output: Float32Array, classes: number, index: number): Uint8Array {
  const pixels = output.length / classes;
  const mask = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (output[p * classes + c] > output[p * classes + best]) best = c;
    mask[p] = best === index ? 1 : 0;
  }
  return mask;
}

/**
 * A target that reads another output than the class scores, as a function target of a view of the network
 * (Classifier.outputView) whose "logits" are that output: the embedding for similar-to:, the per-pixel map for
 * seg:. The caller disposes the view.
 */
function onView(model: Classifier, x: tf.Tensor4D, t: SimilarityTarget | SegmentTarget): { view: Classifier; target: Target; warning?: string } {
  const name = targetSpec(t);
  if (!model.outputView) throw new ModelError(`a ${t.kind === 'segment' ? 'seg:' : 'similar-to:'} target needs a model whose layers can be read (this one cannot)`);
  if (t.kind === 'similarity') {
    if (!t.reference) throw new UsageError(`--target ${name}: the reference image was not read (give it as a string target to explain(), which reads it)`);
    const layer = t.layer ?? model.defaultEmbeddingLayer?.();
    if (!layer) throw new ModelError('this model has no default embedding layer; name one with --embedding-layer');
    const view = model.outputView(layer);
    try {
      const [h, w, c] = model.inputShape;
      const reference = tf.tidy(() => view.predict(tf.tensor4d(t.reference!, [1, h, w, c])).dataSync() as Float32Array);
      return { view, target: { kind: 'function', name, score: (e) => cosineScores(e, reference) } };
    } catch (e) {
      view.dispose();
      throw e;
    }
  }
  const seg = model.segmentation;
  if (!seg) throw new UsageError(`--target ${name}: the model's output is one vector of class scores, not a per-pixel class map: seg: targets need a segmentation model`);
  const view = model.outputView(null);
  let mask = t.mask;
  if (mask && mask.length !== seg.height * seg.width) {
    view.dispose();
    throw new UsageError(`--target ${name}: the mask has ${mask.length} pixels, the model's output ${seg.height}x${seg.width}`);
  }
  mask ??= segmentMask(tf.tidy(() => view.predict(x).dataSync() as Float32Array), seg.classes, t.index);
  // Class c's channel of every pixel in the mask: score = sum over the mask of the class's logits.
  const row = new Float32Array(seg.height * seg.width * seg.classes);
  let inside = 0;
  mask.forEach((m, p) => {
    row[p * seg.classes + t.index] = m ? 1 : 0;
    inside += m ? 1 : 0;
  });
  const warning = inside ? undefined : `the segment of '${name}' is empty (${t.mask ? 'the mask marks no pixel' : 'the model predicts the class nowhere'}): its score is 0 and its maps flat`;
  return { view, target: { kind: 'function', name, score: (logits) => tf.sum(tf.mul(logits, tf.tensor2d(row, [1, row.length])), 1) as tf.Tensor1D }, warning };
}

/**
 * explainTensor with targets that read another output (similar-to:, seg:): the class targets run as usual on the
 * model, each other target on its view of the network; the maps come back in the usual order (methods, then the
 * targets as given), the scores and top classes from the model.
 */
function explainWithViews(model: Classifier, x: tf.Tensor4D, opts: ExplainTensorOptions, targets: Target[]): TensorExplanation {
  const cam = opts.methods.find((m) => m.needs.includes('cam-head'));
  const special = targets.filter(readsOtherOutput);
  if (cam) {
    throw new ModelError(`${cam.name} weighs channels by the classifier's class weights, which a ${targetSpec(special[0])} target does not have; use --method gradcam (or another gradient or perturbation method)`);
  }
  const plain = targets.filter((t) => !readsOtherOutput(t));
  const base = plain.length ? explainTensor(model, x, { ...opts, targets: plain, classes: undefined }) : scoresOnly(model, x, opts);
  const warnings = new Set(base.warnings);
  const timings = { ...base.timings };
  const byTarget = new Map<Target, ClassMap[]>();
  for (const t of special) {
    const { view, target, warning } = onView(model, x, t);
    if (warning) warnings.add(warning);
    try {
      const r = explainTensor(view, x, { ...opts, targets: [target], classes: undefined, channelPool: null });
      r.warnings.forEach((w) => warnings.add(w));
      timings.forwardMs += r.timings.forwardMs;
      timings.backwardMs += r.timings.backwardMs;
      timings.methodMs += r.timings.methodMs;
      byTarget.set(t, r.maps.map((m) => ({ ...m, target: t, classIndex: targetClasses(t)[0] ?? -1 })));
    } finally {
      view.dispose();
    }
  }
  const maps: ClassMap[] = [];
  opts.methods.forEach((_, mi) => {
    let p = 0;
    for (const t of targets) {
      if (readsOtherOutput(t)) maps.push(byTarget.get(t)![mi]);
      else maps.push(base.maps[mi * plain.length + p++]);
    }
  });
  return { ...base, classes: targets.map((t) => targetClasses(t)[0] ?? -1), targets, maps, warnings: [...warnings], timings };
}

/** The scores and top classes alone (no target runs on the model itself). */
function scoresOnly(model: Classifier, x: tf.Tensor4D, opts: ExplainTensorOptions): TensorExplanation {
  const t0 = performance.now();
  const logits = tf.tidy(() => model.predict(x).dataSync() as Float32Array);
  const probabilities = probabilitiesOfArray(logits, model.head.kind);
  const top = topIndices(logits, Math.max(opts.topK, opts.reportTop ?? 0)).map((index) => ({ index, logit: logits[index], probability: probabilities[index] }));
  return { logits, probabilities, classes: [], targets: [], top, maps: [], warnings: [], timings: { forwardMs: performance.now() - t0, backwardMs: 0, methodMs: 0 } };
}

export function explainTensor(model: Classifier, x: tf.Tensor4D, opts: ExplainTensorOptions): TensorExplanation {
  const given = (opts.targets ?? []).map(asTarget);
  if (given.some(readsOtherOutput)) {
    for (const c of given.flatMap(targetClasses)) {
      if (!Number.isInteger(c) || c < 0 || c >= model.numClasses) throw new ModelError(`class ${c} is out of range: the model has ${model.numClasses} classes`);
    }
    return explainWithViews(model, x, opts, given);
  }
  const [inputH, inputW] = model.inputShape;
  const options: MethodOptions = { ...DEFAULT_METHOD_OPTIONS, ...opts.methodOptions };
  const camHeads = needs(opts.methods, 'cam-head') ? opts.layers.map((l) => model.camHead(l)) : [];
  try {
    if (needs(opts.methods, 'guided-relu') && model.format === 'graph-model') {
      throw new ModelError("guided backprop and Guided Grad-CAM need a layers model: tfjs-converter runs a graph model with its own copy of the ops, out of reach of the guided ReLU; use --method saliency, smoothgrad or integrated-gradients");
    }
    if (needs(opts.methods, 'full-gradients')) {
      const plan = model.fullGradPlan?.() ?? { kind: 'none' as const, reason: 'it is a graph model: FullGrad needs the layers (tfjs-layers format) to find their biases' };
      if (plan.kind === 'none') throw new ModelError(`FullGrad is not possible for this model: ${plan.reason}; use --method integrated-gradients, smoothgrad or saliency`);
    }
    for (const [i, h] of camHeads.entries()) {
      if (h.kind === 'none') throw new ModelError(`CAM is not possible at layer '${opts.layers[i]}': ${h.reason}; use --method gradcam`);
    }
    const t0 = performance.now();
    const fp = model.forward(x, opts.layers);
    let logits: Float32Array;
    let forwardMs: number;
    let targets: Target[];
    let first: RawResult;
    let compared: number[][] | null;
    try {
      logits = fp.logits.dataSync() as Float32Array;
      forwardMs = performance.now() - t0;
      for (const c of [...(opts.classes ?? []), ...(opts.targets ?? []).flatMap(targetClasses)]) {
        if (!Number.isInteger(c) || c < 0 || c >= model.numClasses) throw new ModelError(`class ${c} is out of range: the model has ${model.numClasses} classes`);
      }
      targets = (opts.targets ?? opts.classes ?? topIndices(logits, opts.topK)).map(asTarget);
      compared = opts.methods.some((m) => m.finer) ? finerComparisons(targets, logits, options) : null;
      first = allRawMaps(model, x, fp, opts, targets, camHeads, options, compared);
    } finally {
      fp.dispose();
    }
    const classes = targets.map((t) => targetClasses(t)[0] ?? -1);
    const probabilities = probabilitiesOfArray(logits, model.head.kind);
    const top = topIndices(logits, Math.max(opts.topK, opts.reportTop ?? 0)).map((index) => ({ index, logit: logits[index], probability: probabilities[index] }));
    let { backwardMs, methodMs } = first;
    const warnings = new Set(first.warnings);
    const t1 = performance.now();
    const maps: ClassMap[] = [];
    for (const method of opts.methods) {
      const layers = first.raw.get(method.name)!;
      classes.forEach((classIndex, ci) => {
        const raw = classSlice(layers, ci);
        const m = toInputResolution(raw, inputH, inputW, method.aggregate ?? opts.aggregate);
        const note = first.notes.get(method.name);
        const comparedWith = method.finer ? compared?.[ci] : undefined;
        const sg = first.signed.get(method.name);
        const per = sg ? sg.length / classes.length : 0;
        maps.push({ method: method.name, classIndex, target: targets[ci], map: m.map, flat: m.flat, raw, ...(note ? { completenessError: note[ci] } : {}), ...(comparedWith ? { comparedWith } : {}), ...(sg ? { signed: sg.slice(ci * per, (ci + 1) * per) } : {}) });
      });
    }
    methodMs += performance.now() - t1;
    if (opts.augSmooth) {
      // Same classes on every augmented copy; each map is brought back to the original orientation and averaged.
      const sums = maps.map((m) => Float32Array.from(m.map));
      for (const aug of AUGMENTATIONS) {
        if (!aug.flip && aug.brightness === 1) continue; // the plain image, done above
        const xa = tf.tidy(() => tf.mul(aug.flip ? tf.reverse(x, 2) : x, aug.brightness) as tf.Tensor4D);
        const fpa = model.forward(xa, opts.layers);
        try {
          const r = allRawMaps(model, xa, fpa, { ...opts, signedFor: undefined }, targets, camHeads, options, compared); // gradient images: the plain image's
          backwardMs += r.backwardMs;
          methodMs += r.methodMs;
          r.warnings.forEach((w) => warnings.add(w));
          let i = 0;
          for (const method of opts.methods) {
            const layers = r.raw.get(method.name)!;
            classes.forEach((_, ci) => {
              const m = toInputResolution(classSlice(layers, ci), inputH, inputW, method.aggregate ?? opts.aggregate).map;
              const back = aug.flip ? flipRows(m, inputW) : m;
              for (let j = 0; j < back.length; j++) sums[i][j] += back[j];
              i++;
            });
          }
        } finally {
          fpa.dispose();
          xa.dispose();
        }
      }
      maps.forEach((m, i) => {
        const n = normalizeMap(sums[i]);
        m.map = n.map;
        m.flat = m.flat || n.flat;
      });
    }
    return { logits, probabilities, classes, targets, top, maps, warnings: [...warnings], timings: { forwardMs, backwardMs, methodMs } };
  } finally {
    for (const h of camHeads) if (h.kind === 'weights') h.weights.dispose();
  }
}

