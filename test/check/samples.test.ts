// The shipped spec, samples/check.yaml, passes on the shipped models; the same samples against a wrong region fail
// with exit code 1, a JUnit file that says why, and an overlay with the (wrong) region drawn where it was expected.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { XMLParser } from 'fast-xml-parser';
import { ROOT, runCli, tempDir } from '../helpers/cli';

const SPEC = path.join(ROOT, 'samples', 'check.yaml');
const MODELS = ['gap-cnn', 'resnet-bn', 'flatten-dense', 'resnet-bn-graph'].map((m) => path.join(ROOT, 'models', m));
const present = fs.existsSync(SPEC) && MODELS.every((m) => fs.existsSync(path.join(m, 'model.json')));
if (!present) process.stderr.write('skipped the samples check spec tests: models/ or samples/check.yaml is not present\n');
const samplesTest = present ? test : test.skip;

let dir: string;
beforeAll(() => {
  dir = tempDir('samples-check');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

samplesTest('samples/check.yaml passes on the shipped models', () => {
  const r = runCli(['check', SPEC, '--backend', 'wasm', '--json', '--no-timings', '-o', path.join(dir, 'pass')]);
  const report = JSON.parse(r.stdout);
  const failing = report.results.filter((x: { status: string }) => x.status !== 'pass');
  expect(failing).toEqual([]);
  expect(r.code).toBe(0);
  // Every shipped model is exercised, and the class comes from samples/boxes.json.
  expect(new Set(report.cases.map((c: { model: string }) => c.model))).toEqual(new Set(['../models/gap-cnn', '../models/resnet-bn', '../models/flatten-dense', '../models/resnet-bn-graph']));
  const boxes = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'boxes.json'), 'utf8')).images;
  for (const res of report.results) expect(res.class.index).toBe(boxes[res.file].class);
  expect(fs.existsSync(path.join(dir, 'pass'))).toBe(false);
});

samplesTest('a wrong region fails: exit 1, the JUnit file says why, the overlay shows the expected region', async () => {
  const boxes = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'boxes.json'), 'utf8')).images as Record<string, { class: number; boxes: { x: number; y: number; width: number; height: number }[] }>;
  // The sample whose digit is lowest-leftmost, checked against a box in the opposite (top right) corner.
  const [name, entry] = Object.entries(boxes).sort(([, a], [, b]) => a.boxes[0].x - a.boxes[0].y - (b.boxes[0].x - b.boxes[0].y))[0];
  const truth = entry.boxes[0];
  const wrong = { x: 44, y: 2, width: 18, height: 18 };
  expect(truth.x + truth.width <= wrong.x || truth.y >= wrong.y + wrong.height).toBe(true);
  const spec = path.join(dir, 'wrong.yaml');
  fs.writeFileSync(
    spec,
    [
      `model: ${JSON.stringify(path.join(ROOT, 'models', 'gap-cnn'))}`,
      'cases:',
      '  - name: digit in the wrong corner',
      `    images: ${JSON.stringify(path.join(ROOT, 'samples', name))}`,
      `    class: ${entry.class}`,
      `    expect: {region: {boxes: [${JSON.stringify(wrong)}]}, pointingGame: true, minInside: 0.5}`,
      '',
    ].join('\n'),
  );
  const out = path.join(dir, 'fail');
  const junit = path.join(dir, 'junit.xml');
  const r = runCli(['check', spec, '--backend', 'wasm', '-o', out, '--junit', junit]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^FAIL +digit in the wrong corner/m);
  expect(r.stdout).toMatch(/1 check in 1 case: 0 passed, 1 failed/);

  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(fs.readFileSync(junit, 'utf8'));
  expect(doc.testsuites).toMatchObject({ tests: '1', failures: '1', errors: '0' });
  const tc = doc.testsuites.testsuite.testcase;
  expect(tc.name).toMatch(new RegExp(`${name.replace('.', '\\.')} \\[${entry.class}\\] gradcam$`));
  expect(tc.failure.type).toMatch(/pointingGame/);
  expect(tc.failure.message).toMatch(/is outside the region/);

  const overlay = path.join(out, '1-digit-in-the-wrong-corner', `${path.basename(name, '.png')}.gradcam.${entry.class}-${entry.class}.png`);
  expect(tc['system-out']).toContain(path.relative(ROOT, overlay).split(path.sep).join('/'));
  const { data, info } = await sharp(overlay).raw().toBuffer({ resolveWithObject: true });
  const meta = await sharp(path.join(ROOT, 'samples', name)).metadata();
  expect([info.width, info.height]).toEqual([meta.width, meta.height]);
  const isMagenta = (x: number, y: number) => {
    const i = (y * info.width + x) * info.channels;
    return data[i] === 255 && data[i + 1] === 0 && data[i + 2] === 255;
  };
  // The wrong box's outline is drawn (all four sides), the true box is not outlined.
  for (let x = wrong.x; x < wrong.x + wrong.width; x++) {
    expect(isMagenta(x, wrong.y)).toBe(true);
    expect(isMagenta(x, wrong.y + wrong.height - 1)).toBe(true);
  }
  for (let y = wrong.y; y < wrong.y + wrong.height; y++) {
    expect(isMagenta(wrong.x, y)).toBe(true);
    expect(isMagenta(wrong.x + wrong.width - 1, y)).toBe(true);
  }
  expect(isMagenta(truth.x, truth.y + Math.floor(truth.height / 2))).toBe(false);
});
