// What the console says: one ok-line per image with each class once, lines in input order whatever order images
// finish in, readable file names for gradcam++, and examples at the end of every command's --help.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { tempDir } from '../helpers/cli';
import { saveModel, smallCnn, spotPng, noise } from '../faults/fixtures';
import { runCli } from '../faults/cli';
import sharp from 'sharp';

let dir: string;
let model: string;
let inDir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('console');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'), { labels: ['ant', 'bee', 'cat', 'dog'] });
  inDir = path.join(dir, 'in');
  fs.mkdirSync(inDir);
  // a.png is big (slow to decode and draw); b, c, d are tiny: with two workers they finish first.
  await sharp(noise(1400, 1000, 3), { raw: { width: 1400, height: 1000, channels: 3 } }).png({ compressionLevel: 1 }).toFile(path.join(inDir, 'a.png'));
  for (const n of ['b', 'c', 'd']) fs.writeFileSync(path.join(inDir, `${n}.png`), await spotPng(20, 20));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('several methods: each class once on the ok-line; lines in input order with -j 2; gradcam++ files are gradcam-pp', () => {
  const out = path.join(dir, 'out');
  const r = runCli(['explain', inDir, '-m', model, '-o', out, '--method', 'gradcam,gradcam++', '-k', '2', '-j', '2', '--no-sheet']);
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines.slice(0, 4).map((l) => path.basename(l.split(':')[0]))).toEqual(['a.png', 'b.png', 'c.png', 'd.png']);
  for (const l of lines.slice(0, 4)) {
    const labels = l.replace(/^ok +[^:]+: /, '').split(', ').map((c) => c.replace(/ \(.*$/, ''));
    expect(labels).toHaveLength(2); // two classes, not two per method
    expect(new Set(labels).size).toBe(2);
  }
  const files = fs.readdirSync(out);
  expect(files.filter((f) => f.startsWith('b.gradcam-pp.'))).toHaveLength(2);
  expect(files.filter((f) => f.includes('gradcampp'))).toEqual([]);
});

test('every command --help ends with examples', () => {
  for (const cmd of ['explain', 'evaluate', 'inspect', 'check']) {
    const r = runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    const tail = r.stdout.trim().split('\n');
    const at = tail.indexOf('Examples:');
    expect(at).toBeGreaterThan(0);
    expect(tail.length - at - 1).toBeGreaterThanOrEqual(2);
    expect(tail.slice(at + 1).every((l) => l.startsWith(`  $ tfjs-cam ${cmd} `))).toBe(true);
  }
});
