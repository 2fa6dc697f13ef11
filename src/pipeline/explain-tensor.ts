/**
 * One image through the model: one forward pass that keeps the target activations, one batched backward pass
 * through the head per target layer for all requested classes (shared by every gradient method), then each
 * method. Returns plain arrays; every tensor made here is released before returning.
 */
import * as tf from '@tensorflow/tfjs';
import { Classifier, CamHead, ForwardPass } from '../model/classifier';
import { CamMethod, DEFAULT_METHOD_OPTIONS, MethodInputs, MethodOptions } from '../methods';
import { classGradients, classSelector, ScoreKind } from '../capture/gradients';
import { ModelError } from '../util/errors';
import { probabilitiesOfArray } from '../model/head';
import { toInputResolution } from './maps';
import { normalizeMap } from '../render/overlay';
import type { ChannelPool } from '../batch/channel-pool';

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
  classIndex: number;
  /** Normalised map at the model's input resolution (inputH * inputW, row-major). */
  map: Float32Array;
  flat: boolean;
  /** The method's raw low-resolution map per target layer, before any normalisation (un-augmented image). */
  raw: RawMap[];
}

export interface TensorExplanation {
  logits: Float32Array;
  probabilities: Float32Array;
  /** Classes explained, in order. */
  classes: number[];
  /** Top classes by logit (at least as many as asked with topK). */
  top: Prediction[];
  /** One map per method and class, methods in the order given, classes in order within each. */
  maps: ClassMap[];
  timings: { forwardMs: number; backwardMs: number; methodMs: number };
}

export interface ExplainTensorOptions {
  methods: CamMethod[];
  layers: string[];
  /** Explicit classes; when absent, the top-k classes by score. */
  classes?: number[];
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
  channelPool?: ChannelPool | null;
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

function camInputs(head: CamHead, classes: number[]): MethodInputs['cam'] {
  if (head.kind === 'channels') return { channels: classes };
  if (head.kind === 'weights') return { weights: tf.gather(head.weights, classes, 1) as tf.Tensor2D };
  throw new ModelError(`CAM is not possible for this model: ${head.reason}; use --method gradcam`);
}

const needs = (methods: CamMethod[], what: CamMethod['needs'][number]) => methods.some((m) => m.needs.includes(what));

interface RawResult {
  /** per method, per layer: [k, h, w] maps flattened */
  raw: Map<string, RawMap[]>;
  backwardMs: number;
  methodMs: number;
}

/**
 * Tiled rows per backward pass: the head runs on [rows, h, w, K] activations, and its widest tensors grow with
 * the rows. Bounded so that -k 1000 on a 1000-class model runs in chunks instead of exhausting WASM's 4 GB
 * (2M values per tiled activation: 80 rows of darknet_tiny's 14x14x128, 32 of MobileNetV2's 7x7x1280).
 */
const MAX_TILED_VALUES = 2_000_000;

export function classChunkSize(activationShape: number[], override?: number): number {
  if (override != null) return Math.max(1, Math.floor(override));
  const perRow = activationShape.slice(1).reduce((a, b) => a * b, 1);
  return Math.max(1, Math.floor(MAX_TILED_VALUES / Math.max(1, perRow)));
}

/** Methods whose cost does not grow with the classes (their forward passes score every class at once) run once. */
const perClassWork = (m: CamMethod) => m.needs.some((n) => n === 'gradients' || n === 'noisy-gradients' || n === 'cam-head');

/** The methods' raw maps for one (possibly augmented) input, given its forward pass. */
function rawMaps(model: Classifier, x: tf.Tensor4D, fp: ForwardPass, opts: ExplainTensorOptions, classes: number[], camHeads: CamHead[], options: MethodOptions): RawResult {
  const raw = new Map<string, RawMap[]>(opts.methods.map((m) => [m.name, []]));
  const xId = ++inputIds; // lets channel workers reuse their forward pass of this input across methods
  let backwardMs = 0;
  let methodMs = 0;
  for (let li = 0; li < opts.layers.length; li++) {
    const chunk = classChunkSize(fp.activations[li].shape, opts.classChunk);
    const parts = new Map<string, { data: Float32Array[]; height: number; width: number }>();
    const run = (method: CamMethod, part: number[], grads: tf.Tensor4D | undefined) => {
      const maps = tf.tidy(() => {
        const selector = classSelector(part, model.numClasses);
        const inputs: MethodInputs = {
          activations: fp.activations[li],
          classes: part,
          gradients: grads,
          cam: method.needs.includes('cam-head') ? camInputs(camHeads[li], part) : undefined,
          input: x,
          scoreInputs: (xs) => tf.matMul(model.predict(xs), selector, false, true) as tf.Tensor2D,
          scoreActivations: (a) => tf.matMul(fp.head(li, a), selector, false, true) as tf.Tensor2D,
          shareChannels: opts.channelPool
            ? (name, channels, local) =>
                opts.channelPool!.share(name, channels, local, { id: xId, x: x.dataSync() as Float32Array, xShape: x.shape, layer: opts.layers[li], classes: part, options: { batchSize: options.batchSize }, score: opts.score })
            : undefined,
          gradientsAt: (xs) => {
            const other = model.forward(xs, [opts.layers[li]]);
            try {
              return classGradients(other, 0, part, opts.score, model.numClasses, opts.layers[li], model.head.kind);
            } finally {
              other.dispose();
            }
          },
          options,
        };
        return method.compute(inputs);
      });
      const p = parts.get(method.name) ?? { data: [], height: maps.shape[1], width: maps.shape[2] };
      p.data.push(maps.dataSync() as Float32Array);
      parts.set(method.name, p);
      maps.dispose();
    };
    const chunked = opts.methods.filter(perClassWork);
    for (let start = 0; start < classes.length; start += chunk) {
      const part = classes.slice(start, start + chunk);
      let t0 = performance.now();
      const grads = needs(chunked, 'gradients') ? classGradients(fp, li, part, opts.score, model.numClasses, opts.layers[li], model.head.kind) : undefined;
      if (grads) grads.dataSync(); // finish the backward pass here so the timings split honestly
      backwardMs += performance.now() - t0;
      t0 = performance.now();
      try {
        for (const method of chunked) run(method, part, grads);
      } finally {
        grads?.dispose();
      }
      methodMs += performance.now() - t0;
    }
    const t0 = performance.now();
    for (const method of opts.methods) if (!perClassWork(method)) run(method, classes, undefined);
    methodMs += performance.now() - t0;
    for (const method of opts.methods) {
      const p = parts.get(method.name)!;
      const data = p.data.length === 1 ? p.data[0] : concatFloat32(p.data);
      raw.get(method.name)!.push({ layer: opts.layers[li], data, height: p.height, width: p.width });
    }
  }
  return { raw, backwardMs, methodMs };
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

const AUGMENTATIONS = [false, true].flatMap((flip) => [0.9, 1.0, 1.1].map((brightness) => ({ flip, brightness })));

export function explainTensor(model: Classifier, x: tf.Tensor4D, opts: ExplainTensorOptions): TensorExplanation {
  const [inputH, inputW] = model.inputShape;
  const options: MethodOptions = { ...DEFAULT_METHOD_OPTIONS, ...opts.methodOptions };
  const camHeads = needs(opts.methods, 'cam-head') ? opts.layers.map((l) => model.camHead(l)) : [];
  try {
    for (const [i, h] of camHeads.entries()) {
      if (h.kind === 'none') throw new ModelError(`CAM is not possible at layer '${opts.layers[i]}': ${h.reason}; use --method gradcam`);
    }
    const t0 = performance.now();
    const fp = model.forward(x, opts.layers);
    let logits: Float32Array;
    let forwardMs: number;
    let classes: number[];
    let first: RawResult;
    try {
      logits = fp.logits.dataSync() as Float32Array;
      forwardMs = performance.now() - t0;
      for (const c of opts.classes ?? []) {
        if (!Number.isInteger(c) || c < 0 || c >= model.numClasses) throw new ModelError(`class ${c} is out of range: the model has ${model.numClasses} classes`);
      }
      classes = opts.classes ?? topIndices(logits, opts.topK);
      first = rawMaps(model, x, fp, opts, classes, camHeads, options);
    } finally {
      fp.dispose();
    }
    const probabilities = probabilitiesOfArray(logits, model.head.kind);
    const top = topIndices(logits, Math.max(opts.topK, opts.reportTop ?? 0)).map((index) => ({ index, logit: logits[index], probability: probabilities[index] }));
    let { backwardMs, methodMs } = first;
    const t1 = performance.now();
    const maps: ClassMap[] = [];
    for (const method of opts.methods) {
      const layers = first.raw.get(method.name)!;
      classes.forEach((classIndex, ci) => {
        const raw = classSlice(layers, ci);
        const m = toInputResolution(raw, inputH, inputW);
        maps.push({ method: method.name, classIndex, map: m.map, flat: m.flat, raw });
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
          const r = rawMaps(model, xa, fpa, opts, classes, camHeads, options);
          backwardMs += r.backwardMs;
          methodMs += r.methodMs;
          let i = 0;
          for (const method of opts.methods) {
            const layers = r.raw.get(method.name)!;
            classes.forEach((_, ci) => {
              const m = toInputResolution(classSlice(layers, ci), inputH, inputW).map;
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
    return { logits, probabilities, classes, top, maps, timings: { forwardMs, backwardMs, methodMs } };
  } finally {
    for (const h of camHeads) if (h.kind === 'weights') h.weights.dispose();
  }
}

