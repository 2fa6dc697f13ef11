// Bad and awkward images in one batch: each bad one is one FAIL line naming it and what is wrong, the rest are
// explained, the summary counts both, inputs are untouched and failed images leave no outputs.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend';
import { decodeNpy } from '../../src/report/npy';
import { CliResult, tempDir } from '../helpers/cli';
import { badCrcPng, handPng, hugeBilevelPng, listFiles, noiseRaw, rgbRaw, saveModel, smallCnn, snapshot, spotPng } from './fixtures';
import { failLine, runCli } from './cli';

let dir: string;
let model: string;
let inDir: string;
let out: string;
let r: CliResult;
let report: any;
let inputsBefore: Record<string, string>;

const BAD: Record<string, RegExp> = {
  'empty.png': /^empty file$/,
  'truncated.jpg': /^truncated or corrupt image data$/,
  'bad-crc.png': /^truncated or corrupt image data$/,
  'text.png': /^not an image or unsupported format$/,
  'huge.png': /^image is 20000x20000 = 400000000 pixels, over the limit of 100000000$/,
};
const GOOD = ['one.png', 'gray.png', 'rgba.png', 'deep16.png', 'cmyk.jpg', 'exif6.jpg', 'anim.gif', 'z-good.png'];

async function writeImages(): Promise<void> {
  const w = (name: string, data: Buffer | string) => fs.writeFileSync(path.join(inDir, name), data);
  w('empty.png', '');
  const jpg = await sharp(noiseRaw(96, 64), { raw: { width: 96, height: 64, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  w('truncated.jpg', jpg.subarray(0, Math.floor(jpg.length * 0.6)));
  w('bad-crc.png', await badCrcPng());
  w('text.png', 'this is a text file, not a PNG\n');
  w('huge.png', hugeBilevelPng(20000, 20000)); // valid, ~50 kB, 400 megapixels
  w('one.png', await sharp(Buffer.from([200, 10, 10]), { raw: { width: 1, height: 1, channels: 3 } }).png().toBuffer());
  w('gray.png', await sharp(rgbRaw(30, 20, (x, y) => [x * 8, x * 8, x * 8]), { raw: { width: 30, height: 20, channels: 3 } }).toColourspace('b-w').png().toBuffer());
  // Fully transparent black: flattened onto white, the model must see white.
  w('rgba.png', await sharp(Buffer.alloc(24 * 16 * 4, 0), { raw: { width: 24, height: 16, channels: 4 } }).png().toBuffer());
  // 16-bit samples whose high bytes are the 8-bit picture 'gray8' below (the decoder keeps the high byte).
  const g8 = Array.from({ length: 20 * 12 }, (_, i) => (i * 7) % 256);
  w('deep16.png', handPng({ width: 20, height: 12, bitDepth: 16, colorType: 0, samples: g8.map((v) => v * 256 + 3) }));
  w('deep8.png.ref', handPng({ width: 20, height: 12, bitDepth: 8, colorType: 0, samples: g8 }));
  w('cmyk.jpg', await sharp(rgbRaw(32, 24, () => [120, 140, 160]), { raw: { width: 32, height: 24, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer());
  // Stored 40 wide x 20 high, bright block at the stored left; orientation 6 shows it 20 x 40 with the block on top.
  const stored = rgbRaw(40, 20, (x) => (x < 12 ? [250, 250, 250] : [20, 20, 20]));
  w('exif6.jpg', await sharp(stored, { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer());
  const frames = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const raw = Buffer.concat(frames.map((c) => Buffer.from(Array.from({ length: 10 * 8 }, () => [...c, 255]).flat())));
  w('anim.gif', await sharp(raw, { raw: { width: 10, height: 24, channels: 4, pageHeight: 8 } }).gif({ loop: 0, delay: [100, 100, 100] }).toBuffer());
  w('z-good.png', await spotPng(40, 30));
}

const entry = (name: string) => report.images.find((i: { file: string }) => path.basename(i.file) === name);
const outputsOf = (name: string) => listFiles(out).filter((f) => f.startsWith(name.replace(/\.[^.]+$/, '') + '.'));

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('faults-images');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  inDir = path.join(dir, 'in');
  fs.mkdirSync(inDir);
  fs.mkdirSync(path.join(dir, 'no-images'));
  fs.writeFileSync(path.join(dir, 'no-images', 'notes.txt'), 'no pictures here');
  await writeImages();
  inputsBefore = snapshot(inDir);
  out = path.join(dir, 'out');
  // --alpha 0: each overlay is then exactly the image as decoded, so orientation and frames can be checked.
  r = runCli(['explain', inDir, path.join(dir, 'missing.png'), path.join(dir, 'no-images'), '-m', model, '-o', out, '-k', '2', '--alpha', '0', '--save-input']);
  report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the batch went on past every bad file: exit 1, every image counted, inputs untouched', () => {
  expect(r.code).toBe(1);
  const failed = Object.keys(BAD).length + 2; // + the missing path and the folder without images
  const n = GOOD.length + failed;
  expect(r.stdout).toMatch(new RegExp(`^${n} images: ${GOOD.length} explained, ${failed} failed`, 'm'));
  expect(report.summary).toEqual({ images: n, succeeded: GOOD.length, failed });
  for (const g of GOOD) expect(entry(g)?.status).toBe('ok');
  expect(snapshot(inDir)).toEqual(inputsBefore);
  expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
});

test.each(Object.entries(BAD))('%s: one line naming the file and what is wrong, no outputs', (name, re) => {
  const file = path.join(inDir, name);
  expect(failLine(r, file)).toMatch(re);
  expect(entry(name)).toEqual({ file, status: 'error', error: expect.stringMatching(re) });
  expect(outputsOf(name)).toEqual([]);
});

test('a missing path and a folder with no images are failures of their own, named', () => {
  expect(failLine(r, path.join(dir, 'missing.png'))).toBe('no such file or folder');
  expect(failLine(r, path.join(dir, 'no-images'))).toMatch(/^no images in this folder \(looked for \.jpg .*\)$/);
});

test('only a missing path: exit 1, one line, no output folder made', () => {
  const o = path.join(dir, 'out-missing');
  const m = runCli(['explain', path.join(dir, 'nothing-here.jpg'), '-m', model, '-o', o]);
  expect(m.code).toBe(1);
  expect(failLine(m, path.join(dir, 'nothing-here.jpg'))).toBe('no such file or folder');
  expect(m.stdout).toMatch(/1 image: 0 explained, 1 failed/);
  expect(fs.existsSync(o)).toBe(false);
});

test('no temp files anywhere, every output PNG decodes fully', async () => {
  const files = listFiles(out);
  expect(files.filter((f) => /\.tmp$|^\.|\/\./.test(f))).toEqual([]);
  for (const f of files.filter((x) => x.endsWith('.png'))) await sharp(path.join(out, f), { failOn: 'truncated' }).raw().toBuffer();
});

test('1x1 image: explained, overlay 1x1', async () => {
  const e = entry('one.png');
  expect([e.width, e.height]).toEqual([1, 1]);
  const meta = await sharp(path.join(out, e.maps[0].files.overlay)).metadata();
  expect([meta.width, meta.height]).toEqual([1, 1]);
});

test('RGBA: alpha flattened onto white (the model input is all white), hadAlpha reported', () => {
  const e = entry('rgba.png');
  expect(e.source.hadAlpha).toBe(true);
  const x = decodeNpy(fs.readFileSync(path.join(out, e.files.input)));
  expect(Array.from(new Set(x.data))).toEqual([1]); // scale 0..1: white is 1 everywhere
});

test('16-bit PNG gives the model the same input as its 8-bit version; grayscale and CMYK are explained', () => {
  const ref = runCli(['explain', path.join(inDir, 'deep8.png.ref'), '-m', model, '-o', path.join(dir, 'out-ref'), '-k', '1', '--save-input', '--json']);
  expect(ref.code).toBe(0);
  const refInput = JSON.parse(ref.stdout).images[0].files.input;
  const a = decodeNpy(fs.readFileSync(path.join(out, entry('deep16.png').files.input)));
  const b = decodeNpy(fs.readFileSync(path.join(dir, 'out-ref', refInput)));
  expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
  expect(entry('gray.png').source.format).toBe('png');
  expect(entry('cmyk.jpg').source.format).toBe('jpeg');
  expect(entry('cmyk.jpg').maps).toHaveLength(2);
});

test('EXIF orientation 6: width and height as a viewer shows them, and the overlay is the turned image', async () => {
  const e = entry('exif6.jpg');
  expect([e.width, e.height]).toEqual([20, 40]);
  expect(e.source.orientation).toBe(6);
  const overlay = await sharp(path.join(out, e.maps[0].files.overlay)).raw().toBuffer({ resolveWithObject: true });
  expect([overlay.info.width, overlay.info.height]).toEqual([20, 40]);
  const viewed = await sharp(path.join(inDir, 'exif6.jpg')).rotate().raw().toBuffer({ resolveWithObject: true });
  expect([viewed.info.width, viewed.info.height]).toEqual([20, 40]);
  expect(overlay.data.equals(viewed.data)).toBe(true);
  // The block stored at the left is on top once turned: the top rows are bright, the bottom rows dark.
  expect(overlay.data[(2 * 20 + 10) * 3]).toBeGreaterThan(200);
  expect(overlay.data[(35 * 20 + 10) * 3]).toBeLessThan(60);
  // The peak is in the viewed image's coordinates.
  for (const m of e.maps) {
    expect(m.peak.x).toBeLessThanOrEqual(20);
    expect(m.peak.y).toBeLessThanOrEqual(40);
  }
});

test('animated GIF: the first frame only, and the report says how many frames there were', async () => {
  const e = entry('anim.gif');
  expect(e.source).toMatchObject({ format: 'gif', pages: 3 });
  expect([e.width, e.height]).toEqual([10, 8]);
  const overlay = await sharp(path.join(out, e.maps[0].files.overlay)).raw().toBuffer();
  for (let i = 0; i < overlay.length; i += 3) expect([overlay[i], overlay[i + 1], overlay[i + 2]]).toEqual([255, 0, 0]);
});
