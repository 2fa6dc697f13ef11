/**
 * The explorer's Web Worker: loads the model with the library's own code (the model resolution the CLI uses,
 * src/model/resolve.ts, over HTTP), decodes images, predicts and computes the maps, so that the page's thread
 * never runs a TensorFlow.js kernel and stays responsive however long a method takes. Messages: protocol.ts.
 *
 * Progress is posted from inside the computation (Score-CAM's and Ablation-CAM's channel batches, the steps of
 * Integrated Gradients, the noisy copies of SmoothGrad): postMessage does not wait for this thread to be idle.
 * Cancelling is the page's: it terminates this worker and starts a fresh one (see client.ts for why).
 *
 * Bundled with TensorFlow.js and its WASM backend inside (scripts/build-browser.ts): a worker has no import map.
 */
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { initBackend, useBundledWasm, type BrowserBackend } from '../backend';
import { loadModel, type BrowserModel } from '../load';
import { readImage, imageToInput, type ModelInput } from '../image';
import { explainTensor, predict, BROWSER_METHODS } from '../explain';
import { signedUnitMap } from '../../render/signed';
import { drawingOf } from '../../render/drawing';
import { DEFAULT_METHOD_OPTIONS } from '../../methods';
import type { FromWorker, ImageSource, ModelInfo, ToWorker, WorkerMap, WorkerSetup } from './protocol';

useBundledWasm(wasm);

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(m, transfer);
const firstLine = (e: unknown) => (e as Error)?.message?.split('\n')[0] ?? String(e);

let model: BrowserModel | null = null;
/** The input of the image last opened, kept for the maps of its classes. */
let current: { key: string; input: ModelInput } | null = null;

async function setup(s: WorkerSetup): Promise<void> {
  const backend = await initBackend({ prefer: s.backend ? (s.backend as BrowserBackend) : undefined });
  model = await loadModel(s.model, {
    labels: s.labels ?? undefined,
    preprocess: s.preprocess,
    interpolation: s.interpolation,
    alignCorners: s.alignCorners,
    layers: s.layer ? [s.layer] : undefined,
    method: s.method ?? undefined,
  });
  const m = model;
  const camLayers = m.targetLayers.filter((l) => {
    try {
      return m.camPossible(l.name);
    } catch {
      return false;
    }
  });
  const info: ModelInfo = {
    url: m.url,
    inputShape: m.classifier.inputShape,
    numClasses: m.classifier.numClasses,
    labels: m.labels,
    layers: m.targetLayers.map((l) => ({ name: l.name, outputShape: l.outputShape })),
    defaultLayer: m.defaultLayer,
    methods: m.methods,
    browserMethods: BROWSER_METHODS,
    camLayers: camLayers.map((l) => l.name),
    fullGrad: m.classifier.fullGradPlan?.().kind === 'ok',
    methodOptions: { batchSize: DEFAULT_METHOD_OPTIONS.batchSize, igSteps: DEFAULT_METHOD_OPTIONS.igSteps, noiseSamples: DEFAULT_METHOD_OPTIONS.noiseSamples },
  };
  post({ type: 'ready', backend, model: info });
}

async function bytesOf(image: ImageSource): Promise<Blob> {
  if (typeof image.source !== 'string') return image.source;
  const res = await fetch(image.source);
  if (!res.ok) throw new Error(`${image.name}: the server answered HTTP ${res.status}`);
  return res.blob();
}

/** The model's input for `image`, opened again only when it is not the one held. */
async function inputOf(image: ImageSource): Promise<{ input: ModelInput; rgb: Awaited<ReturnType<typeof readImage>> | null }> {
  if (current?.key === image.key) return { input: current.input, rgb: null };
  const rgb = await readImage(await bytesOf(image), image.name);
  const input = await imageToInput(model!, rgb);
  current?.input.x.dispose();
  current = { key: image.key, input };
  return { input, rgb };
}

async function open(job: number, image: ImageSource, topK: number): Promise<void> {
  // Opened again even when held: the page needs the pixels.
  if (current?.key === image.key) {
    current.input.x.dispose();
    current = null;
  }
  const { input, rgb } = await inputOf(image);
  const top = predict(model!, input.x, Math.min(topK, model!.classifier.numClasses));
  // A second pass, timed: the first one also paid for compiling kernels. The page's estimates scale from it.
  const t0 = performance.now();
  predict(model!, input.x, 1);
  const forwardMs = performance.now() - t0;
  post({ type: 'opened', job, name: image.name, image: rgb!, placement: input.placement, top, forwardMs }, [rgb!.data.buffer]);
}

async function explain(job: number, msg: Extract<ToWorker, { type: 'explain' }>): Promise<void> {
  const m = model!;
  const { input } = await inputOf(msg.image);
  const [h, w, c] = m.classifier.inputShape;
  const t0 = performance.now();
  const maps: WorkerMap[] = [];
  const transfer: Transferable[] = [];
  for (const [index, method] of msg.methods.entries()) {
    const progress = (done: number, total: number) => post({ type: 'progress', job, method, index, count: msg.methods.length, done, total });
    progress(0, 1);
    const signed = drawingOf(method) === 'signed';
    const r = explainTensor(m, input.x, {
      methods: [method],
      layers: [msg.layer],
      classes: [msg.classIndex],
      topK: 1,
      signedFor: signed ? [method] : undefined,
      methodOptions: { onProgress: progress, ...(msg.batchSize ? { batchSize: msg.batchSize } : {}) },
    });
    for (const x of r.maps) {
      const one: WorkerMap = { method: x.method, layer: msg.layer, classIndex: msg.classIndex, label: m.labels[msg.classIndex], map: x.map, raw: x.raw, flat: x.flat };
      if (signed && x.signed) one.signed = signedUnitMap(x.signed, h, w, c);
      maps.push(one);
      transfer.push(x.map.buffer, ...x.raw.map((q) => q.data.buffer));
      if (one.signed) transfer.push(one.signed.unit.buffer);
    }
    progress(1, 1);
  }
  post({ type: 'maps', job, maps, ms: performance.now() - t0 }, [...new Set(transfer)]);
}

async function handle(msg: ToWorker): Promise<void> {
  const job = msg.type === 'setup' || msg.type === 'hold' ? null : msg.job;
  try {
    if (msg.type === 'setup') return await setup(msg.setup);
    if (msg.type === 'memory') return post({ type: 'memory', job: msg.job, numTensors: tf.memory().numTensors });
    if (!model) throw new Error('the model is not loaded');
    if (msg.type === 'hold') return void (await inputOf(msg.image).catch(() => undefined));
    if (msg.type === 'open') return await open(msg.job, msg.image, msg.topK);
    if (msg.type === 'explain') return await explain(msg.job, msg);
  } catch (e) {
    console.error((e as Error)?.stack ?? e); // the page shows the first line; the console keeps where it came from
    post({ type: 'failed', job, message: firstLine(e) });
  }
}

// One message at a time, in order: an image is opened before its maps are asked for.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (e: MessageEvent<ToWorker>) => {
  queue = queue.then(() => handle(e.data));
};
