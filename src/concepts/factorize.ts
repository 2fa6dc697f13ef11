/**
 * Deep Feature Factorization (Collins, Achanta & Süsstrunk, ECCV 2018): the activations of a layer over one or
 * more images, one row per channel and one column per (image, position), are factorised by NMF into K concepts:
 * W [channels, K] gives each concept's channel pattern, H [K, positions] where it appears in every image. Each
 * concept's classes are what the part of the network after the layer makes of the concept's channel vector placed
 * at every position: for a head that pools and then applies linear layers (CAM's condition), exactly the logits
 * the concept alone would give. Other heads are refused with CAM's reason.
 *
 * As pytorch-grad-cam's dff(): each channel is shifted by its minimum before the factorisation (NMF needs
 * non-negative values; after a ReLU the shift is 0) and the concept vectors get it back. Platform-free.
 */
import * as tf from '@tensorflow/tfjs';
import type { Classifier, ForwardPass } from '../model/classifier';
import { probabilitiesOfArray } from '../model/head';
import { ModelError } from '../util/errors';
import { toInputResolution } from '../pipeline/maps';
import { nmf } from './nmf';

export interface ConceptOptions {
  /** Concepts to find (default 4). */
  k?: number;
  /** The layer to factorise (default: the model's default target layer). */
  layer?: string;
  /** Seed of the NMF's random start (default 0): the same seed gives the same concepts. */
  seed?: number;
  /** Top classes listed per concept (default 3). */
  topClasses?: number;
  /** Most NMF update rounds (default 400). */
  maxIterations?: number;
}

export interface ConceptClass {
  index: number;
  /** The concept's logit for the class. */
  logit: number;
  /** Its probability among the classes (the model's softmax or sigmoid over the concept's logits). */
  probability: number;
}

export interface ConceptResult {
  layer: string;
  /** Per concept: its channel vector [channels] (NMF's W column plus the channels' shift). */
  vectors: Float32Array[];
  /** Per concept: its top classes, best first. */
  classes: ConceptClass[][];
  /** Per image, per concept: the map at the model's input resolution, row-major, each scaled to [0, 1]. */
  maps: Float32Array[][];
  /** Per image, per concept: the share of the image's total concept weight (sum of H) that is this concept's. */
  shares: number[][];
  /** The layer's map size [height, width]. */
  grid: [number, number];
  /** ||V - W H|| / ||V|| of the factorisation, and its update rounds. */
  relativeError: number;
  iterations: number;
}

/** Runs DFF on images given as model inputs [1, H, W, C] (already fitted and preprocessed). Releases every tensor. */
export function factorizeConcepts(model: Classifier, inputs: tf.Tensor4D[], opts: ConceptOptions = {}): ConceptResult {
  const k = opts.k ?? 4;
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`k must be a whole number >= 1, got ${k}`);
  if (!inputs.length) throw new RangeError('no images to factorise');
  const layer = opts.layer ? model.resolveLayer(opts.layer) : model.defaultTargetLayer();
  const head = model.camHead(layer);
  if (head.kind === 'weights') head.weights.dispose();
  if (head.kind === 'none') throw new ModelError(`concepts need a head after '${layer}' that pools and then applies linear layers, to name each concept's classes: ${head.reason}`);
  let first: ForwardPass | null = null;
  try {
    // V [channels, images * positions]: channel c's activation at every position of every image.
    const acts: Float32Array[] = [];
    let h = 0, w = 0, channels = 0;
    for (const x of inputs) {
      const fp = model.forward(x, [layer]);
      const a = fp.activations[0];
      [, h, w, channels] = a.shape;
      acts.push(a.dataSync() as Float32Array);
      if (first) fp.dispose();
      else first = fp;
    }
    const positions = h * w;
    const n = inputs.length * positions;
    const v = new Float64Array(channels * n);
    const shift = new Float64Array(channels).fill(Infinity);
    acts.forEach((a, i) => {
      for (let p = 0; p < positions; p++) {
        for (let c = 0; c < channels; c++) {
          const value = Number.isFinite(a[p * channels + c]) ? a[p * channels + c] : 0;
          v[c * n + i * positions + p] = value;
          if (value < shift[c]) shift[c] = value;
        }
      }
    });
    for (let c = 0; c < channels; c++) for (let j = 0; j < n; j++) v[c * n + j] -= shift[c];
    const f = nmf(v, channels, n, { components: k, seed: opts.seed ?? 0, maxIterations: opts.maxIterations });
    const vectors = Array.from({ length: k }, (_, j) => {
      const out = new Float32Array(channels);
      for (let c = 0; c < channels; c++) out[c] = f.w[c * k + j] + shift[c];
      return out;
    });
    // Each concept's logits: its vector at every position of the layer, through the head.
    const logits = tf.tidy(() => {
      const tiles = vectors.map((vec) => tf.tile(tf.tensor4d(vec, [1, 1, 1, channels]), [1, h, w, 1]));
      return first!.head(0, tf.concat(tiles, 0) as tf.Tensor4D).dataSync() as Float32Array;
    });
    const classCount = logits.length / k;
    const top = opts.topClasses ?? 3;
    const classes = vectors.map((_, j) => {
      const row = logits.slice(j * classCount, (j + 1) * classCount);
      const probs = probabilitiesOfArray(row, model.head.kind);
      const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
      return order.slice(0, Math.min(top, classCount)).map((index) => ({ index, logit: row[index], probability: probs[index] }));
    });
    const [inputH, inputW] = model.inputShape;
    const maps: Float32Array[][] = [];
    const shares: number[][] = [];
    for (let i = 0; i < inputs.length; i++) {
      const sums: number[] = [];
      maps.push(
        Array.from({ length: k }, (_, j) => {
          const low = new Float32Array(positions);
          let s = 0;
          for (let p = 0; p < positions; p++) s += low[p] = f.h[j * n + i * positions + p];
          sums.push(s);
          return toInputResolution([{ data: low, height: h, width: w }], inputH, inputW).map;
        }),
      );
      const total = sums.reduce((a, b) => a + b, 0);
      shares.push(sums.map((s) => (total > 0 ? s / total : 0)));
    }
    return { layer, vectors, classes, maps, shares, grid: [h, w], relativeError: f.relativeError, iterations: f.iterations };
  } finally {
    (first as ForwardPass | null)?.dispose();
  }
}
