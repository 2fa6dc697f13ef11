/**
 * The messages between the explorer page (main.ts) and its Web Worker (worker.ts), where every TensorFlow.js call
 * runs: the page's own thread only draws. Plain data (structured clone), pixels and maps transferred.
 */
import type { Preprocessing } from '../../model/sidecar';
import type { Interpolation } from '../../image/fit';
import type { Placement } from '../../image/geometry';

/** What the worker needs to load the model: serve's settings, with URLs made absolute (a worker's own URL is not the page's). */
export interface WorkerSetup {
  /** Backend asked for (?backend=), or null for the best one that starts. */
  backend: string | null;
  /** Absolute URL of model.json. */
  model: string;
  /** Absolute URL of the labels file, or null. */
  labels: string | null;
  preprocess?: Partial<Preprocessing>;
  interpolation?: Interpolation;
  alignCorners?: boolean;
  layer: string | null;
  method: string | null;
}

/** An image to explain: an absolute URL (the gallery) or the file the user picked or dropped. */
export interface ImageSource {
  /** Identifies the image: the worker keeps the input of the last one and opens it again only when this changes. */
  key: string;
  name: string;
  source: string | Blob;
}

export type ToWorker =
  | { type: 'setup'; setup: WorkerSetup }
  | { type: 'open'; job: number; image: ImageSource; topK: number }
  | { type: 'explain'; job: number; image: ImageSource; methods: string[]; layer: string; classIndex: number; batchSize?: number }
  | { type: 'memory'; job: number }
  /** Open this image's input without answering (a fresh worker, after a cancel, holds what the old one held). */
  | { type: 'hold'; image: ImageSource };

export interface ModelInfo {
  url: string;
  inputShape: number[];
  numClasses: number;
  labels: string[];
  /** Spatial layers, in the model's order, with their output shapes. */
  layers: { name: string; outputShape: (number | null)[] }[];
  defaultLayer: string;
  /** The model's methods (the option's, else the sidecar's, else gradcam). */
  methods: string[];
  /** The methods the browser runs, by layer: CAM only where possible, FullGrad only where its plan is. */
  browserMethods: string[];
  camLayers: string[];
  fullGrad: boolean;
  /** The method options the maps are computed with (for the page's estimates). */
  methodOptions: { batchSize: number; igSteps: number; noiseSamples: number };
}

export interface WorkerPrediction {
  index: number;
  label: string;
  logit: number;
  probability: number;
}

/** One computed map, as the page draws it. */
export interface WorkerMap {
  method: string;
  layer: string;
  classIndex: number;
  label: string;
  /** At the model's input resolution, inputHeight x inputWidth, values in 0..1 (each map scaled on its own). */
  map: Float32Array;
  raw: { layer: string; data: Float32Array; height: number; width: number }[];
  flat: boolean;
  /** A signed attribution (saliency, SmoothGrad, Integrated Gradients): its channel sum on 0..1 and the clip its ends stand for. */
  signed?: { unit: Float32Array; clip: number };
}

export type FromWorker =
  | { type: 'ready'; backend: string; model: ModelInfo }
  | { type: 'opened'; job: number; name: string; image: { data: Uint8Array; width: number; height: number }; placement: Placement; top: WorkerPrediction[]; forwardMs: number }
  | { type: 'progress'; job: number; method: string; index: number; count: number; done: number; total: number }
  | { type: 'maps'; job: number; maps: WorkerMap[]; ms: number }
  | { type: 'memory'; job: number; numTensors: number }
  | { type: 'failed'; job: number | null; message: string };
