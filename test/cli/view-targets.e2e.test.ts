// similar-to: and seg: targets from the command line: the files and report of a run on the shipped model, and
// each bad input as one line naming the flag, exit 2.
import * as fs from 'fs';
import * as path from 'path';
import { runCli, tempDir } from '../helpers/cli';

let dir: string;
beforeAll(() => {
  dir = tempDir('view-targets');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('explain --target similar-to:<image> beside a class: overlays named after the reference, the spec in the report', () => {
  const out = path.join(dir, 'sim');
  const r = runCli(['explain', 'samples/digit-03-3.png', '-m', 'models/gap-cnn', '--target', 'similar-to:samples/digit-07-7.png', '--target', '3', '--method', 'gradcam', '-o', out, '--no-timings']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^ok {3}samples\/digit-03-3.png: similar to digit-07-7.png, 3 \(\d+\.\d%\)\n/);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(report.explained).toEqual({ targets: ['similar-to:samples/digit-07-7.png', 'class:3'] });
  const maps = report.images[0].maps;
  expect(maps.map((m: { target?: { spec: string }; class?: { index: number } }) => m.target?.spec ?? m.class?.index)).toEqual(['similar-to:samples/digit-07-7.png', 3]);
  expect(maps[0].target.label).toBe('similar to digit-07-7.png');
  expect(maps[0].flat).toBe(false);
  expect(fs.readdirSync(out).sort()).toEqual(['digit-03-3.gradcam.3-3.png', 'digit-03-3.gradcam.similar-to-digit-07-7.png', 'report.json']);
});

test('bad similar-to:, --embedding-layer and seg: input: one line naming the flag, exit 2, nothing written', () => {
  const out = path.join(dir, 'never');
  const cases: [string[], string][] = [
    [['--target', 'similar-to:samples/nope.png'], '--target similar-to:samples/nope.png: file not found'],
    [['--target', 'similar-to:package.json'], '--target similar-to:package.json: '],
    [['--target', 'similar-to:samples/digit-07-7.png', '--embedding-layer', 'gapp'], "--embedding-layer gapp: no layer named 'gapp' in the model (did you mean 'gap'?)"],
    [['--embedding-layer', 'gap'], '--embedding-layer gap: no similar-to: target uses it'],
    [['--target', 'seg:3', '--embedding-layer', 'gap'], '--embedding-layer gap: no similar-to: target uses it'],
    [['--target', 'seg:3'], "--target seg:3: the model's output is one vector of class scores, not a per-pixel class map: seg: targets need a segmentation model"],
  ];
  for (const [flags, message] of cases) {
    const r = runCli(['explain', 'samples/digit-03-3.png', '-m', 'models/gap-cnn', ...flags, '-o', out]);
    expect(r.stderr.startsWith(`tfjs-cam: error: ${message}`)).toBe(true);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
  }
  expect(fs.existsSync(out)).toBe(false);
  // evaluate re-scores masked images by the class scores: these targets are explain's.
  const ev = runCli(['evaluate', '-m', 'models/gap-cnn', '--boxes', 'samples/boxes.json', '--method', 'gradcam', '--target', 'similar-to:samples/digit-07-7.png', '-o', out]);
  expect(ev.stderr).toBe('tfjs-cam: error: --target similar-to:samples/digit-07-7.png: evaluate scores targets of the class scores (class:, logit-diff:, sum:); explain draws seg: and similar-to: targets\n');
  expect(ev.code).toBe(2);
});
