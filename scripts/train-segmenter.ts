/**
 * Trains the project's segmentation model on "digits to segment" (scripts/data/segments.ts), saves it to
 * models/seg-digits/ (model.json, weights.bin, tfjs-cam.json) and writes its held-out samples to samples/.segments/
 * (a dot folder: runs over samples/, such as `npm run demo` and evaluate on samples/boxes.json, skip it)
 * (canvases, one white-on-black mask per digit, segments.json with each digit's class and box).
 *
 *   npm run build && node dist/scripts/train-segmenter.js [--steps N] [--out DIR] [--samples DIR] [--samples-only]
 *
 * About two minutes on a quiet 2-core machine. Deterministic: canvases come from seeded PRNGs, initializers get
 * seeds, the WASM backend runs single-threaded, nothing uses dropout or Math.random; the same run writes the same
 * bytes. The model is what `--target seg:<class>` needs: a per-pixel class map [1, 16, 16, 11] (one class per 4x4
 * block of the 64x64 canvas; class 0 background, d + 1 digit d) from plain logits.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { initBackend } from '../src/backend';
import { installFastBatchNormGradient } from '../src/backend/batchnorm-gradient';
import { loadMnist, mixSeed } from './data/clutter';
import { blockClasses, seededSegmentCanvas, SegmentCanvas, SEGMENT_CANVAS, SEGMENT_GROW, SEGMENT_LABELS, SEGMENT_OUTPUT } from './data/segments';
import { fileLoader, fileSaver, modelBytes } from './lib/model-io';
import { writeSidecar } from './lib/sidecar';

const TRAIN_SEED = 5150;
const TRAIN_DIGITS = 55000;
const EVAL_SEED = 6160;
const SAMPLE_SEED = 7170;
/** Held-out canvases around MNIST test digits 0.. (evaluation) and 9000.. (samples/.segments, outside it). */
const EVAL_CANVASES = 500;
const SAMPLE_START = 9000;
const SAMPLE_COUNT = 12;
const BATCH = 32;
const CLASSES = SEGMENT_LABELS.length;
/** The layer Grad-CAM explains by default (the sidecar's "layer"): the last 3x3 convolution's ReLU, 16x16x24. */
const TARGET_LAYER = 'relu5';

export function buildSegmenter(seed: number): tf.LayersModel {
  let n = 0;
  const he = () => tf.initializers.heNormal({ seed: seed + n++ });
  const input = tf.input({ shape: [SEGMENT_CANVAS, SEGMENT_CANVAS, 1], name: 'input' });
  const block = (x: tf.SymbolicTensor, filters: number, i: number, kernelSize = 3, strides = 1) => {
    x = tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: he(), name: `conv${i}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3, name: `bn${i}` }).apply(x) as tf.SymbolicTensor;
    return tf.layers.activation({ activation: 'relu', name: `relu${i}` }).apply(x) as tf.SymbolicTensor;
  };
  let x = block(input, 12, 1, 5, 2); // 32x32
  x = block(x, 16, 2, 3, 2); // 16x16
  x = block(x, 24, 3);
  x = block(x, 24, 4);
  x = block(x, 24, 5); // receptive field 33 px: a whole digit
  const logits = tf.layers.conv2d({ filters: CLASSES, kernelSize: 1, padding: 'same', kernelInitializer: he(), name: 'logits' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'seg_digits' });
}

function batchTensors(canvases: SegmentCanvas[]): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const n = canvases.length;
  const xs = new Float32Array(n * SEGMENT_CANVAS * SEGMENT_CANVAS);
  const ys = new Float32Array(n * SEGMENT_OUTPUT * SEGMENT_OUTPUT * CLASSES);
  canvases.forEach((c, i) => {
    for (let p = 0; p < c.pixels.length; p++) xs[i * c.pixels.length + p] = c.pixels[p] / 255;
    const blocks = blockClasses(c.classes);
    blocks.forEach((k, p) => (ys[(i * blocks.length + p) * CLASSES + k] = 1));
  });
  return { x: tf.tensor4d(xs, [n, SEGMENT_CANVAS, SEGMENT_CANVAS, 1]), y: tf.tensor4d(ys, [n, SEGMENT_OUTPUT, SEGMENT_OUTPUT, CLASSES]) };
}

/** Per-pixel cross-entropy, digit pixels weighted 3x (the background is most of every canvas). */
function segmentLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.reshape(yTrue, [-1, CLASSES]) as tf.Tensor2D;
    const p = tf.reshape(yPred, [-1, CLASSES]) as tf.Tensor2D;
    const weights = tf.add(1, tf.mul(2, tf.sub(1, tf.slice(t, [0, 0], [-1, 1])))).reshape([-1]);
    return tf.losses.softmaxCrossEntropy(t, p, weights);
  });
}

/** Block accuracy and the mean IoU over the digit classes present, on held-out canvases. */
function evaluate(model: tf.LayersModel, canvases: SegmentCanvas[]): { accuracy: number; digitIoU: number } {
  let right = 0, total = 0;
  const inter = new Float64Array(CLASSES), union = new Float64Array(CLASSES);
  for (let s = 0; s < canvases.length; s += 100) {
    const part = canvases.slice(s, s + 100);
    const { x, y } = batchTensors(part);
    const pred = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, -1).dataSync());
    const want = tf.tidy(() => tf.argMax(y, -1).dataSync());
    tf.dispose([x, y]);
    for (let i = 0; i < pred.length; i++) {
      total++;
      if (pred[i] === want[i]) right++;
      inter[want[i]] += pred[i] === want[i] ? 1 : 0;
      union[want[i]]++;
      if (pred[i] !== want[i]) union[pred[i]]++;
    }
  }
  let iou = 0, k = 0;
  for (let c = 1; c < CLASSES; c++) if (union[c]) (iou += inter[c] / union[c]), k++;
  return { accuracy: right / total, digitIoU: iou / k };
}

function parseArgs(argv: string[]): { steps: number; out: string; samples: string; samplesOnly: boolean } {
  const o = { steps: 800, out: path.join('models', 'seg-digits'), samples: path.join('samples', '.segments'), samplesOnly: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--samples-only') {
      o.samplesOnly = true;
      continue;
    }
    const v = argv[++i];
    if (v == null) throw new Error(`${argv[i - 1]} needs a value`);
    if (argv[i - 1] === '--steps') o.steps = Number(v);
    else if (argv[i - 1] === '--out') o.out = v;
    else if (argv[i - 1] === '--samples') o.samples = v;
    else throw new Error(`unknown argument '${argv[i - 1]}'`);
  }
  return o;
}

async function grayPng(pixels: Uint8Array): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width: SEGMENT_CANVAS, height: SEGMENT_CANVAS, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 9 }).toBuffer();
}

/** samples/.segments: held-out canvases, a mask per digit (white = the digit's segment), and segments.json. */
async function writeSamples(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const test = loadMnist('test');
  const index: { image: string; segments: { label: string; classIndex: number; mask: string; box: { x: number; y: number; width: number; height: number } }[] }[] = [];
  // Canvases with both digits placed (a crowded draw can leave room for one): the next digit index until there are enough.
  for (let k = 0, i = SAMPLE_START; k < SAMPLE_COUNT; i++) {
    const c = seededSegmentCanvas(test, i, SAMPLE_SEED);
    if (c.digits.length < 2) continue;
    const stem = `canvas-${String(k).padStart(2, '0')}`;
    fs.writeFileSync(path.join(dir, `${stem}.png`), await grayPng(c.pixels));
    const segments = [];
    for (const d of c.digits) {
      const label = SEGMENT_LABELS[d.classIndex];
      const mask = new Uint8Array(c.classes.length);
      let x0 = SEGMENT_CANVAS, y0 = SEGMENT_CANVAS, x1 = -1, y1 = -1;
      c.classes.forEach((v, p) => {
        if (v !== d.classIndex) return;
        mask[p] = 255;
        const x = p % SEGMENT_CANVAS, y = Math.floor(p / SEGMENT_CANVAS);
        x0 = Math.min(x0, x), y0 = Math.min(y0, y), x1 = Math.max(x1, x), y1 = Math.max(y1, y);
      });
      const file = `${stem}.mask-${label}.png`;
      fs.writeFileSync(path.join(dir, file), await grayPng(mask));
      segments.push({ label, classIndex: d.classIndex, mask: file, box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } });
    }
    index.push({ image: `${stem}.png`, segments });
    k++;
  }
  const about = `Held-out canvases of scripts/data/segments.ts with two digits (MNIST test digits from ${SAMPLE_START}, seed ${SAMPLE_SEED}); each mask is a digit's segment (its ink grown by ${SEGMENT_GROW} px), the box that segment's extent, in canvas pixels`;
  fs.writeFileSync(path.join(dir, 'segments.json'), JSON.stringify({ about, images: index }, null, 2) + '\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.samplesOnly) return writeSamples(o.samples);
  await initBackend('wasm');
  installFastBatchNormGradient();
  const model = buildSegmenter(TRAIN_SEED);
  const optimizer = tf.train.adam(5e-3);
  model.compile({ optimizer, loss: segmentLoss });
  console.log(`seg-digits: ${model.countParams()} parameters, ${o.steps} steps of ${BATCH} canvases`);
  const train = loadMnist('train');
  const t0 = Date.now();
  let lossSum = 0;
  for (let step = 0; step < o.steps; step++) {
    // Cosine decay to 5% of the rate: the last steps settle.
    (optimizer as unknown as { learningRate: number }).learningRate = 5e-3 * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / o.steps)));
    const canvases: SegmentCanvas[] = [];
    for (let k = 0; k < BATCH; k++) canvases.push(seededSegmentCanvas(train, (step * BATCH + k) % TRAIN_DIGITS, mixSeed(TRAIN_SEED, Math.floor((step * BATCH + k) / TRAIN_DIGITS))));
    const { x, y } = batchTensors(canvases);
    lossSum += (await model.trainOnBatch(x, y)) as number;
    tf.dispose([x, y]);
    if ((step + 1) % 100 === 0) {
      console.log(`  step ${step + 1}/${o.steps}  loss ${(lossSum / 100).toFixed(4)}  ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      lossSum = 0;
    }
  }
  const test = loadMnist('test');
  const held = Array.from({ length: EVAL_CANVASES }, (_, i) => seededSegmentCanvas(test, i, EVAL_SEED));
  const { accuracy, digitIoU } = evaluate(model, held);
  console.log(`  held-out (${EVAL_CANVASES} canvases of MNIST test digits): block accuracy ${(100 * accuracy).toFixed(2)}%, mean digit IoU ${(100 * digitIoU).toFixed(1)}%`);
  await model.save(fileSaver(o.out));
  writeSidecar(o.out, {
    preprocess: { scale: [0, 1], mean: [0], std: [1], bgr: false, resize: 'stretch', grayscale: true },
    labels: [...SEGMENT_LABELS],
    layer: TARGET_LAYER,
    method: 'gradcam',
    description:
      'Segmentation model for 64x64 grayscale canvases of two digits among clutter (scripts/train-segmenter.ts): conv 5x5/2 (12) -> conv 3x3/2 (16) -> ' +
      `3 conv 3x3 (24) at 16x16, each with BatchNormalization + ReLU -> 1x1 conv to 11 classes (background, zero..nine): a per-pixel class map [16, 16, 11] of logits, one class per 4x4 block. ` +
      `Held-out block accuracy ${(100 * accuracy).toFixed(1)}%, mean digit IoU ${(100 * digitIoU).toFixed(1)}%. Target layer relu5 (16x16x24).`,
    trainedAccuracy: Math.round(accuracy * 10000) / 10000,
  });
  // The saved files must give the model we evaluated.
  const reloaded = await tf.loadLayersModel(fileLoader(o.out));
  const { x } = batchTensors(held.slice(0, 50));
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, reloaded.predict(x) as tf.Tensor))).dataSync()[0]);
  x.dispose();
  if (diff > 1e-5) throw new Error(`the reloaded model differs from the trained one (max abs diff ${diff})`);
  console.log(`  saved ${o.out}: ${(modelBytes(o.out) / 1024).toFixed(0)} KiB; training ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  await writeSamples(o.samples);
  console.log(`  samples in ${o.samples}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
