// A closed stdout/stderr (`tfjs-cam explain ... 2>&1 | head -1`) must not lose or leave files; stray temp files
// of a killed run are removed by the next run into the same folder.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { ROOT, tempDir } from '../helpers/cli';
import { JOURNAL_NAME } from '../../src/pipeline/resume';
import { listFiles, saveModel, smallCnn, spotPng } from './fixtures';
import { runCli } from './cli';

let dir: string;
let model: string;
let inDir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('pipe');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  inDir = path.join(dir, 'in');
  fs.mkdirSync(inDir);
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(inDir, `img${i}.png`), await spotPng(40 + i, 30, 10 + i * 5, 12));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('stdout and stderr closed by the reader: the run still writes every file and the report, no temp files or journal', () => {
  const out = path.join(dir, 'out-pipe');
  const bin = path.join(ROOT, 'bin', 'tfjs-cam');
  // `true` exits at once without reading: every write of the CLI meets a broken pipe.
  const r = spawnSync('bash', ['-c', '"$@" 2>&1 | true; exit ${PIPESTATUS[0]}', 'sh', process.execPath, bin, 'explain', inDir, '-m', model, '-o', out, '-j', '1', '-k', '1'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 540_000,
  });
  expect(r.status).toBe(0);
  const files = listFiles(out);
  expect(files.filter((f) => f.endsWith('.tmp') || f === JOURNAL_NAME)).toEqual([]);
  expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(4);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(report.summary).toEqual({ images: 4, succeeded: 4, failed: 0 });
});

test("--resume removes the temp files a killed run left (those of processes that are gone, never a live run's)", () => {
  const out = path.join(dir, 'out-stray');
  fs.mkdirSync(path.join(out, 'sub'), { recursive: true });
  const dead = path.join(out, 'sub', '.img0.gradcam.1-1.png.4194999.0123456789ab.tmp'); // above Linux's pid_max
  const live = path.join(out, `.img1.gradcam.1-1.png.${process.pid}.0123456789ab.tmp`); // this jest worker is alive
  const other = path.join(out, 'notes.tmp');
  for (const f of [dead, live, other]) fs.writeFileSync(f, 'x');
  const r = runCli(['explain', inDir, '-m', model, '-o', out, '-j', '1', '-k', '1', '--resume']);
  expect(r.code).toBe(0);
  expect(fs.existsSync(dead)).toBe(false);
  expect(fs.existsSync(live)).toBe(true);
  expect(fs.existsSync(other)).toBe(true);
});
