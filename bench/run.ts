/**
 * npm run bench: medians over several runs, and ratios measured side by side in the same run.
 *
 *   node dist/bench/run.js [--quick] [--only darknet|shipped|zoo|folder|jobs|evaluate|diff|memory|photo|methods]
 *
 * For darknet_tiny (../shared/data, skipped with a notice when absent) and every model in models/:
 *   - plain forward pass; explain (compute only) with Grad-CAM top-1 and top-5, Grad-CAM++, Score-CAM (all
 *     channels and --max-channels), and every other method;
 *   - a naive baseline: one class at a time, a fresh forward pass and a backward pass through the whole
 *     network (to the input, fused ops, as a hook-based implementation does), then the head gradient;
 *   - folder throughput (64 images, decode + explain + render + write) with 1 and 2 workers;
 *   - --jobs auto against 1 and 2 through the CLI: 500 small images, and folders of 2 and 8 photos (bench/jobs.ts);
 *   - memory: RSS after 50 and after 1,000 images, tensor count;
 *   - real-size models from ../shared/data/zoo (MobileNetV2, layers and graph): see bench/zoo.ts;
 *   - evaluate vs explain: the built CLI (`node bin/tfjs-cam`, model load included) on 5 real photos with
 *     darknet_tiny and Grad-CAM, the two commands run alternately, median wall time and their ratio;
 *   - a 48-megapixel photo (8000 x 6000 JPEG): peak memory (the child process's maximum RSS) and wall time of
 *     `tfjs-cam explain` with the default output size (at most 2048 px; the target is under 500 MB) and, unless
 *     --quick, with --max-size 0 (full-size pictures).
 *   - diff vs explain: the built CLI on 16 photos with MobileNetV2 and its float16 copy: see bench/diff.ts.
 *   - FEM, KPCA-CAM, ShapleyCAM, Finer-CAM and RefineCAM on MobileNetV2, and the kernel PCA alone: bench/methods.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { loadModelFrom, LoadedModel } from '../src/model/load';
import { explainTensor } from '../src/pipeline/explain-tensor';
import { explain } from '../src/pipeline/explain';
import { getMethod, METHOD_NAMES } from '../src/methods';
import { classGradients } from '../src/capture/gradients';
import { ScoreKind } from '../src/capture/gradients';
import { benchZoo, childSingle } from './zoo';
import { benchDiff } from './diff';
import { benchJobs } from './jobs';
import { benchNewerMethods } from './methods';

const ROOT = path.resolve(__dirname, '..', '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'data');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const RUNS = QUICK ? 3 : 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median ms of fn over RUNS runs, after one warm-up run. */
function timeIt(fn: () => void, runs = RUNS): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)).padStart(8) + ' ms';
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const line = (label: string, value: string, note = '') => console.log(`  ${label.padEnd(44)} ${value}${note ? '   ' + note : ''}`);

function seededInput(shape: number[]): tf.Tensor4D {
  let s = 12345;
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  return tf.tensor4d(v, shape as [number, number, number, number]);
}

/** The naive baseline for k classes (see the header). */
function naive(model: LoadedModel, x: tf.Tensor4D, layer: string, classes: number[], score: ScoreKind): void {
  const c = model.classifier;
  for (const cls of classes) {
    const fp = c.forward(x, [layer]);
    tf.tidy(() => {
      const sel = tf.oneHot([cls], c.numClasses).toFloat();
      tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(c.predict(xi as tf.Tensor4D), sel)))(x).dataSync();
    });
    const g = classGradients(fp, 0, [cls], score, c.numClasses);
    g.dataSync();
    g.dispose();
    fp.dispose();
  }
}

async function benchModel(name: string, dir: string, layer: string | undefined): Promise<void> {
  const model = await loadModelFrom(dir);
  const c = model.classifier;
  const target = layer ?? (typeof model.sidecar?.layer === 'string' ? model.sidecar.layer : c.defaultTargetLayer());
  const [h, w, ch] = c.inputShape;
  const x = seededInput([1, h, w, ch]);
  const K = c.layers().find((l) => l.name === target)?.outputShape[2] ?? 0;
  console.log(`\n${name}: ${c.inputShape.join('x')} input, ${c.numClasses} classes, layer '${target}' (${K} channels)`);
  const opts = (methods: string[], topK: number, mo = {}) => ({ methods: methods.map(getMethod), layers: [target], topK, score: 'logit' as const, methodOptions: mo });
  const forward = timeIt(() => tf.tidy(() => c.predict(x).dataSync()));
  const top1 = timeIt(() => explainTensor(c, x, opts(['gradcam'], 1)));
  const top5 = timeIt(() => explainTensor(c, x, opts(['gradcam'], 5)));
  const naive5 = timeIt(() => naive(model, x, target, Array.from({ length: Math.min(5, c.numClasses) }, (_, i) => i), 'logit'), Math.min(RUNS, 3));
  sampleRss();
  line('plain forward pass', fmt(forward));
  const auto = c.defaultTargetLayer();
  if (auto !== target) {
    const top1Auto = timeIt(() => explainTensor(c, x, { ...opts(['gradcam'], 1), layers: [auto] }));
    line(`Grad-CAM top-1 at the default layer '${auto}'`, fmt(top1Auto), `${ratio(top1Auto, forward)} of a forward pass`);
  }
  line('Grad-CAM top-1', fmt(top1), `${ratio(top1, forward)} of a forward pass`);
  line('Grad-CAM top-5', fmt(top5), `${ratio(top5, top1)} of top-1`);
  line('naive baseline top-5 (whole-network backward)', fmt(naive5), `${ratio(naive5, top5)} slower than our top-5`);
  const few = QUICK ? 1 : 3;
  for (const m of METHOD_NAMES) {
    if (m === 'gradcam') continue;
    if (m === 'cam' && c.camHead(target).kind === 'none') {
      line(`${m} top-1`, '       -', 'not possible for this head');
      continue;
    }
    if (m === 'scorecam' || m === 'ablationcam') {
      const all = timeIt(() => explainTensor(c, x, opts([m], 1)), few);
      line(`${m} top-1, all ${K} channels`, fmt(all));
      const lim = Math.min(32, K);
      const limited = timeIt(() => explainTensor(c, x, opts([m], 1, { maxChannels: lim })), few);
      line(`${m} top-1, --max-channels ${lim}`, fmt(limited), `${ratio(all, limited)} faster than all channels`);
    } else {
      try {
        line(`${m} top-1`, fmt(timeIt(() => explainTensor(c, x, opts([m], 1)), few)));
      } catch (e) {
        // A method this model does not allow (guided backprop on a graph model, ...): its reason, not a crash.
        line(`${m} top-1`, '       -', `refused: ${(e as Error).message.split(':')[0]}`);
      }
    }
    sampleRss();
  }
  x.dispose();
  model.dispose();
}

async function benchFolder(name: string, modelDir: string, image: string, layer?: string): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-cam-bench-'));
  const inDir = path.join(tmp, 'in');
  fs.mkdirSync(inDir);
  const n = QUICK ? 16 : 64;
  for (let i = 0; i < n; i++) fs.copyFileSync(image, path.join(inDir, `img${String(i).padStart(3, '0')}${path.extname(image)}`));
  console.log(`\n${name}: folder of ${n} images (decode + Grad-CAM top-1 + overlay + write)`);
  const rates: number[] = [];
  for (const jobs of [1, 2]) {
    const t: number[] = [];
    for (let r = 0; r < (QUICK ? 1 : 3); r++) {
      const t0 = performance.now();
      const res = await explain([inDir], { model: modelDir, out: path.join(tmp, `out${jobs}-${r}`), topK: 1, jobs, layers: layer ? [layer] : undefined, timings: false });
      if (res.report.summary.failed) throw new Error('bench images failed');
      t.push(performance.now() - t0);
      sampleRss();
    }
    const rate = n / (median(t) / 1000);
    rates.push(rate);
    line(`${jobs} worker${jobs > 1 ? 's' : ''}`, `${rate.toFixed(1).padStart(8)} img/s`, jobs > 1 ? `${ratio(rate, rates[0])} of 1 worker` : '');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

async function benchMemory(name: string, dir: string): Promise<void> {
  const model = await loadModelFrom(dir);
  const c = model.classifier;
  const [h, w, ch] = c.inputShape;
  const layer = typeof model.sidecar?.layer === 'string' ? model.sidecar.layer : c.defaultTargetLayer();
  const n = QUICK ? 300 : 1000;
  console.log(`\n${name}: memory over ${n} images (Grad-CAM++ top-3)`);
  const tensors0 = tf.memory().numTensors;
  let rss50 = 0;
  for (let i = 0; i < n; i++) {
    const x = seededInput([1, h, w, ch]);
    explainTensor(c, x, { methods: [getMethod('gradcam++')], layers: [layer], topK: 3, score: 'logit' });
    x.dispose();
    if (i === 49) rss50 = process.memoryUsage().rss;
  }
  const rssEnd = process.memoryUsage().rss;
  sampleRss();
  line('RSS after 50 images', `${(rss50 / 2 ** 20).toFixed(0).padStart(8)} MB`);
  line(`RSS after ${n} images`, `${(rssEnd / 2 ** 20).toFixed(0).padStart(8)} MB`, `${(((rssEnd - rss50) / rss50) * 100).toFixed(1)}% change`);
  line('tensors left behind', `${String(tf.memory().numTensors - tensors0).padStart(8)}`);
  model.dispose();
}

/**
 * Rough ground-truth boxes (in each photo's own pixels) for 5 photos of ../shared/data/images, with the
 * darknet_tiny class (Darknet order, expected_top5.txt) of the object in them. Not precise: enough for timing.
 */
export const DARKNET_BOXES: Record<string, { class: number; boxes: { x: number; y: number; width: number; height: number }[] }> = {
  'both.png': { class: 139, boxes: [{ x: 20, y: 0, width: 200, height: 120 }] }, // bull mastiff, upper half
  'coffee.png': { class: 946, boxes: [{ x: 175, y: 19, width: 235, height: 240 }] }, // espresso cup
  'dogs.png': { class: 148, boxes: [{ x: 27, y: 115, width: 298, height: 163 }] }, // Eskimo dogs
  'motorcycle.png': { class: 259, boxes: [{ x: 87, y: 72, width: 636, height: 390 }] }, // motor scooter
  'puppies.jpg': { class: 175, boxes: [{ x: 0, y: 425, width: 1530, height: 450 }] }, // Labrador puppies
};

/**
 * `evaluate` vs `explain` through the CLI on the same 5 photos, alternating runs; median wall time and ratio.
 * Then the floor no scheduling can beat: the faithfulness passes (2 + 2 x 32 - 1 forward passes per photo and
 * map) at this machine's measured forward time, spread perfectly over every core.
 */
async function benchEvaluate(darknet: string): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-cam-bench-eval-'));
  const images = path.join(SHARED, 'images');
  const boxes = path.join(tmp, 'boxes.json');
  const entries = Object.fromEntries(Object.entries(DARKNET_BOXES).map(([f, v]) => [path.relative(tmp, path.join(images, f)), v]));
  fs.writeFileSync(boxes, JSON.stringify({ version: 1, images: entries }));
  const files = Object.keys(DARKNET_BOXES).map((f) => path.join(images, f));
  const bin = path.join(ROOT, 'bin', 'tfjs-cam');
  const common = ['-m', darknet, '--method', 'gradcam', '--force'];
  const cli = (args: string[]): number => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    if (r.status !== 0) throw new Error(`tfjs-cam ${args[0]} failed (${r.status}): ${r.stderr.trim().split('\n').pop()}`);
    return performance.now() - t0;
  };
  const runs = QUICK ? 3 : 5;
  console.log(`\ndarknet_tiny: evaluate vs explain, ${files.length} photos, Grad-CAM, CLI wall time (model load included), median of ${runs}`);
  const tEx: number[] = [];
  const tEv: number[] = [];
  const tEvNoF: number[] = [];
  for (let r = 0; r < runs; r++) {
    tEx.push(cli(['explain', ...files, ...common, '-o', path.join(tmp, 'explain')]));
    tEv.push(cli(['evaluate', ...files, ...common, '--boxes', boxes, '-o', path.join(tmp, 'evaluate')]));
    tEvNoF.push(cli(['evaluate', ...files, ...common, '--boxes', boxes, '--no-faithfulness', '-o', path.join(tmp, 'evaluate-nof')]));
  }
  const ex = median(tEx);
  const ev = median(tEv);
  line('explain (top-3 maps, overlays, report)', fmt(ex));
  line('evaluate (faithfulness, 32 steps)', fmt(ev), `${ratio(ev, ex)} of explain (target: at most 3x)`);
  line('evaluate --no-faithfulness', fmt(median(tEvNoF)), `${ratio(median(tEvNoF), ex)} of explain`);
  fs.rmSync(tmp, { recursive: true, force: true });
  const loaded = await loadModelFrom(darknet);
  const batch = tf.randomUniform([32, 224, 224, 3]) as tf.Tensor4D;
  const perRow = timeIt(() => tf.tidy(() => void loaded.classifier.predict(batch).dataSync()), QUICK ? 2 : 3) / 32;
  batch.dispose();
  loaded.dispose();
  const rows = files.length * (2 + 2 * 32 - 1);
  const cores = os.availableParallelism();
  const bound = median(tEvNoF) + (rows * perRow) / cores;
  line('forward pass per row, batches of 32', fmt(perRow));
  line(`lower bound: --no-faithfulness + ${rows} rows / ${cores} cores`, fmt(bound), `${ratio(bound, ex)} of explain, with no overhead at all`);
}

/**
 * The 48 MP photo: a real one (../shared/data/images/puppies.jpg) enlarged to 8000 x 6000, else a synthetic one
 * (smooth colours with detail, so that the JPEG is photo-sized). Written once per run as a quality-90 JPEG.
 */
async function bigPhoto(file: string): Promise<string> {
  const sharp = (await import('sharp')).default;
  const real = path.join(SHARED, 'images', 'puppies.jpg');
  if (fs.existsSync(real)) {
    await sharp(real).resize(8000, 6000, { fit: 'fill', kernel: 'lanczos3' }).jpeg({ quality: 90 }).toFile(file);
    return 'puppies.jpg enlarged';
  }
  const w = 400;
  const h = 300;
  const px = Buffer.alloc(w * h * 3);
  let seed = 7;
  for (let i = 0; i < px.length; i++) px[i] = (((i % (w * 3)) / 3) * 0.5 + (i / (w * 3)) * 0.4 + ((seed = (seed * 1664525 + 1013904223) >>> 0) >>> 26)) & 255;
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).resize(8000, 6000, { kernel: 'cubic' }).jpeg({ quality: 90 }).toFile(file);
  return 'synthetic (../shared/data absent)';
}

/**
 * `tfjs-cam explain` on a 48 MP photo in a child process: wall time, the child's peak RSS (it reports
 * process.resourceUsage().maxRSS as it exits, worker threads included) and the pictures' size.
 */
async function benchPhoto(darknet: string | null): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-cam-bench-photo-'));
  const photo = path.join(tmp, 'photo-48mp.jpg');
  const t0 = performance.now();
  const source = await bigPhoto(photo);
  const model = darknet ?? path.join(ROOT, 'models', 'gap-cnn');
  console.log(`\n48 MP photo (8000 x 6000 JPEG, ${(fs.statSync(photo).size / 2 ** 20).toFixed(1)} MB, ${source}, made in ${fmt(performance.now() - t0).trim()}): tfjs-cam explain with ${path.basename(model)}, Grad-CAM top-3, child process`);
  const preload = path.join(tmp, 'report-maxrss.js');
  fs.writeFileSync(preload, "process.on('exit', () => process.stderr.write('maxrss-kb ' + process.resourceUsage().maxRSS + '\\n'));\n");
  const sharp = (await import('sharp')).default;
  const run = async (label: string, flags: string[]) => {
    const out = path.join(tmp, `out-${label.replace(/\W+/g, '-')}`);
    const started = performance.now();
    const r = spawnSync(process.execPath, ['-r', preload, path.join(ROOT, 'bin', 'tfjs-cam'), 'explain', photo, '-m', model, '-o', out, '--force', '-q', ...flags], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const ms = performance.now() - started;
    if (r.status !== 0) throw new Error(`tfjs-cam explain ${flags.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').pop()}`);
    const kb = Number(/maxrss-kb (\d+)/.exec(r.stderr)?.[1]);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const overlay = path.join(out, report.images[0].maps[0].files.overlay);
    const meta = await sharp(overlay).metadata();
    const mb = kb / 1024;
    line(label, fmt(ms), `peak RSS ${mb.toFixed(0)} MB${label.startsWith('default') ? (mb < 500 ? ' (target < 500 MB: met)' : ' (target < 500 MB: OVER)') : ''}, overlays ${meta.width}x${meta.height}, ${(fs.statSync(overlay).size / 2 ** 20).toFixed(1)} MB each`);
  };
  await run('default (pictures at most 2048 px)', []);
  if (!QUICK) await run('--max-size 0 (full-size pictures)', ['--max-size', '0']);
  fs.rmSync(tmp, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const backend = await initBackend((process.env.TFJS_CAM_BACKEND as 'wasm') ?? 'wasm');
  if (args[0] === '--child-single') return childSingle(args[1], args[2], Number(args[3]), Number(args[4]));
  console.log(`tfjs-cam bench on ${backend}, ${os.cpus().length} cores, median of ${RUNS} runs${QUICK ? ' (--quick)' : ''}`);
  const darknet = path.join(SHARED, 'darknet_tiny');
  const hasDarknet = fs.existsSync(path.join(darknet, 'model.json'));
  const shipped = fs.existsSync(path.join(ROOT, 'models'))
    ? fs.readdirSync(path.join(ROOT, 'models')).filter((d) => fs.existsSync(path.join(ROOT, 'models', d, 'model.json'))).sort()
    : [];
  const sample = fs.existsSync(path.join(ROOT, 'samples')) ? fs.readdirSync(path.join(ROOT, 'samples')).find((f) => f.endsWith('.png')) : undefined;
  if (!ONLY || ONLY === 'darknet') {
    if (hasDarknet) {
      await benchModel('darknet_tiny (Grad-CAM target leaky_re_lu_15)', darknet, 'leaky_re_lu_15');
    } else console.log('\nskipped darknet_tiny: ../shared/data is not present');
  }
  if (!ONLY || ONLY === 'shipped') for (const m of shipped) await benchModel(`models/${m}`, path.join(ROOT, 'models', m), undefined);
  if (!ONLY || ONLY === 'zoo') await benchZoo({ runs: RUNS, quick: QUICK, median, timeIt, line, fmt, ratio });
  if (!ONLY || ONLY === 'folder') {
    if (hasDarknet) await benchFolder('darknet_tiny', darknet, path.join(SHARED, 'images', 'both.png'), 'leaky_re_lu_15');
    if (shipped.includes('gap-cnn') && sample) await benchFolder('models/gap-cnn', path.join(ROOT, 'models', 'gap-cnn'), path.join(ROOT, 'samples', sample));
  }
  if (!ONLY || ONLY === 'jobs') await benchJobs({ runs: RUNS, quick: QUICK, median, line, fmt, ratio });
  if (!ONLY || ONLY === 'evaluate') {
    if (hasDarknet) await benchEvaluate(darknet);
    else console.log('\nskipped evaluate vs explain: ../shared/data is not present');
  }
  if (!ONLY || ONLY === 'photo') await benchPhoto(hasDarknet ? darknet : null);
  if (!ONLY || ONLY === 'methods') await benchNewerMethods({ runs: RUNS, quick: QUICK, median, timeIt, line, fmt, ratio });
  if (!ONLY || ONLY === 'diff') await benchDiff({ quick: QUICK, median, line, fmt, ratio });
  if (!ONLY || ONLY === 'memory') {
    if (shipped.includes('gap-cnn')) await benchMemory('models/gap-cnn', path.join(ROOT, 'models', 'gap-cnn'));
    else if (hasDarknet) await benchMemory('darknet_tiny', darknet);
  }
  console.log(`\npeak RSS of this process: ${(peakRss / 2 ** 20).toFixed(0)} MB (workers are separate threads of it)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
