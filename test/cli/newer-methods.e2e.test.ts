// The newer methods' flags from the command line: bad values are one usage line (exit 2) naming the flag; good
// ones change the maps and are recorded in the report, so that --resume (and merge, which compares the same
// settings) refuses to mix runs made with other values.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { tempDir } from '../helpers/cli';
import { saveModel, smallCnn, spotPng } from '../faults/fixtures';
import { expectRunError, runCli } from '../faults/cli';

let dir: string;
let model: string;
let image: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('newer-methods');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'), { labels: ['ant', 'bee', 'cat', 'dog'] });
  image = path.join(dir, 'a.png');
  fs.writeFileSync(image, await spotPng(30, 30));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each([
  [['--method', 'fem', '--fem-k', '0'], /--fem-k must be a number > 0 \(got '0'\)/],
  [['--method', 'fem', '--fem-k', '-1.5'], /--fem-k must be a number > 0 \(got '-1.5'\)/],
  [['--method', 'kpca-cam', '--kpca-gamma', '0'], /--kpca-gamma must be a number > 0 \(got '0'\)/],
  [['--method', 'finercam', '--class', 'cat', '--finer-compare', 'ant,cat'], /--finer-compare names class 2, which is the class explained: a class is compared with other classes/],
  [['--method', 'finercam', '--class', '1', '--finer-compare', '0,0'], /--finer-compare names a class twice/],
  [['--method', 'finercam', '--class', '1', '--finer-compare', 'emu'], /--finer-compare: .*emu/],
  [['--method', 'finercam', '--finer-base', 'cam'], /--finer-base cam: CAM's weights need a linear score/],
  [['--method', 'finercam', '--target', 'logit-diff:0,1'], /finercam explains classes against similar classes, not --target logit-diff targets/],
  [['--method', 'finercam', '--finer-alpha', 'x'], /--finer-alpha must be a number/],
])('explain %j is a usage error naming the flag', (flags, re) => {
  const out = path.join(dir, 'bad');
  expectRunError(runCli(['explain', image, '-m', model, '-o', out, ...(flags as string[])]), 2, re as RegExp);
  expect(fs.existsSync(path.join(out, 'report.json'))).toBe(false);
});

test('the options are recorded where their methods ran, comparedWith names the classes, and --resume compares them', () => {
  const out = path.join(dir, 'run');
  const args = ['explain', image, '-m', model, '-o', out, '--no-timings', '--layer', 'conv_a', '--layer', 'conv_b', '--class', 'ant', '--class', 'bee'];
  const r = runCli([...args, '--method', 'fem,kpca-cam,finercam,refinecam,gradcam', '--fem-k', '1.5', '--kpca-kernel', 'rbf', '--finer-compare', 'dog', '--finer-alpha', '0.5', '--aggregate', 'product']);
  expect(r.code).toBe(0);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(report.methodSettings).toEqual({ femK: 1.5, kpcaKernel: 'rbf', kpcaGamma: null, finerAlpha: 0.5, finerBase: 'gradcam', finerCompare: [3], aggregate: 'product' });
  const maps = report.images[0].maps as { method: string; class: { index: number }; comparedWith?: { index: number; label: string }[] }[];
  expect(maps.map((m) => m.method)).toEqual(['fem', 'fem', 'kpca-cam', 'kpca-cam', 'finercam', 'finercam', 'refinecam', 'refinecam', 'gradcam', 'gradcam']);
  for (const m of maps) {
    if (m.method !== 'finercam') expect(m.comparedWith).toBeUndefined();
    else expect(m.comparedWith).toEqual([{ index: 3, label: 'dog' }]);
  }
  // Another k for FEM is another run: --resume refuses it, naming the setting.
  const again = runCli([...args, '--method', 'fem,kpca-cam,finercam,refinecam,gradcam', '--fem-k', '2', '--kpca-kernel', 'rbf', '--finer-compare', 'dog', '--finer-alpha', '0.5', '--aggregate', 'product', '--resume']);
  expectRunError(again, 2, /--resume: .* was made with other settings \(methodSettings\.femK 2 now, 1\.5 then\)/);
  // Methods that read none of these options record none.
  const plain = runCli(['explain', image, '-m', model, '-o', path.join(dir, 'plain'), '--method', 'gradcam', '--fem-k', '3', '--json']);
  expect(plain.code).toBe(0);
  expect(JSON.parse(plain.stdout).methodSettings).toBeUndefined();
});

test('a FEM map with no salient position is flat, and the warning says why', async () => {
  const { explain } = await import('../../src');
  const { report } = await explain([image], { model, out: null, method: 'fem', topK: 1, methodOptions: { femK: 1000 } });
  const img = report.images[0];
  expect(img.maps![0].flat).toBe(true);
  expect(img.warnings).toEqual([expect.stringMatching(/the fem map of '\w+' is flat: no activation exceeds its channel's mean \+ k standard deviations/)]);
  expect(report.methodSettings).toEqual({ femK: 1000 });
});
