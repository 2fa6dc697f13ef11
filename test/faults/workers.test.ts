// A Score-CAM/Ablation-CAM channel worker that dies mid-image (killed, out of memory: simulated by
// TFJS_CAM_FAULT=channel-worker-exit, which makes each channel worker exit as it takes its part) fails that image
// with a message; the thread waiting for its part (blocked in Atomics.wait) is never left there.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { ROOT, tempDir } from '../helpers/cli';
import { saveModel, smallCnn, spotPng } from './fixtures';
import { runCli } from './cli';

let dir: string;
let model: string;
let img: string;
const FAULT = { TFJS_CAM_FAULT: 'channel-worker-exit' };
const MESSAGE = 'a channel worker stopped before scoring its channels (killed, or out of memory)';

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('faults-workers');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  img = path.join(dir, 'a.png');
  fs.writeFileSync(img, await spotPng(40, 30));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('CLI: one image, Score-CAM over 2 threads (its worker spreads the channels): the image fails, the run ends', () => {
  const r = runCli(['explain', img, '-m', model, '--method', 'scorecam', '-k', '1', '--jobs', '2', '-o', path.join(dir, 'out')], { env: FAULT, timeoutMs: 240_000 });
  expect(r.code).toBe(1); // it never ended: the worker's thread waited for the dead one's channels
  expect(r.stderr).toBe(`FAIL ${img}: ${MESSAGE}\n`);
  // the same without the fault: explained
  expect(runCli(['explain', img, '-m', model, '--method', 'scorecam', '-k', '1', '--jobs', '2', '-o', path.join(dir, 'out-ok')], { timeoutMs: 240_000 }).code).toBe(0);
});

test('library: explain() waiting on the main thread for Ablation-CAM channels: the image fails, explain() returns', () => {
  // in a process of its own: before, its main thread stayed blocked for good (no test timeout could end it)
  const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))}).explain([${JSON.stringify(img)}], { model: ${JSON.stringify(model)}, out: null, method: 'ablationcam', topK: 1, jobs: 2 })
    .then((r) => console.log(JSON.stringify(r.report.images[0])), (e) => { console.error(e); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...FAULT }, timeout: 540_000 });
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  const entry = JSON.parse(r.stdout);
  expect(entry).toMatchObject({ status: 'error', error: MESSAGE });
});
