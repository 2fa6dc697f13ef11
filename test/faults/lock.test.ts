// One run at a time per output folder: a second run stops at once naming the folder and the other run's pid; a
// lock left by a run that is gone is taken over.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { tempDir } from '../helpers/cli';
import { LOCK_NAME, lockOutputDir } from '../../src/report/lock';
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

test('a run holds its folder until it ends (a second lock fails at once); a stale lock is taken over', async () => {
  const out = path.join(dir, 'out-two');
  // While the first run writes (at each of its images), a second run's lock attempt fails at once.
  const attempts: string[] = [];
  const { report: firstReport } = await explain([inDir], {
    model, out, force: true, jobs: 1, topK: 1,
    onImage: () => {
      try {
        lockOutputDir(out).release();
        attempts.push('taken');
      } catch (e) {
        attempts.push((e as Error).message);
      }
    },
  });
  expect(firstReport.summary.succeeded).toBe(3);
  expect(attempts).toEqual(Array(3).fill(`output folder ${out} is in use by another tfjs-cam run (pid ${process.pid}); wait for it to finish or use another --out`));
  expect(fs.existsSync(path.join(out, LOCK_NAME))).toBe(false); // released at the end
  fs.writeFileSync(path.join(out, LOCK_NAME), '4194999\n'); // above Linux's pid_max: that run is gone
  const { report } = await explain([inDir], { model, out, force: true, jobs: 1, topK: 1 });
  expect(report.summary.succeeded).toBe(3);
  expect(fs.existsSync(path.join(out, LOCK_NAME))).toBe(false);
});
