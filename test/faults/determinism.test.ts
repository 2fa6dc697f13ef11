// Two runs on the same inputs give byte-identical files and the same report apart from timings;
// --no-timings makes the report itself byte-identical.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend';
import { tempDir } from '../helpers/cli';
import { listFiles, rgbRaw, saveModel, smallCnn, spotPng } from './fixtures';
import { runCli } from './cli';

let dir: string;
let model: string;
let inDir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('faults-determinism');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'), { labels: ['ant', 'bee', 'cat', 'dog'] });
  inDir = path.join(dir, 'in');
  fs.mkdirSync(path.join(inDir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(inDir, 'a.png'), await spotPng(50, 40, 12, 10));
  fs.writeFileSync(path.join(inDir, 'sub', 'b.jpg'), await sharp(rgbRaw(37, 29, (x, y) => [(x * 7) % 256, (y * 9) % 256, 90]), { raw: { width: 37, height: 29, channels: 3 } }).jpeg().withMetadata({ orientation: 3 }).toBuffer());
  fs.writeFileSync(path.join(inDir, 'sub', 'c.png'), await sharp(rgbRaw(20, 20, (x) => [x * 12, 0, 0]), { raw: { width: 20, height: 20, channels: 3 } }).ensureAlpha(0.5).png().toBuffer());
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// Several methods, one of them seeded-random (Smooth Grad-CAM++), every kind of output file.
const args = (out: string, extra: string[] = []) => [
  'explain', inDir, '-m', model, '-o', out, '-k', '2', '--method', 'gradcam,gradcam++,smoothgradcam++', '--noise-samples', '3',
  '--heatmap', '--save-raw', '--save-input', ...extra,
];

function withoutTimings(report: any): any {
  const r = structuredClone(report);
  delete r.timings;
  for (const i of r.images) delete i.timings;
  return r;
}

test('two runs: byte-identical output files, identical reports apart from timings', () => {
  const one = path.join(dir, 'one');
  const two = path.join(dir, 'two');
  expect(runCli(args(one)).code).toBe(0);
  expect(runCli(args(two)).code).toBe(0);
  const files = listFiles(one);
  expect(files).toEqual(listFiles(two));
  expect(files.filter((f) => f.endsWith('.png')).length).toBeGreaterThanOrEqual(3 * 3 * 2 * 2); // images x methods x classes x (overlay, heatmap)
  for (const f of files) {
    if (f === 'report.json') continue;
    expect([f, fs.readFileSync(path.join(one, f)).equals(fs.readFileSync(path.join(two, f)))]).toEqual([f, true]);
  }
  const a = JSON.parse(fs.readFileSync(path.join(one, 'report.json'), 'utf8'));
  const b = JSON.parse(fs.readFileSync(path.join(two, 'report.json'), 'utf8'));
  expect(a.timings).toBeDefined();
  expect(a.images[0].timings).toBeDefined();
  expect(a.output.dir).toBe(one);
  b.output.dir = one;
  expect(withoutTimings(a)).toEqual(withoutTimings(b));
});

test('--no-timings: the report holds no timing at all and is byte-identical between runs', () => {
  const out = path.join(dir, 'stable');
  expect(runCli(args(out, ['--no-timings'])).code).toBe(0);
  const first = fs.readFileSync(path.join(out, 'report.json'));
  expect(first.toString()).not.toMatch(/timings|Ms"/);
  expect(runCli(args(out, ['--no-timings', '--force'])).code).toBe(0);
  expect(fs.readFileSync(path.join(out, 'report.json')).equals(first)).toBe(true);
  // --json prints the same report.
  const printed = runCli(args(path.join(dir, 'stable2'), ['--no-timings', '--json']));
  const p = JSON.parse(printed.stdout);
  p.output.dir = out;
  expect(JSON.stringify(p, null, 2) + '\n').toBe(first.toString());
});
