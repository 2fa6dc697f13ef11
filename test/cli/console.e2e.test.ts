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

// A file name may hold a newline, a tab or an escape: the console shows it escaped, one line per image (a raw
// newline split the line, an escape could recolour the terminal); the JSON report keeps the real name.
test('control characters in names are escaped in every console line; the JSON keeps them; --json keeps FAIL lines', () => {
  const odd = path.join(dir, 'odd');
  fs.mkdirSync(odd);
  const names = ['new\nline.png', 'tab\there.png', 'esc\x1b[2Jape.png'];
  for (const n of names) fs.copyFileSync(path.join(inDir, 'b.png'), path.join(odd, n));
  fs.writeFileSync(path.join(odd, 'broken\nfile.png'), 'not a picture');
  const r = runCli(['explain', odd, '-m', model, '-o', path.join(dir, 'out-odd'), '-k', '1', '-j', '1']);
  expect(r.code).toBe(1);
  const okLines = r.stdout.split('\n').filter((l) => l.startsWith('ok '));
  expect(okLines.map((l) => path.basename(l.replace(/^ok +/, '').replace(/: .*$/, '')))).toEqual(['esc\\x1b[2Jape.png', 'new\\nline.png', 'tab\\there.png']);
  expect(r.stderr).toBe(`FAIL ${path.join(odd, 'broken\\nfile.png')}: not an image or unsupported format\n`);
  expect(r.stdout + r.stderr).not.toMatch(/[\t\x1b]/);
  // the report keeps the real names
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'out-odd', 'report.json'), 'utf8'));
  expect(report.images.map((i: { file: string }) => path.basename(i.file))).toEqual(['broken\nfile.png', 'esc\x1b[2Jape.png', 'new\nline.png', 'tab\there.png']);

  // --json: the report alone on stdout (real names), the failure's one line and the summary on stderr
  const j = runCli(['explain', odd, '-m', model, '-o', path.join(dir, 'out-odd-json'), '-k', '1', '-j', '1', '--json']);
  expect(j.code).toBe(1);
  expect(JSON.parse(j.stdout).images.map((i: { file: string }) => path.basename(i.file))).toEqual(report.images.map((i: { file: string }) => path.basename(i.file)));
  const err = j.stderr.trim().split('\n');
  expect(err[0]).toBe(`FAIL ${path.join(odd, 'broken\\nfile.png')}: not an image or unsupported format`);
  expect(err[1]).toMatch(/^4 images: 3 explained, 1 failed/);
  expect(err).toHaveLength(2);
  // a run-level error naming such a file is one escaped line too
  const bad = runCli(['explain', path.join(odd, 'new\nline.png'), '-m', path.join(dir, 'no\nmodel'), '-o', path.join(dir, 'out-odd-2')]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe(`tfjs-cam: error: ${path.join(dir, 'no\\nmodel')}: model not found\n`);
});
