// A check spec's `diff` section: parsing (the baseline, its thresholds under `expect`, their problems), and running
// it against the shipped gap-cnn: its uint8 copy holds, a copy with its last block shuffled fails, with the same
// numbers `tfjs-cam diff` gives for the same class.
import * as fs from 'fs';
import * as path from 'path';
import { check } from '../../src/check/run';
import { parseCheckSpec, SpecError, formatIssue } from '../../src/check/spec';
import { diff } from '../../src/pipeline/diff';
import { initBackend } from '../../src/backend';
import { runCli, tempDir } from '../helpers/cli';
import { GAP_CNN, SAMPLES, writeVariants } from '../diff/fixtures';

let dir: string;
let models: ReturnType<typeof writeVariants>;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('check-diff');
  models = writeVariants(dir);
  // Six samples beside the spec, so that fields sit at the same columns wherever the project is.
  fs.mkdirSync(path.join(dir, 'img'));
  for (const f of fs.readdirSync(SAMPLES).filter((x) => /^digit-0[0-5]/.test(x))) fs.copyFileSync(path.join(SAMPLES, f), path.join(dir, 'img', f));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function problems(text: string): string[] {
  try {
    parseCheckSpec(text, path.join(dir, 'spec.yaml'));
  } catch (e) {
    if (e instanceof SpecError) return e.issues.map((i) => formatIssue({ ...i, file: path.basename(i.file) }));
    throw e;
  }
  return [];
}

const IMAGES = 'img/*.png';

test('the baseline resolves relative to the spec; a case may name its own; pixels or a share for maxPeakShift', () => {
  const spec = parseCheckSpec(
    [
      'diff: {baseline: gap-cnn-uint8}',
      `model: ${path.relative(dir, GAP_CNN)}`,
      'cases:',
      `  - {images: "${IMAGES}", expect: {minCorrelation: 0.9, maxPeakShift: 0.1, maxFlips: 0, maxProbabilityDrop: 0.2}}`,
      `  - {images: "${IMAGES}", diff: {baseline: gap-cnn-float16, layer: conv5}, expect: {maxPeakShift: 12px}}`,
    ].join('\n'),
    path.join(dir, 'spec.yaml'),
  );
  expect(spec.cases[0].diff).toEqual({ baseline: models.uint8 });
  expect(spec.cases[0].expect).toMatchObject({ minCorrelation: 0.9, maxPeakShift: 0.1, maxFlips: 0, maxProbabilityDrop: 0.2 });
  expect(spec.cases[1].diff).toEqual({ baseline: models.float16, layers: ['conv5'] });
  expect(spec.cases[1].expect.maxPeakShiftPx).toBe(12);
  expect(spec.cases[1].images).toHaveLength(6);
});

test('thresholds without a baseline, out of range or malformed, and a missing baseline: each named with its place', () => {
  fs.cpSync(GAP_CNN, path.join(dir, 'base'), { recursive: true });
  const model = 'base';
  expect(problems(`model: ${model}\ncases:\n  - {images: "${IMAGES}", expect: {minCorrelation: 0.9}}\n`)).toEqual([
    'spec.yaml:3:36: cases[0].expect.minCorrelation: needs a baseline to compare with (diff: {baseline: <model>})',
  ]);
  expect(problems(`model: ${model}\ndiff: {baseline: gap-cnn-uint8}\ncases:\n  - {images: "${IMAGES}", expect: {minCorrelation: 1.2, maxPeakShift: 2, maxFlips: -1}}\n`)).toEqual([
    'spec.yaml:4:52: cases[0].expect.minCorrelation: must be at most 1',
    "spec.yaml:4:71: cases[0].expect.maxPeakShift: must be at most 1",
    'spec.yaml:4:84: cases[0].expect.maxFlips: must be at least 0',
  ]);
  expect(problems(`model: ${model}\ndiff: {baseline: gap-cnn-uint8}\ncases:\n  - {images: "${IMAGES}", expect: {maxPeakShift: 12 px wide}}\n`)).toEqual([
    "spec.yaml:4:50: cases[0].expect.maxPeakShift: must be a share of the image's diagonal (0..1) or pixels as '12px'",
  ]);
  expect(problems(`model: ${model}\ndiff: {baseline: nope}\ncases:\n  - {images: "${IMAGES}", expect: {minCorrelation: 0.5}}\n`)).toEqual([
    `spec.yaml:2:18: diff.baseline: no such model folder or file: nope (relative to ${dir})`,
  ]);
});

test('run: the uint8 copy holds, the shuffled one fails; numbers as `diff` gives them for the same class', async () => {
  const spec = parseCheckSpec(
    [
      `diff: {baseline: ${path.relative(dir, GAP_CNN)}}`,
      'cases:',
      `  - {name: uint8, model: gap-cnn-uint8, images: "${IMAGES}", class: 3, expect: {minCorrelation: 0.95, maxPeakShift: 0.05, maxFlips: 0, maxProbabilityDrop: 0.05}}`,
      `  - {name: shuffled, model: gap-cnn-shuffled, images: "${IMAGES}", class: 3, expect: {minCorrelation: 0.8, maxFlips: 0}}`,
    ].join('\n'),
    path.join(dir, 'spec.yaml'),
  );
  const report = await check(spec, { out: null, backend: 'wasm', timings: false });
  const uint8 = report.results.filter((r) => r.case === 0);
  const shuffled = report.results.filter((r) => r.case === 1);
  expect(uint8.map((r) => r.status)).toEqual(Array(6).fill('pass'));
  expect(Math.min(...uint8.map((r) => r.diff!.correlation))).toBeGreaterThan(0.95);
  expect(shuffled.filter((r) => r.status === 'fail').length).toBeGreaterThanOrEqual(4);
  const flips = shuffled.filter((r) => r.diff!.flipped).length;
  expect(flips).toBeGreaterThan(0);
  for (const r of shuffled.filter((x) => x.diff!.flipped)) {
    expect(r.failures.map((f) => f.message)).toContain(`top-1 flipped: '${r.diff!.baselineTop!.label}' under the baseline, '${r.top![0].label}' now (${flips} images flipped, at most 0 allowed)`);
  }
  // The same comparison through `diff` (base = the baseline, head = the case's model, class 3).
  const d = await diff([path.join(dir, 'img')], { base: GAP_CNN, head: models.shuffled, classes: [3], backend: 'wasm', timings: false });
  for (const r of shuffled) {
    const img = d.images.find((i) => path.basename(i.file) === path.basename(r.file))!;
    const c = img.comparisons![0];
    expect(r.diff!.correlation).toBe(c.correlation);
    expect(r.diff!.iou).toBe(c.iou);
    expect(r.diff!.peakShift).toEqual(c.peakShift);
    expect(r.diff!.probabilityChange).toBe(c.probabilityChange);
    expect(r.diff!.flipped).toBe(img.flipped);
  }
});

test('CLI: exit 1 with a shuffled head, the CORR column, JUnit with the comparison', () => {
  fs.writeFileSync(
    path.join(dir, 'cli.yaml'),
    [`diff: {baseline: ${path.relative(dir, GAP_CNN)}}`, 'cases:', `  - {name: shuffled, model: gap-cnn-shuffled, images: "${IMAGES}", expect: {minCorrelation: 0.8}}`].join('\n'),
  );
  const junit = path.join(dir, 'check.xml');
  const r = runCli(['check', path.join(dir, 'cli.yaml'), '--backend', 'wasm', '--overlays', 'none', '--junit', junit]);
  expect(r.code).toBe(1);
  expect(r.stdout.split('\n')[0]).toMatch(/IOU\s+CORR$/);
  expect(r.stdout).toMatch(/- correlation -?[\d.]+ < 0\.8 \(gradcam map of '\d'\)/);
  expect(fs.readFileSync(junit, 'utf8')).toMatch(/diff with [^:]*gap-cnn: correlation -?[\d.]+, IoU [\d.]+/);
});
