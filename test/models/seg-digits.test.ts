// The shipped segmentation model (models/seg-digits, scripts/train-segmenter.ts) on its held-out samples
// (samples/.segments): it segments the digits, and Grad-CAM of a digit's segment (seg:<digit>@<its mask>) points into
// that digit's segment rather than the other digit's (the pointing game, >= 0.9). Also through the CLI, once.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadModel } from '../../src/pipeline/load-model';
import { explain } from '../../src/pipeline/explain';
import { decodeImage } from '../../src/image/decode';
import type { LoadedModel } from '../../src/model/load';
import { ROOT, runCli, tempDir } from '../helpers/cli';

const DIR = path.join(ROOT, 'samples', '.segments');
interface Segment { label: string; classIndex: number; mask: string; box: { x: number; y: number; width: number; height: number } }
const index: { images: { image: string; segments: Segment[] }[] } = JSON.parse(fs.readFileSync(path.join(DIR, 'segments.json'), 'utf8'));

let model: LoadedModel;
beforeAll(async () => {
  await initBackend('wasm');
  model = await loadModel(path.join(ROOT, 'models', 'seg-digits'));
});
afterAll(() => model.dispose());

const inBox = (x: number, y: number, b: Segment['box']) => x >= b.x && x <= b.x + b.width && y >= b.y && y <= b.y + b.height;

test('it is read as a segmentation model, and predicts each held-out digit over most of its segment', async () => {
  const c = model.classifier;
  expect(c.segmentation).toEqual({ height: 16, width: 16, classes: 11 });
  let right = 0, total = 0;
  for (const { image, segments } of index.images) {
    const img = await decodeImage(path.join(DIR, image));
    const x = tf.tensor4d(Float32Array.from({ length: 64 * 64 }, (_, p) => img.data[p * 3] / 255), [1, 64, 64, 1]);
    const view = c.outputView!(null);
    const out = tf.tidy(() => view.predict(x).dataSync());
    view.dispose();
    x.dispose();
    for (const s of segments) {
      const mask = await decodeImage(path.join(DIR, s.mask));
      // Output block (i, j) covers canvas pixels 4i..4i+3: judged at its centre, as the tool reads masks.
      for (let b = 0; b < 256; b++) {
        const [i, j] = [Math.floor(b / 16), b % 16];
        if (mask.data[((4 * i + 2) * 64 + 4 * j + 2) * 3] < 128) continue;
        const row = Array.from(out.slice(b * 11, b * 11 + 11));
        total++;
        if (row.indexOf(Math.max(...row)) === s.classIndex) right++;
      }
    }
  }
  // 524 of 596 (88%) when the model was trained.
  expect(right / total).toBeGreaterThan(0.8);
});

test('pointing game: Grad-CAM of seg:<digit>, with its mask or the predicted one, peaks inside that digit\'s segment (>= 0.9)', async () => {
  let hits = 0, total = 0, predictedHits = 0;
  for (const { image, segments } of index.images) {
    const targets = segments.map((s) => `seg:${s.label}@${path.join(DIR, s.mask)}`);
    const { report } = await explain([path.join(DIR, image)], { model, method: 'gradcam', targets: [...targets, ...segments.map((s) => `seg:${s.label}`)], out: null });
    const maps = report.images[0].maps!;
    segments.forEach((s, i) => {
      total++;
      const peak = maps[i].peak;
      if (peak && inBox(peak.x, peak.y, s.box)) hits++;
      const p2 = maps[segments.length + i].peak;
      if (p2 && inBox(p2.x, p2.y, s.box)) predictedHits++;
    });
  }
  expect(total).toBe(2 * index.images.length);
  // 23 of 24 with either mask when the model was trained.
  expect(hits / total).toBeGreaterThanOrEqual(0.9);
  expect(predictedHits / total).toBeGreaterThanOrEqual(0.9);
});

test('the CLI: seg:<label> with the predicted segment, files named after the class', () => {
  const out = tempDir('seg');
  try {
    const r = runCli(['explain', 'samples/.segments/canvas-00.png', '-m', 'models/seg-digits', '--target', `seg:${index.images[0].segments[0].label}`, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const s = index.images[0].segments[0];
    expect(report.images[0].maps[0].target).toEqual({ spec: `seg:${s.classIndex}`, label: `${s.label} (segment)` });
    expect(fs.existsSync(path.join(out, `canvas-00.gradcam.seg-${s.classIndex}-${s.label}.png`))).toBe(true);
    const peak = report.images[0].maps[0].peak;
    expect(inBox(peak.x, peak.y, s.box)).toBe(true);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
