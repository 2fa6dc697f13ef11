// `tfjs-cam diff` end to end on the shipped gap-cnn and samples/: its uint8 and float16 copies (written as the
// tfjs converter writes them) agree with it, a copy with its last block shuffled does not, and the exit codes,
// JSON (against its schema), JUnit and HTML say so. The numbers are checked against a second path: explain's maps
// and peaks, compared by the test's own formulas. Plus geometry (models of other input sizes, resize modes and class
// orders meet on the image) and bad input.
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { XMLParser } from 'fast-xml-parser';
import schema from '../../schema/diff-report.schema.json';
import { runCli, tempDir } from '../helpers/cli';
import { initBackend } from '../../src/backend';
import { explain } from '../../src/pipeline/explain';
import { diff } from '../../src/pipeline/diff';
import { shardOf } from '../../src/batch/shard';
import type { DiffReport } from '../../src/diff/report';
import { saveLayersModel } from '../../src/model/save';
import { colourModel, squaresImage, RED, BLUE } from '../check/fixtures';
import { GAP_CNN, SAMPLES, saveTwelveClassModel, writeVariants } from './fixtures';

let dir: string;
let models: ReturnType<typeof writeVariants>;
const validate = new Ajv({ allErrors: true, allowUnionTypes: true, strict: false }).compile(schema);

const THRESHOLDS = ['--min-correlation', '0.95', '--max-peak-shift', '0.05', '--max-flips', '0', '--max-probability-drop', '0.05'];

function diffJson(args: string[]): { code: number; report: DiffReport; stderr: string } {
  const r = runCli(['diff', '--backend', 'wasm', '--json', '--no-timings', ...args]);
  let report: DiffReport;
  try {
    report = JSON.parse(r.stdout) as DiffReport;
  } catch {
    throw new Error(`no JSON (exit ${r.code}): ${r.stderr}`);
  }
  if (!validate(report)) throw new Error(`report does not match schema/diff-report.schema.json: ${JSON.stringify(validate.errors)}`);
  return { code: r.code, report, stderr: r.stderr };
}

/** Pearson's r by the textbook one-pass formula, in the test's own words. */
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sx += a[i];
    sy += b[i];
    sxy += a[i] * b[i];
    sxx += a[i] * a[i];
    syy += b[i] * b[i];
  }
  return (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('diff');
  models = writeVariants(dir);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ground truth: quantised copies agree, a shuffled last block does not', () => {
  let uint8: DiffReport;

  test('uint8 copy: every threshold holds (exit 0); the numbers match explain\'s maps compared independently', async () => {
    const r = diffJson(['--base', GAP_CNN, '--head', models.uint8, SAMPLES, ...THRESHOLDS]);
    uint8 = r.report;
    expect(r.code).toBe(0);
    const s = uint8.summary;
    expect(s).toMatchObject({ images: 12, compared: 12, passed: 12, failed: 0, errors: 0, flips: 0 });
    // Measured: min 0.9999 (digit-06), mean 1.0000 (4 decimals).
    expect(s.minCorrelation!).toBeGreaterThan(0.95);
    expect(uint8.thresholds).toEqual({ minCorrelation: 0.95, maxPeakShift: 0.05, maxFlips: 0, maxProbabilityDrop: 0.05 });
    expect(uint8.compared).toEqual({ kind: 'base-top-1' });
    expect(uint8.classMatch).toBe('label');
    expect(uint8.base.sha256).not.toBe(uint8.head.sha256);
    // Second path: explain (library) on each model, maps at the input (64x64, stretch: the image's own pixels).
    const [eb, eh] = await Promise.all([GAP_CNN, models.uint8].map((m) => explain([SAMPLES], { model: m, out: null, topK: 1, returnMaps: true, jobs: 1 })));
    const comps = uint8.images.map((i) => i.comparisons![0]);
    eb.maps!.forEach((mb, k) => {
      const img = uint8.images[k];
      expect(path.resolve(img.file)).toBe(path.resolve(mb.file));
      // The base's top-1 is compared; the head explained its own top-1, the same class here (no flips).
      expect(comps[k].class!.index).toBe(mb.maps[0].classIndex);
      expect(eh.maps![k].maps[0].classIndex).toBe(mb.maps[0].classIndex);
      expect(comps[k].correlation).toBeCloseTo(correlation(mb.maps[0].map, eh.maps![k].maps[0].map), 3);
      const pb = eb.report.images[k].maps![0].peak!;
      const ph = eh.report.images[k].maps![0].peak!;
      expect(comps[k].base.peak).toEqual(pb);
      expect(comps[k].peakShift!.px).toBeCloseTo(Math.hypot(ph.x - pb.x, ph.y - pb.y), 1);
      const p = (e: typeof eb, idx: number) => e.report.images[k].top!.find((t) => t.index === idx)!.probability;
      expect(comps[k].probabilityChange).toBeCloseTo(p(eh, comps[k].head.index!) - p(eb, comps[k].class!.index), 3);
    });
  });

  test('float16 copy agrees too (library: the same report the CLI prints); no tensor left behind', async () => {
    const tensors = tf.memory().numTensors;
    const r = await diff([SAMPLES], { base: GAP_CNN, head: models.float16, backend: 'wasm', thresholds: { minCorrelation: 0.95, maxPeakShift: 0.05, maxFlips: 0, maxProbabilityDrop: 0.05 } });
    expect(r.summary).toMatchObject({ images: 12, passed: 12, failed: 0, flips: 0 });
    // Measured: 1.000000 at 6 decimals.
    expect(r.summary.minCorrelation!).toBeGreaterThan(0.95);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  test('shuffled last block: most maps disagree, flips, exit 1; the table lists the worst first', () => {
    const r = runCli(['diff', '--backend', 'wasm', '--base', GAP_CNN, '--head', models.shuffled, SAMPLES, '--min-correlation', '0.8', '--max-flips', '0']);
    expect(r.code).toBe(1);
    const rows = r.stdout.split('\n').filter((l) => /^(PASS|FAIL|ERROR) /.test(l));
    expect(rows).toHaveLength(12);
    // Worst first: failures before passes, correlations rising among the failures.
    const status = rows.map((l) => l.split(/\s+/)[0]);
    expect(status.indexOf('PASS') === -1 || status.lastIndexOf('FAIL') < status.indexOf('PASS')).toBe(true);
    const corr = rows.filter((l) => l.startsWith('FAIL')).map((l) => Number(l.split(/\s+/)[4]));
    expect(corr).toEqual([...corr].sort((a, b) => a - b));
    expect(r.stdout).toMatch(/- correlation -?[\d.]+ < 0\.8 \(gradcam map of '\d'\)/);
    expect(r.stdout).toMatch(/- top-1 flipped: '\d' \([\d.]+%\) -> '\d' \([\d.]+%\) \(\d+ images flipped, at most 0 allowed\)/);
    const summary = r.stdout.trim().split('\n').pop()!;
    expect(summary).toMatch(/^12 images: \d+ passed, \d+ failed; correlation min -?[\d.]+, mean [\d.]+; \d+ top-1 flips in [\d.]+ s \(gradcam on wasm\)$/);
    const mean = Number(/mean ([\d.]+)/.exec(summary)![1]);
    // Measured: mean 0.164, min -0.333, 11 of 12 below 0.8.
    expect(mean).toBeLessThan(0.5);
    expect(corr.length).toBeGreaterThanOrEqual(9);
  });

  test('JUnit and HTML of the shuffled copy: a failure per failing map; base | head | difference overlays at the image size', async () => {
    const out = path.join(dir, 'html');
    const junit = path.join(dir, 'diff.xml');
    const r = diffJson(['--base', GAP_CNN, '--head', models.shuffled, SAMPLES, '--min-correlation', '0.8', '--junit', junit, '--html', '-o', out]);
    expect(r.code).toBe(1);
    const failing = r.report.images.filter((i) => i.status === 'fail').length;
    const xml = new XMLParser({ ignoreAttributes: false }).parse(fs.readFileSync(junit, 'utf8'));
    const suite = xml.testsuites.testsuite;
    expect(Number(suite['@_tests'])).toBe(12);
    expect(Number(suite['@_failures'])).toBe(failing);
    const cases = suite.testcase as { '@_name': string; failure?: { '@_message': string } }[];
    expect(cases.filter((c) => c.failure).length).toBe(failing);
    expect(cases.find((c) => c.failure)!.failure!['@_message']).toMatch(/^correlation -?[\d.]+ < 0\.8/);
    const page = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    expect(page.match(/<tr class="(pass|fail)">/g)).toHaveLength(12);
    expect(page).toContain("aria-sort");
    for (const img of r.report.images) {
      const files = img.comparisons![0].files!;
      for (const f of [files.base, files.head, files.difference]) {
        const meta = await sharp(path.join(out, f)).metadata();
        expect([meta.width, meta.height]).toEqual([64, 64]);
        expect(page).toContain(`href="${f}"`);
      }
    }
  });

  test('the same model twice: a note, every correlation and IoU 1, no shift', () => {
    const r = diffJson(['--base', GAP_CNN, '--head', GAP_CNN, SAMPLES, '--min-correlation', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^note: the base and head are the same model \(sha256 [0-9a-f]{12}\) with the same settings: every map is compared with itself \(correlation 1\)$/m);
    for (const c of r.report.images.flatMap((i) => i.comparisons!)) {
      expect([c.correlation, c.iou, c.peakShift!.px, c.probabilityChange]).toEqual([1, 1, 0, 0]);
    }
  });

  test('--jobs 2 (a worker thread with both models) gives the same report; --shard 0/2 compares its share', async () => {
    const thresholds = { minCorrelation: 0.95, maxPeakShift: 0.05, maxFlips: 0, maxProbabilityDrop: 0.05 };
    const two = await diff([SAMPLES], { base: GAP_CNN, head: models.uint8, backend: 'wasm', thresholds, jobs: 2, timings: false });
    expect(JSON.parse(JSON.stringify(two))).toEqual(uint8);
    const shard = await diff([SAMPLES], { base: GAP_CNN, head: models.uint8, backend: 'wasm', shard: { index: 0, count: 2 }, timings: false });
    const mine = fs.readdirSync(SAMPLES).filter((f) => f.endsWith('.png') && shardOf(f, 2) === 0);
    expect(shard.images.map((i) => path.basename(i.file))).toEqual(mine.sort());
    expect(shard.shard).toEqual({ index: 0, count: 2, inputs: 12 });
  });
});

describe('models that differ in input size, resize mode and class order meet on the image', () => {
  test('a LayersModel and its GraphModel export (layer and node named in each sidecar) agree (library)', async () => {
    const models = path.join(path.dirname(GAP_CNN));
    const r = await diff([SAMPLES], { base: path.join(models, 'resnet-bn'), head: path.join(models, 'resnet-bn-graph'), backend: 'wasm', thresholds: { minCorrelation: 0.999, maxFlips: 0 } });
    expect([r.base.format, r.head.format]).toEqual(['layers-model', 'graph-model']);
    expect(r.summary).toMatchObject({ images: 12, passed: 12, flips: 0 });
    // Measured: 1.000000 (6 decimals) on every sample.
    expect(r.summary.minCorrelation!).toBeGreaterThan(0.999);
  });

  test("the red class's maps both lie on the red square; classes matched by label", async () => {
    // Base: 16x16 input, stretched. Head: 24x24, letterboxed, classes in the other order (its class 0 is blue).
    const base = path.join(dir, 'colour16');
    const head = path.join(dir, 'colour24-swapped');
    const b = colourModel(16);
    await saveLayersModel(b, base);
    b.dispose();
    // Area resampling on both sides: it covers each input pixel's footprint exactly, where tf.image.resizeBilinear
    // (the default) samples one point per pixel and shifts a 6x reduction by a few image pixels.
    fs.writeFileSync(path.join(base, 'tfjs-cam.json'), JSON.stringify({ labels: ['red', 'blue'], layer: 'feat', preprocess: { interpolation: 'area' } }));
    const h = colourModel(24);
    h.getLayer('logits').setWeights([tf.tensor2d([0, 60, 60, 0], [2, 2]), tf.zeros([2])]);
    await saveLayersModel(h, head);
    h.dispose();
    fs.writeFileSync(path.join(head, 'tfjs-cam.json'), JSON.stringify({ labels: ['blue', 'red'], layer: 'feat', preprocess: { resize: 'pad', interpolation: 'area' } }));
    // 96x48: red square 24x24 at (8, 8), blue 12x12 at (70, 28).
    const image = path.join(dir, 'squares', 'wide.png');
    await squaresImage(image, 96, 48, [
      { x: 8, y: 8, size: 24, color: RED },
      { x: 70, y: 28, size: 12, color: BLUE },
    ]);
    const r = diffJson(['--base', base, '--head', head, image, '--min-correlation', '0.95', '--max-flips', '0']);
    expect(r.stderr).toContain('note: the head model (' + head + ') orders its classes differently: classes matched by label');
    expect(r.code).toBe(0);
    const img = r.report.images[0];
    const c = img.comparisons![0];
    expect(c.class).toEqual({ index: 0, label: 'red' });
    expect([c.base.index, c.head.index]).toEqual([0, 1]);
    expect(img.flipped).toBe(false);
    expect(img.grid).toEqual({ width: 96, height: 48 });
    for (const p of [c.base.peak!, c.head.peak!]) {
      expect(p.x).toBeGreaterThan(8);
      expect(p.x).toBeLessThan(32);
      expect(p.y).toBeGreaterThan(8);
      expect(p.y).toBeLessThan(32);
    }
    // Measured: 0.981 (IoU 0.735): the 16 and 24 pixel grids blur the square's edges differently.
    expect(c.correlation).toBeGreaterThan(0.95);
  });
});

describe('bad input: one clear line each', () => {
  test('--help ends with examples', () => {
    const r = runCli(['diff', '--help']);
    expect(r.code).toBe(0);
    const tail = r.stdout.trim().split('\n');
    const at = tail.indexOf('Examples:');
    expect(at).toBeGreaterThan(0);
    expect(tail.slice(at + 1).every((l) => l.startsWith('  $ tfjs-cam diff '))).toBe(true);
  });

  test('a threshold out of range: exit 2', () => {
    const r = runCli(['diff', '--base', GAP_CNN, '--head', models.uint8, SAMPLES, '--min-correlation', '1.5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("tfjs-cam: error: --min-correlation must be a number from -1 to 1 (got '1.5')\n");
  });

  test('different class counts: exit 2 naming both counts without labels; matched by label with them', async () => {
    const unlabelled = path.join(dir, 'twelve');
    const labelled = path.join(dir, 'twelve-labelled');
    await saveTwelveClassModel(unlabelled, false);
    await saveTwelveClassModel(labelled, true);
    const one = path.join(SAMPLES, 'digit-00-0.png');
    const r = runCli(['diff', '--backend', 'wasm', '--base', GAP_CNN, '--head', unlabelled, one]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`tfjs-cam: error: the base model (${GAP_CNN}) has 10 classes and the head model (${unlabelled}) has 12: classes can only be matched by label, and the head model (${unlabelled}) has none (give labels in its tfjs-cam.json)\n`);
    const l = await diff([one], { base: GAP_CNN, head: labelled, backend: 'wasm' });
    expect(l.classMatch).toBe('label');
    expect(l.notes).toEqual([`the base model (${GAP_CNN}) has 10 classes and the head model (${labelled}) 12: classes matched by label; only in the head: '10', '11'`]);
    expect(l.images[0].comparisons![0].class!.label).toBe(l.images[0].base!.top[0].label);
  });

  test('an image that cannot be read fails, is counted, and the run goes on (exit 1)', () => {
    const folder = path.join(dir, 'some');
    fs.mkdirSync(folder, { recursive: true });
    fs.copyFileSync(path.join(SAMPLES, 'digit-01-1.png'), path.join(folder, 'a.png'));
    fs.writeFileSync(path.join(folder, 'b.png'), 'not a png');
    fs.copyFileSync(path.join(SAMPLES, 'digit-02-2.png'), path.join(folder, 'c.png'));
    const r = diffJson(['--base', GAP_CNN, '--head', models.uint8, folder, '--min-correlation', '0.9']);
    expect(r.code).toBe(1);
    expect(r.report.summary).toMatchObject({ images: 3, compared: 2, passed: 2, failed: 0, errors: 1 });
    expect(r.report.images.map((i) => [path.basename(i.file), i.status])).toEqual([['a.png', 'pass'], ['b.png', 'error'], ['c.png', 'pass']]);
    expect(r.report.images[1].error).toBe('not an image or unsupported format');
  });

  test('a model that is not there (CLI: exit 2), a layer one side lacks, a class the base does not have', async () => {
    const missing = runCli(['diff', '--base', GAP_CNN, '--head', path.join(dir, 'nope'), SAMPLES]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^tfjs-cam: error: --head .*nope.*\n$/);
    const resnet = path.join(path.dirname(GAP_CNN), 'resnet-bn');
    await expect(diff([SAMPLES], { base: GAP_CNN, head: resnet, layers: ['conv5'], backend: 'wasm' })).rejects.toThrow(
      /^--head: .*no layer named 'conv5'.* \(--layer applies to both models; give each its own with --base-layer and --head-layer\)$/,
    );
    await expect(diff([SAMPLES], { base: GAP_CNN, head: models.uint8, classes: ['12'], backend: 'wasm' })).rejects.toThrow(/^class 12 is out of range: the base model has 10 classes \(0\.\.9\)$/);
  });
});
