// tfjs-cam concepts on the shipped GAP model and samples: one concept per digit shown, each concept's map on its
// digit (the box of samples/boxes.json), the same concepts.json for the same seed, bad input as one line, exit 2.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { ROOT, runCli, tempDir } from '../helpers/cli';
import { initBackend } from '../../src/backend';
import { loadModel } from '../../src/pipeline/load-model';
import { concepts } from '../../src/pipeline/concepts';

let dir: string;
beforeAll(() => {
  dir = tempDir('concepts');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const IMAGES = ['samples/digit-03-3.png', 'samples/digit-07-7.png', 'samples/digit-01-1.png'];

test('three digits, k 3: a concept per digit, named by its class, mapped onto that digit; pictures with a legend; deterministic', async () => {
  const out = path.join(dir, 'a');
  const r = runCli(['concepts', ...IMAGES, '-m', 'models/gap-cnn', '-k', '3', '-o', out]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'concepts.json'), 'utf8'));
  expect(report.layer).toBe('conv5');
  expect(report.concepts).toHaveLength(3);
  // Each digit's class is the top class of exactly one concept.
  const tops = report.concepts.map((c: { classes: { label: string }[] }) => c.classes[0].label).sort();
  expect(tops).toEqual(['1', '3', '7']);
  expect(report.images.map((i: { picture: string }) => i.picture)).toEqual(['digit-03-3.concepts.png', 'digit-07-7.concepts.png', 'digit-01-1.concepts.png']);
  const meta = await sharp(path.join(out, 'digit-03-3.concepts.png')).metadata();
  expect([meta.width, meta.height]).toEqual([320 + 200, 320]);
  // The library, in this process, finds the same concepts (deterministic for the seed, the same on both surfaces),
  // and the concept whose top class is an image's digit peaks inside that digit's box.
  await initBackend('wasm');
  const boxes = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'boxes.json'), 'utf8')).images;
  const model = await loadModel(path.join(ROOT, 'models', 'gap-cnn'));
  try {
    const { report: rep, result } = await concepts(IMAGES.map((f) => path.join(ROOT, f)), { model, k: 3, out: null });
    expect(rep.concepts).toEqual(report.concepts);
    expect(rep.relativeError).toBe(report.relativeError);
    IMAGES.forEach((file, i) => {
      const digit = path.basename(file).split('-')[2][0];
      const j = rep.concepts.findIndex((c) => c.classes[0].label === digit);
      const map = result.maps[i][j];
      let best = 0;
      map.forEach((v, p) => (v > map[best] ? (best = p) : 0));
      const b = boxes[path.basename(file)].boxes[0];
      const [x, y] = [(best % 64) + 0.5, Math.floor(best / 64) + 0.5];
      expect(x >= b.x && x <= b.x + b.width && y >= b.y && y <= b.y + b.height).toBe(true);
    });
  } finally {
    model.dispose();
  }
});

test('bad input: one line, exit 2', () => {
  const out = path.join(dir, 'never');
  const cases: [string[], string][] = [
    [['samples/digit-03-3.png', '-m', 'models/gap-cnn', '-k', '0'], "-k must be a whole number >= 1 (got '0')"],
    [['samples/digit-03-3.png', '-m', 'models/flatten-dense'], "concepts need a head after 'conv4' that pools and then applies linear layers, to name each concept's classes: 'pool4' (MaxPooling2D) takes a maximum, which is not linear"],
    [['samples/nope.png', '-m', 'models/gap-cnn'], 'samples/nope.png: no such file or folder'],
  ];
  for (const [args, message] of cases) {
    const r = runCli(['concepts', ...args, '-o', out]);
    expect(r.stderr).toBe(`tfjs-cam: error: ${message}\n`);
    expect(r.code).toBe(2);
  }
  expect(fs.existsSync(out)).toBe(false);
});
