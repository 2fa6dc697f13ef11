// Output names are unique per (input file, method, class), and the output folder is never read as input.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { tempDir } from '../helpers/cli';
import { listFiles, saveModel, smallCnn, spotPng } from '../faults/fixtures';

let dir: string;
let model: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('names');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'), { labels: ['ant', 'bee', 'cat', 'dog'] });
  for (const d of ['one', 'two']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, 'one', 'c.png'), await spotPng(40, 30, 10, 10));
  fs.writeFileSync(path.join(dir, 'one', 'c.webp'), await sharp(await spotPng(40, 30, 30, 20)).webp({ lossless: true }).toBuffer());
  fs.writeFileSync(path.join(dir, 'two', 'c.png'), await spotPng(50, 50, 40, 40));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const overlays = (report: Awaited<ReturnType<typeof explain>>['report']) => report.images.flatMap((i) => (i.maps ?? []).map((m) => m.files.overlay!));

test('same stems, two folders with the same file name, a file given twice, a class given twice: one file each, none fails', async () => {
  const out = path.join(dir, 'out');
  const one = path.join(dir, 'one');
  const inputs = [one, path.join(dir, 'two'), path.join(one, 'c.png')];
  for (const force of [false, true]) {
    const { report } = await explain(inputs, { model, out, force, classes: [1, 'bee', '2'], jobs: 1, timings: false });
    expect(report.images.map((i) => [path.relative(dir, i.file), i.status, i.error])).toEqual([
      ['one/c.png', 'ok', undefined],
      ['one/c.webp', 'ok', undefined],
      ['two/c.png', 'ok', undefined],
    ]);
    const files = overlays(report);
    expect(files).toEqual([
      'one/c.png.gradcam.1-bee.png', 'one/c.png.gradcam.2-cat.png',
      'one/c.webp.gradcam.1-bee.png', 'one/c.webp.gradcam.2-cat.png',
      'two/c.gradcam.1-bee.png', 'two/c.gradcam.2-cat.png',
    ]);
    // Each overlay has its own image's size: nothing was overwritten by another image.
    const sizes = await Promise.all(files.map(async (f) => (await sharp(path.join(out, f)).metadata()).width));
    expect(sizes).toEqual([40, 40, 40, 40, 50, 50]);
  }
  expect(listFiles(out).filter((f) => f.endsWith('.png'))).toHaveLength(6);
});

test('one folder keeps its plain layout (stems without extension)', async () => {
  const { report } = await explain([path.join(dir, 'two')], { model, out: path.join(dir, 'out-plain'), topK: 1, jobs: 1 });
  expect(overlays(report)[0]).toMatch(/^c\.gradcam\.\d-[a-z]+\.png$/);
});

test('an output folder inside the input folder is never read: a second run explains the same images', async () => {
  const src = path.join(dir, 'two');
  const out = path.join(src, 'cam');
  for (let run = 0; run < 2; run++) {
    const { report } = await explain([src], { model, out, topK: 1, jobs: 1, force: run > 0 });
    expect(report.images.map((i) => path.relative(dir, i.file))).toEqual(['two/c.png']);
  }
  fs.rmSync(out, { recursive: true });
});

test('--out equal to an input folder that holds images is refused before anything is written', async () => {
  const src = path.join(dir, 'two');
  await expect(explain([src], { model, out: src, topK: 1, jobs: 1 })).rejects.toThrow(/the output folder is an input folder that holds images/);
  expect(fs.readdirSync(src)).toEqual(['c.png']);
});

test('collectImages: same-named files from two folders get -2; a folder given twice is walked once', async () => {
  const { collectImages } = await import('../../src/batch/walk');
  const a = path.join(dir, 'one', 'c.png');
  const b = path.join(dir, 'two', 'c.png');
  const { jobs } = collectImages([a, b, path.join(dir, 'two'), path.join(dir, 'two')]);
  expect(jobs.map((j) => [path.relative(dir, j.file), j.stem])).toEqual([
    ['one/c.png', 'c'],
    ['two/c.png', 'c-2'],
  ]);
});
