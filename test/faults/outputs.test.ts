// The output folder: unusable -> one run-level line and exit 2 before any image; a write that fails half way
// (a real EFBIG from the kernel under `ulimit -f`, as on a full disk) leaves no partial file; existing outputs are
// never replaced without --force; --resume refuses a folder made with other settings.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend';
import { tempDir } from '../helpers/cli';
import { JOURNAL_NAME } from '../../src/pipeline/resume';
import { listFiles, saveModel, smallCnn, snapshot, spotPng } from './fixtures';
import { expectRunError, failLine, runCli, runCliWithFileSizeLimit } from './cli';

let dir: string;
let model: string;
let inDir: string;
let inputs: Record<string, string>;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('faults-outputs');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  inDir = path.join(dir, 'in');
  fs.mkdirSync(inDir);
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(inDir, `img${i}.png`), await spotPng(120 + i, 90, 20 + i * 20, 40));
  inputs = snapshot(inDir);
});

afterEach(() => {
  expect(snapshot(inDir)).toEqual(inputs);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const noTemp = (out: string) => expect(listFiles(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);

async function expectAllPngsWhole(out: string): Promise<void> {
  for (const f of listFiles(out).filter((x) => x.endsWith('.png'))) await sharp(path.join(out, f), { failOn: 'truncated' }).raw().toBuffer();
}

test('an output folder that cannot be made (a file is in the way): one line, exit 2, before any image', () => {
  const blocker = path.join(dir, 'a-file');
  fs.writeFileSync(blocker, 'keep me');
  for (const out of [path.join(blocker, 'out'), blocker]) {
    const r = runCli(['explain', inDir, '-m', model, '-o', out]);
    expectRunError(r, 2, /^tfjs-cam: error: output folder .*a-file(\/out)?(: a file of that name \(or of a parent\) is in the way| is not a folder)$/);
    expect(r.stdout).toBe(''); // no per-image lines, no summary: nothing was attempted
  }
  expect(fs.readFileSync(blocker, 'utf8')).toBe('keep me');
});

const procTest = fs.existsSync('/proc/self') ? test : test.skip;
procTest('an output folder the file system will not create (/proc/foo): one line, exit 2, within seconds (no mkdir loop)', () => {
  const t0 = Date.now();
  const r = runCli(['explain', inDir, '-m', model, '-o', '/proc/tfjs-cam-out/sub'], { timeoutMs: 240_000 });
  expectRunError(r, 2, /^tfjs-cam: error: cannot create output folder \/proc\/tfjs-cam-out\/sub: the file system does not allow creating it$/);
  expect(Date.now() - t0).toBeLessThan(15_000); // before the fix it never returned (100% CPU)
});

test('a write that fails half way (file size limit: EFBIG) stops the run with one line and leaves no partial file', async () => {
  const out = path.join(dir, 'out-efbig');
  // 1 KiB per file: every overlay PNG (~10 kB) fails part way through; the journal's header line still fits.
  const r = runCliWithFileSizeLimit(1, ['explain', inDir, '-m', model, '-o', out, '-j', '2']); // workers: the main thread writes
  expectRunError(r, 2, /^tfjs-cam: error: cannot write .*out-efbig\/img\d\.gradcam\.\d-\d\.png: file too large \(file size limit reached\)$/);
  noTemp(out);
  expect(listFiles(out)).toEqual([]); // no image finished: not even a journal is left
  // With room again, --resume finishes the run.
  const again = runCli(['explain', inDir, '-m', model, '-o', out, '--resume']);
  expect(again.code).toBe(0);
  expect(listFiles(out)).not.toContain(JOURNAL_NAME);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).summary).toEqual({ images: 4, succeeded: 4, failed: 0 });
  await expectAllPngsWhole(out);
});

test('the disk fills at report.json: the images are whole, the run says so, --resume writes the report', async () => {
  const small = path.join(dir, 'small');
  fs.mkdirSync(small);
  for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(small, `s${String(i).padStart(2, '0')}.png`), await spotPng(12 + i, 9, 3 + (i % 6), 4));
  const out = path.join(dir, 'out-report');
  // Each file of 12 tiny images (about 1 kB) and the compact journal (about 15 kB) fit in 20 KiB; the
  // pretty-printed report of 12 images x 3 classes (about 28 kB) does not.
  const args = ['explain', small, '-m', model, '-o', out, '-j', '1', '-k', '3', '--heatmap', '--save-raw', '--no-timings'];
  const r = runCliWithFileSizeLimit(20, args);
  expectRunError(r, 2, /^tfjs-cam: error: cannot write .*out-report\/report\.json: file too large \(file size limit reached\)$/);
  noTemp(out);
  expect(listFiles(out)).not.toContain('report.json');
  await expectAllPngsWhole(out);
  const before = snapshot(out);
  const again = runCli([...args, '--resume']);
  expect(again.code).toBe(0);
  expect(again.stdout.match(/^done .*: outputs from the earlier run kept$/gm)).toHaveLength(12);
  // Nothing redone: every earlier file is as it was.
  const after = snapshot(out);
  for (const [f, h] of Object.entries(before)) if (f !== JOURNAL_NAME) expect(after[f]).toBe(h);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(report.summary).toEqual({ images: 12, succeeded: 12, failed: 0 });
  expect(listFiles(out)).not.toContain(JOURNAL_NAME);
});

test('existing outputs are kept unless --force: an earlier report stops the run at once, an earlier file fails its image', () => {
  const out = path.join(dir, 'out-exists');
  const args = ['explain', inDir, '-m', model, '-o', out, '-k', '1'];
  expect(runCli(args).code).toBe(0);
  const before = snapshot(out);
  const again = runCli(args);
  expectRunError(again, 2, /report\.json exists \(use --force to overwrite\); --resume finishes or extends that run$/);
  expect(snapshot(out)).toEqual(before);
  // Without the report, each image whose file exists fails with the file named; the others are written.
  fs.rmSync(path.join(out, 'report.json'));
  const overlay = listFiles(out).find((f) => f.startsWith('img1.'))!;
  const kept = fs.readFileSync(path.join(out, overlay));
  for (const f of listFiles(out)) if (!f.startsWith('img1.')) fs.rmSync(path.join(out, f));
  const third = runCli(args);
  expect(third.code).toBe(1);
  expect(failLine(third, path.join(inDir, 'img1.png'))).toBe(`${path.join(out, overlay)} exists (use --force to overwrite)`);
  expect(fs.readFileSync(path.join(out, overlay)).equals(kept)).toBe(true);
  expect(listFiles(out).filter((f) => f.endsWith('.png'))).toHaveLength(4);
  expect(runCli([...args, '--force']).code).toBe(0);
  noTemp(out);
});

test('an unfinished run is not silently mixed with a new one; --resume with other settings is refused', () => {
  const out = path.join(dir, 'out-unfinished');
  fs.mkdirSync(out);
  expect(runCli(['explain', inDir, '-m', model, '-o', out, '-k', '1']).code).toBe(0);
  // Simulate an interrupted run: the report is gone, the journal is there.
  fs.rmSync(path.join(out, 'report.json'));
  fs.writeFileSync(path.join(out, JOURNAL_NAME), JSON.stringify({ journal: 'tfjs-cam/journal@1', settings: {} }) + '\n');
  expectRunError(runCli(['explain', inDir, '-m', model, '-o', out, '-k', '1']), 2, /holds an unfinished run \(\.tfjs-cam-journal\.jsonl\): use --resume to finish it, or --force to start again$/);
  expectRunError(runCli(['explain', inDir, '-m', model, '-o', out, '-k', '1', '--resume']), 2, /^tfjs-cam: error: --resume: the unfinished run in .* had other settings \(.+\); use another --out, or --force to start again$/);
  const out2 = path.join(dir, 'out-settings');
  expect(runCli(['explain', inDir, '-m', model, '-o', out2, '-k', '1']).code).toBe(0);
  const before = snapshot(out2);
  expectRunError(runCli(['explain', inDir, '-m', model, '-o', out2, '-k', '1', '--resume', '--colormap', 'viridis']), 2, /report\.json was made with other settings \(output\.colormap "viridis" now, "jet" then\); use another --out, or --force to start again$/);
  expect(snapshot(out2)).toEqual(before);
});
