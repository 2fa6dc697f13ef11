// One answer everywhere: every method family's maps on the WASM backend equal those on the pure-JS CPU backend
// (Pearson r >= 0.9999 per raw map, top-3 classes equal and their probabilities within 1e-5), for three models built
// here (Conv -> BatchNorm -> MaxPool blocks, plain Conv -> ReLU -> MaxPool, and a head without max pooling that
// ShapleyCAM differentiates twice) and every model of
// ../shared/data/zoo that loads. Each backend runs the library (openSession, prepareInput, explainTensor, as the CLI
// does) in a plain node process, scripts/maps-for-backend.ts from dist/ (built by `npm test`): under jest the CPU
// backend's JS kernels run ~3.5x slower. The kernels the WASM passes run must all be ones that kernels.test.ts checks
// one by one against the CPU backend (those of kernels-in-use.json and of kernel-cases.ts).
//
// Lean by design: one image per model, the top class, Score-CAM and Ablation-CAM on 2 channels, Integrated
// Gradients with 2 steps. The CPU backend is what costs: a forward pass of a 224x224 MobileNetV2 takes it ~3 s, a
// backward pass to the input ~10 s, and a converted graph's fused convolutions compute their filter gradient too
// (~35 s for the 64x64 human-emotion, in the pure-JS kernel). So by default the pixel-level families (saliency,
// Integrated Gradients, guided backprop, FullGrad) run on the models built here and the two small zoo models
// (doodlenet, catmood-cnn1), every other family on every model; TFJS_CAM_ALL_FAMILIES=1 runs every family on every
// model (12 minutes of CPU time, 17 minutes here: all pass).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { saveLayersModel } from '../../src/model/save';
import { correlation } from '../helpers/stats';
import { ROOT, tempDir } from '../helpers/cli';
import type { MapsJob, MapsOutput, MapsResult } from '../../scripts/maps-for-backend';
import { CASES } from './kernel-cases';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const inUse = require('./kernels-in-use.json') as { kernels: Record<string, unknown> };

const DATA = path.resolve(__dirname, '../../../shared/data');
const ZOO = path.join(DATA, 'zoo');
const haveZoo = fs.existsSync(ZOO);
if (!haveZoo) console.log(`skipping the zoo models in maps-across-backends: ${ZOO} is absent`);
const ALL = process.env.TFJS_CAM_ALL_FAMILIES === '1';
const RUNNER = path.join(ROOT, 'dist', 'scripts', 'maps-for-backend.js');

/** The method families (src/methods/index.ts); the runner leaves out what a model cannot do. */
const FAMILIES: Record<string, string[]> = {
  'gradient CAMs': ['gradcam', 'gradcam++', 'xgradcam', 'layercam', 'hirescam'],
  CAM: ['cam'],
  'forward CAMs': ['scorecam', 'ablationcam', 'eigencam'],
  'pixel attributions': ['saliency', 'integrated-gradients', 'guided-backprop'],
  FullGrad: ['fullgrad'],
  'newer CAMs': ['shapleycam', 'finercam', 'refinecam', 'fem', 'kpca-cam'],
  // ShapleyCAM's Hessian term is zero on a logit behind piecewise-linear layers; through a softmax it is not.
  'ShapleyCAM on the probability': ['shapleycam@probability'],
};
const PIXEL_LEVEL = [...FAMILIES['pixel attributions'], ...FAMILIES.FullGrad];
const OPTIONS = { maxChannels: 2, igSteps: 2, batchSize: 8, noiseSamples: 2 };

interface Subject {
  name: string;
  /** Writes what the runner reads into `dir` (a model built here and its image); returns its job. */
  job(dir: string): Promise<Omit<MapsJob, 'methods' | 'methodOptions' | 'name'>>;
  /** The pixel-level families run here by default (else with TFJS_CAM_ALL_FAMILIES=1). */
  pixel: boolean;
}

const init = (seed: number) => tf.initializers.glorotUniform({ seed });
const constant = (value: number) => tf.initializers.constant({ value });

/**
 * Conv -> BatchNorm -> MaxPool blocks, then conv 'feat' -> GAP -> Dense. The statistics make most normalised values
 * negative, so many pooling windows are all negative; the first pool feeds a convolution directly, so those windows
 * carry gradient (what WASM's MaxPoolGrad lost), the second is followed by a ReLU as in many published models.
 */
function bnPoolModel(): tf.LayersModel {
  const bn = (i: number) => tf.layers.batchNormalization({ name: `bn${i}`, movingMeanInitializer: constant(0.4), movingVarianceInitializer: constant(0.6), gammaInitializer: constant(1.2), betaInitializer: constant(-0.3) });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [30, 30, 3], filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: init(41), biasInitializer: constant(0.02), name: 'conv1' }),
      bn(1),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }),
      tf.layers.conv2d({ filters: 10, kernelSize: 3, padding: 'same', kernelInitializer: init(42), name: 'conv2' }),
      bn(2),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'pool2' }),
      tf.layers.activation({ activation: 'relu', name: 'relu2' }),
      tf.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(49), name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 5, kernelInitializer: init(50), biasInitializer: constant(0.1), name: 'logits' }),
    ],
  });
}

/** Conv -> ReLU -> MaxPool twice, then conv 'feat' (ReLU) -> MaxPool -> Flatten -> Dense. */
function reluPoolModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [29, 27, 3], filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(61), biasInitializer: constant(-0.05), name: 'c1' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'p1' }),
      tf.layers.conv2d({ filters: 7, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(62), biasInitializer: constant(-0.05), name: 'c2' }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'p2' }),
      tf.layers.conv2d({ filters: 9, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(63), name: 'feat' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 3, name: 'p3' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 4, kernelInitializer: init(64), name: 'logits' }),
    ],
  });
}

/**
 * Conv -> conv 'mid' -> BatchNorm -> ELU -> AvgPool -> conv 'feat' (tanh) -> GAP -> Dense: no max pooling after the
 * target layers, so ShapleyCAM's second derivatives pass BatchNorm, ELU, tanh, average pooling and convolutions
 * (the gradients src/capture/second-order.ts re-derives or adds). Two target layers, so RefineCAM runs.
 */
function smoothHeadModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [26, 28, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(71), biasInitializer: constant(0.01), name: 'c1' }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(72), name: 'mid' }),
      tf.layers.batchNormalization({ name: 'bn', movingMeanInitializer: constant(0.1), movingVarianceInitializer: constant(0.5), gammaInitializer: constant(1.1), betaInitializer: constant(-0.2) }),
      tf.layers.elu({ name: 'elu' }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: 'avg' }),
      tf.layers.conv2d({ filters: 10, kernelSize: 3, padding: 'same', activation: 'tanh', kernelInitializer: init(73), name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 6, kernelInitializer: init(74), biasInitializer: constant(0.05), name: 'logits' }),
    ],
  });
}

/** A seeded image in [0, 1) with smooth structure (so maps are not noise). */
function seededImage(h: number, w: number, c: number, seed: number): Float32Array {
  return Float32Array.from({ length: h * w * c }, (_, i) => {
    const y = Math.floor(i / (w * c));
    const x = Math.floor(i / c) % w;
    return 0.5 + 0.45 * Math.sin((x + seed) * 0.37 + y * 0.23 + (i % c)) * Math.cos(y * 0.31 - seed);
  });
}

const built = (name: string, make: () => tf.LayersModel, layers: string[]): Subject => ({
  name,
  pixel: true,
  job: async (dir) => {
    const m = make();
    const [h, w] = m.inputs[0].shape.slice(1) as number[];
    const model = path.join(dir, 'model');
    await saveLayersModel(m, model);
    m.dispose();
    const image = path.join(dir, 'image.png');
    await sharp(Buffer.from(seededImage(h, w, 3, 3).map((v) => Math.round(v * 255))), { raw: { width: w, height: h, channels: 3 } }).png().toFile(image);
    return { model, image, layers };
  },
});

const zoo = (name: string, image: string, pixel: boolean, extra: { crop?: { left: number; top: number; width: number; height: number }; preprocess?: MapsJob['preprocess'] } = {}): Subject => ({
  name,
  pixel,
  job: async (dir) => {
    let file = path.join(DATA, 'images', image);
    if (extra.crop) {
      const cropped = path.join(dir, 'crop.png');
      await sharp(file).extract(extra.crop).png().toFile(cropped);
      file = cropped;
    }
    return { model: path.join(ZOO, name), image: file, preprocess: extra.preprocess };
  },
});

const SUBJECTS: Subject[] = [
  // Target layers early in the model, so that the layer gradients pass BatchNorm and the pools too.
  built('Conv -> BN -> MaxPool (built here)', bnPoolModel, ['conv1']),
  built('Conv -> ReLU -> MaxPool (built here)', reluPoolModel, ['c2']),
  built('Conv -> BN -> ELU -> AvgPool -> tanh (built here)', smoothHeadModel, ['mid', 'feat']),
  ...(haveZoo
    ? [
        zoo('doodlenet', 'rocket.jpg', true, { preprocess: { mean: [1], std: [-1] } }),
        zoo('catmood-cnn1-keras3', 'astronaut.png', true),
        zoo('nsfwjs-mobilenet-v2', 'coffee.png', false),
        zoo('tm-aircraft', 'rocket.jpg', false),
        zoo('catmood-mobilenet25-keras3', 'astronaut.png', false),
        zoo('nsfwjs-mobilenet-v2-mid', 'coffee.png', false),
        zoo('human-emotion', 'astronaut.png', false, { crop: { left: 150, top: 40, width: 150, height: 170 }, preprocess: { scale: [-1, 1] } }),
        zoo('human-antispoof', 'astronaut.png', false),
      ]
    : []),
];

/** The runner in a plain node process on one backend; resolves with what it wrote. */
function runOn(backend: 'wasm' | 'cpu', jobsFile: string, out: string): Promise<MapsOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, jobsFile, backend, out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(fs.readFileSync(out, 'utf8')) as MapsOutput) : reject(new Error(`maps-for-backend ${backend} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

let wasm: MapsOutput;
let cpu: MapsOutput;
let work: string;

beforeAll(async () => {
  if (!fs.existsSync(RUNNER)) throw new Error(`${RUNNER} is missing: run \`npm run build\` (npm test does it)`);
  work = tempDir('backends');
  const jobs: MapsJob[] = [];
  for (const [i, s] of SUBJECTS.entries()) {
    const dir = path.join(work, String(i));
    fs.mkdirSync(dir, { recursive: true });
    const methods = Object.values(FAMILIES).flat().filter((m) => s.pixel || ALL || !PIXEL_LEVEL.includes(m));
    jobs.push({ name: s.name, ...(await s.job(dir)), methods, methodOptions: OPTIONS });
  }
  const jobsFile = path.join(work, 'jobs.json');
  fs.writeFileSync(jobsFile, JSON.stringify(jobs));
  // The two backends side by side: two processes, one core each where the machine has them.
  [wasm, cpu] = await Promise.all([runOn('wasm', jobsFile, path.join(work, 'wasm.json')), runOn('cpu', jobsFile, path.join(work, 'cpu.json'))]);
}, 3_600_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Every map of `w` against `c`: one line per map that does not match (r < 0.9999, or a flat map that is not). */
function mismatches(w: MapsResult, c: MapsResult, methods: string[]): string[] {
  const out: string[] = [];
  for (const method of methods) {
    const [a, b] = [w.raw[method], c.raw[method]];
    if (!a || !b || a.length !== b.length) {
      out.push(`${method}: ${a?.length ?? 0} maps on WASM, ${b?.length ?? 0} on CPU`);
      continue;
    }
    b.forEach((cpuMap, i) => {
      const wasmMap = a[i];
      const scale = Math.max(...cpuMap.map(Math.abs));
      if (cpuMap.every((v) => v === cpuMap[0])) {
        const worst = Math.max(...wasmMap.map((v, j) => Math.abs(v - cpuMap[j])));
        if (worst > 1e-6 * Math.max(1, scale)) out.push(`${method} (layer ${i}): flat on CPU (${cpuMap[0]}), not on WASM (max difference ${worst})`);
        return;
      }
      const r = correlation(wasmMap, cpuMap);
      if (!(r >= 0.9999)) out.push(`${method} (layer ${i}): r = ${r.toFixed(6)}`);
    });
  }
  return out;
}

describe.each(SUBJECTS.map((s) => [s.name] as const))('%s: the same maps on WASM and CPU', (name) => {
  test('top-3 classes and their probabilities (within 1e-5)', () => {
    const [w, c] = [wasm.results[name], cpu.results[name]];
    expect(w.top.map((t) => t.index)).toEqual(c.top.map((t) => t.index));
    expect(c.top.length).toBeGreaterThanOrEqual(2);
    c.top.forEach((t, k) => expect(Math.abs(w.top[k].probability - t.probability)).toBeLessThanOrEqual(1e-5));
  });

  test.each(Object.entries(FAMILIES))('%s (r >= 0.9999)', (_family, members) => {
    const [w, c] = [wasm.results[name], cpu.results[name]];
    expect(w.methods).toEqual(c.methods);
    // A family the model cannot run (CAM behind a non-linear head, FullGrad or guided backprop on a graph) or that
    // this lean run leaves to TFJS_CAM_ALL_FAMILIES has no method here.
    expect(mismatches(w, c, c.methods.filter((m) => members.includes(m)))).toEqual([]);
  });
});

test('the newer CAMs ran where they can: ShapleyCAM through a twice-differentiable head, RefineCAM on two layers', () => {
  const smooth = cpu.results['Conv -> BN -> ELU -> AvgPool -> tanh (built here)'];
  expect(smooth.methods).toEqual(expect.arrayContaining(FAMILIES['newer CAMs'].concat(FAMILIES['ShapleyCAM on the probability'])));
  // Its Hessian term is not zero there (ELU and tanh after the layer): ShapleyCAM's map is not Grad-CAM's, whose
  // weights are the gradient's mean alone.
  const [shapley, gradcam] = [smooth.raw.shapleycam[0], smooth.raw.gradcam[0]];
  const scale = Math.max(...gradcam.map(Math.abs));
  expect(Math.max(...shapley.map((v, i) => Math.abs(v - gradcam[i])))).toBeGreaterThan(1e-3 * scale);
  // Max pooling after the target layer has no second derivative in tfjs: left out, as --method all leaves it out.
  expect(cpu.results['Conv -> ReLU -> MaxPool (built here)'].methods).not.toContain('shapleycam');
});

test('every kernel the WASM passes ran is checked against the CPU backend by kernels.test.ts', () => {
  expect(wasm.kernels.length).toBeGreaterThan(20);
  // kernels.test.ts runs every kernel of kernels-in-use.json (what the shipped and zoo models run) and every kernel
  // with cases in kernel-cases.ts (what a model not seen yet may run, such as the ELU of the head built here).
  // A kernel in neither: rerun scripts/kernels-in-use.ts and give it cases in kernel-cases.ts.
  expect(wasm.kernels.filter((k) => !(k in inUse.kernels) && !CASES[k]?.length)).toEqual([]);
});
