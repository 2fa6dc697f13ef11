// One run at a time per output folder: a second run stops at once naming the folder and the other run's pid; a
// lock left by a run that is gone is taken over.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { tempDir } from '../helpers/cli';
import { LOCK_NAME } from '../../src/report/lock';
import { listFiles, saveModel, smallCnn, spotPng } from './fixtures';
import { expectRunError, runCli } from './cli';

let dir: string;
let model: string;
let inDir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('lock');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  inDir = path.join(dir, 'in');
  fs.mkdirSync(inDir);
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(inDir, `img${i}.png`), await spotPng(30, 30, 8 + i * 6, 10));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a folder locked by a live run: the CLI stops before any image with exit 2, naming the folder and the pid', () => {
  const out = path.join(dir, 'out-live');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, LOCK_NAME), `${process.pid}\n`); // this jest worker: alive
  const r = runCli(['explain', inDir, '-m', model, '-o', out, '--force', '-j', '1']);
  expectRunError(r, 2, new RegExp(`^tfjs-cam: error: output folder ${out} is in use by another tfjs-cam run \\(pid ${process.pid}\\)`));
  expect(listFiles(out)).toEqual([LOCK_NAME]);
});

test('two runs at once into one folder (library): the second fails at once, the first finishes; a stale lock is taken over', async () => {
  const out = path.join(dir, 'out-two');
  const first = explain([inDir], { model, out, force: true, jobs: 1, topK: 1 });
  // The second starts while the first holds the folder.
  await new Promise((r) => setTimeout(r, 0));
  const second = explain([inDir], { model, out, force: true, jobs: 1, topK: 1 });
  const [a, b] = await Promise.allSettled([first, second]);
  expect(a.status).toBe('fulfilled');
  expect(b.status).toBe('rejected');
  expect(String((b as PromiseRejectedResult).reason.message)).toMatch(/is in use by another tfjs-cam run \(pid \d+\)/);
  expect(fs.existsSync(path.join(out, LOCK_NAME))).toBe(false); // released at the end
  fs.writeFileSync(path.join(out, LOCK_NAME), '4194999\n'); // above Linux's pid_max: that run is gone
  const { report } = await explain([inDir], { model, out, force: true, jobs: 1, topK: 1 });
  expect(report.summary.succeeded).toBe(3);
  expect(fs.existsSync(path.join(out, LOCK_NAME))).toBe(false);
});
