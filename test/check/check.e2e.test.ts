// `tfjs-cam check` end to end: specs that pass and fail on a model whose maps are known, the JUnit file (parsed),
// the failure overlays (decoded, right size, region drawn), JSON output, coordinates under 'pad', and exit codes.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { XMLParser } from 'fast-xml-parser';
import { runCli, tempDir } from '../helpers/cli';
import { initBackend } from '../../src/backend';
import { saveColourModel, squaresImage, maskImage, RED, BLUE } from './fixtures';

let dir: string;

// a.png 64x48: red square at (8, 8) size 16, blue at (40, 24) size 12. b.png 48x64: blue at (4, 4) 12, red at (28, 40) 14.
const A_RED = { x: 8, y: 8, width: 16, height: 16 };
const A_BLUE = { x: 40, y: 24, width: 12, height: 12 };
const B_RED = { x: 28, y: 40, width: 14, height: 14 };

const PASS_SPEC = `# attention checks that hold by construction
version: 1
model: models/colour
expect:
  topK: 1
cases:
  - name: red in pixels
    images: images/a.png
    class: red
    expect:
      minProbability: 0.8
      region: {boxes: [{x: 8, y: 8, width: 16, height: 16}]}
      pointingGame: true
      minInside: 0.75
      maxOutside: 0.25
      minIou: 0.5
  - name: blue in fractions
    images: [images/a.png]
    class: 1
    expect:
      topK: 2
      region: {units: fraction, boxes: [{x: 0.625, y: 0.5, width: 0.1875, height: 0.25}]}
      pointingGame: true
      minInside: 0.6
  - name: red by mask
    images: images/a.png
    class: red
    expect: {region: {mask: "masks/{stem}.png"}, pointingGame: true, minInside: 0.75, minIou: 0.5}
  - name: annotated, letterboxed
    model: models/colour-pad
    images: "images/*.png"
    expect: {region: {annotations: boxes.json}, pointingGame: true, minInside: 0.6, minIou: 0.4}
  - name: red does not look at blue
    images: images/a.png
    class: red
    expect: {region: {boxes: [{x: 40, y: 24, width: 12, height: 12}]}, pointingGame: false, maxInside: 0.05}
`;

// The red class's map is on the red square; this spec expects it on the blue one.
const FAIL_SPEC = JSON.stringify(
  {
    model: 'models/colour',
    cases: [
      { name: 'right region', images: ['images/a.png'], class: 'red', expect: { region: { boxes: [A_RED] }, pointingGame: true } },
      { name: 'wrong region', images: ['images/a.png'], class: 'red', expect: { region: { boxes: [A_BLUE] }, pointingGame: true, minInside: 0.5, minIou: 0.3 } },
    ],
  },
  null,
  2,
);

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('check');
  await saveColourModel(path.join(dir, 'models', 'colour'));
  await saveColourModel(path.join(dir, 'models', 'colour-pad'), { preprocess: { resize: 'pad' } });
  await squaresImage(path.join(dir, 'images', 'a.png'), 64, 48, [
    { x: 8, y: 8, size: 16, color: RED },
    { x: 40, y: 24, size: 12, color: BLUE },
  ]);
  await squaresImage(path.join(dir, 'images', 'b.png'), 48, 64, [
    { x: 4, y: 4, size: 12, color: BLUE },
    { x: 28, y: 40, size: 14, color: RED },
  ]);
  await maskImage(path.join(dir, 'masks', 'a.png'), 64, 48, A_RED);
  fs.writeFileSync(
    path.join(dir, 'boxes.json'),
    JSON.stringify({ version: 1, images: { 'images/a.png': { label: 'red', class: 0, boxes: [A_RED] }, 'images/b.png': { label: 'red', boxes: [B_RED] } } }),
  );
  fs.writeFileSync(path.join(dir, 'pass.yaml'), PASS_SPEC);
  fs.writeFileSync(path.join(dir, 'fail.json'), FAIL_SPEC);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a spec that holds: exit 0, every case passes, measures in the JSON report', () => {
  const r = runCli(['check', path.join(dir, 'pass.yaml'), '--json', '--backend', 'wasm', '-o', path.join(dir, 'out-pass')], { cwd: dir });
  expect(r.stderr).toMatch(/6 checks in 5 cases: 6 passed, 0 failed/);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expect(report.schema).toBe('tfjs-cam/check-report@1');
  expect(report.coordinates).toBe('model-input');
  expect(report.results.map((x: { status: string }) => x.status)).toEqual(Array(6).fill('pass'));
  const [redPx, bluePx, mask, annA, annB, avoid] = report.results;
  expect(redPx.class).toEqual({ index: 0, label: 'red' });
  expect(redPx.rank).toBe(1);
  expect(redPx.probability).toBeGreaterThan(0.8);
  expect(redPx.region.pointingHit).toBe(true);
  expect(redPx.region.inside + redPx.region.outside).toBeCloseTo(1, 3);
  // The peak is reported in original-image pixels: inside the red square.
  expect(redPx.peak.x).toBeGreaterThan(8);
  expect(redPx.peak.x).toBeLessThan(24);
  expect(bluePx.class.label).toBe('blue');
  expect(bluePx.rank).toBe(2);
  // A mask of the same square measures like the box.
  expect(mask.region.inside).toBeCloseTo(redPx.region.inside, 1);
  // Annotations give both the box and the class; 'pad' letterboxes b.png (48x64) into the square input.
  expect(annA.file).toBe('images/a.png');
  expect(annB.file).toBe('images/b.png');
  expect(annB.class.label).toBe('red');
  expect(annB.region.pointingHit).toBe(true);
  expect(annB.region.thresholdBox.x).toBeGreaterThan(20);
  expect(annB.region.thresholdBox.y).toBeGreaterThan(32);
  expect(avoid.region.pointingHit).toBe(false);
  expect(avoid.region.inside).toBeLessThan(0.05);
  // Passing checks write no overlays.
  expect(fs.existsSync(path.join(dir, 'out-pass'))).toBe(false);
});

test('a spec that fails: exit 1, table, JUnit XML, and an overlay with the expected region drawn', async () => {
  const out = path.join(dir, 'out-fail');
  const junit = path.join(dir, 'reports', 'junit.xml');
  const r = runCli(['check', 'fail.json', '--backend', 'wasm', '-o', out, '--junit', junit], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^STATUS +CASE +IMAGE +METHOD +CLASS/m);
  expect(r.stdout).toMatch(/^PASS +right region +images\/a\.png +gradcam +red/m);
  expect(r.stdout).toMatch(/^FAIL +wrong region +images\/a\.png +gradcam +red/m);
  expect(r.stdout).toMatch(/- the map's peak \([\d.]+, [\d.]+\) is outside the region/);
  expect(r.stdout).toMatch(/- share of the map inside the region 0(\.\d+)? < 0.5/);
  expect(r.stdout).toMatch(/2 checks in 2 cases: 1 passed, 1 failed/);

  const xml = fs.readFileSync(junit, 'utf8');
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
  const suites = doc.testsuites;
  expect(suites.tests).toBe('2');
  expect(suites.failures).toBe('1');
  expect(suites.errors).toBe('0');
  const [ok, bad] = suites.testsuite;
  expect(ok.name).toBe('right region');
  expect(ok.failures).toBe('0');
  expect(ok.testcase.failure).toBeUndefined();
  expect(bad.name).toBe('wrong region');
  expect(bad.failures).toBe('1');
  expect(bad.testcase.name).toBe('images/a.png [red] gradcam');
  expect(bad.testcase.failure.type).toBe('pointingGame,minInside,minIou');
  expect(bad.testcase.failure.message).toMatch(/outside the region/);
  expect(bad.testcase['system-out']).toMatch(/overlay: .*2-wrong-region\/a\.gradcam\.0-red\.png/);
  expect(fs.readdirSync(path.dirname(junit)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

  // Only the failing check has an overlay: at the image's size, with the expected (blue) box outlined in magenta.
  expect(fs.readdirSync(out)).toEqual(['2-wrong-region']);
  const file = path.join(out, '2-wrong-region', 'a.gradcam.0-red.png');
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([64, 48, 3]);
  const px = (x: number, y: number) => Array.from(data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
  const MAGENTA = [255, 0, 255];
  for (const [x, y] of [
    [A_BLUE.x, A_BLUE.y],
    [A_BLUE.x + 5, A_BLUE.y],
    [A_BLUE.x + A_BLUE.width - 1, A_BLUE.y + 6],
    [A_BLUE.x + 3, A_BLUE.y + A_BLUE.height - 1],
  ]) expect(px(x, y)).toEqual(MAGENTA);
  // Inside the box and far from it: no outline.
  expect(px(A_BLUE.x + 6, A_BLUE.y + 6)).not.toEqual(MAGENTA);
  expect(px(2, 44)).not.toEqual(MAGENTA);
  let magenta = 0;
  for (let i = 0; i < data.length; i += 3) if (data[i] === 255 && data[i + 1] === 0 && data[i + 2] === 255) magenta++;
  expect(magenta).toBe(2 * 12 + 2 * 10); // the box's one-pixel outline, nothing else
});

test('--html writes index.html with every check; --overlays all and --quiet', () => {
  const out = path.join(dir, 'out-html');
  const r = runCli(['check', 'fail.json', '--backend', 'wasm', '-o', out, '--html', '-q'], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stdout).not.toMatch(/^PASS/m);
  expect(r.stdout).toMatch(/^FAIL/m);
  expect(r.stdout).toMatch(/report .*index\.html/);
  const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
  expect(html).toContain('wrong region');
  expect(html).toContain('1-right-region/a.gradcam.0-red.png');
  expect(html).toContain('2-wrong-region/a.gradcam.0-red.png');
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
});

test('several methods in one case give one check each; --no-timings output repeats byte for byte', () => {
  const spec = path.join(dir, 'methods.yaml');
  fs.writeFileSync(spec, 'model: models/colour\ncases:\n  - images: images/a.png\n    method: gradcam,gradcam++,cam\n    class: red\n    expect: {region: {boxes: [{x: 8, y: 8, width: 16, height: 16}]}, pointingGame: true}\n');
  const args = ['check', spec, '--backend', 'wasm', '--json', '--no-timings', '-o', path.join(dir, 'out-m')];
  const r = runCli(args);
  expect(r.code).toBe(0);
  const rep = JSON.parse(r.stdout);
  expect(rep.results.map((x: { method: string }) => x.method)).toEqual(['gradcam', 'gradcam++', 'cam']);
  expect(rep.timings).toBeUndefined();
  expect(runCli(args).stdout).toBe(r.stdout);
});

test('spec errors: exit 2, every problem with file, line and field', () => {
  const spec = path.join(dir, 'bad.yaml');
  fs.writeFileSync(
    spec,
    [
      'model: models/colour',
      'cases:',
      '  - images: images/nothing-*.png',
      '    expect:',
      '      minIou: 1.5',
      '      pointingGam: true',
      '  - images: images/a.png',
      '    class: purple',
      '    expect: {topK: 1}',
      '',
    ].join('\n'),
  );
  const r = runCli(['check', spec, '--backend', 'wasm'], { cwd: dir });
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toContain("tfjs-cam: error: bad.yaml:5:15: cases[0].expect.minIou: must be at most 1");
  expect(lines).toContain("tfjs-cam: error: bad.yaml:6:7: cases[0].expect.pointingGam: unknown field (did you mean 'pointingGame'?)");
  expect(r.stdout).toBe('');

  // Valid by the schema, wrong against the files and the model: still exit 2, still placed.
  fs.writeFileSync(spec, ['model: models/colour', 'cases:', '  - images: images/nothing-*.png', '    expect: {topK: 1}', '  - images: images/a.png', '    class: purple', '    expect: {topK: 1}', ''].join('\n'));
  const r2 = runCli(['check', spec, '--backend', 'wasm'], { cwd: dir });
  expect(r2.code).toBe(2);
  expect(r2.stderr).toMatch(/bad\.yaml:3:13: cases\[0\]\.images: 'images\/nothing-\*\.png' matches no image/);
  fs.writeFileSync(spec, ['model: models/colour', 'cases:', '  - images: images/a.png', '    class: purple', '    expect: {topK: 1}', ''].join('\n'));
  const r3 = runCli(['check', spec, '--backend', 'wasm'], { cwd: dir });
  expect(r3.code).toBe(2);
  expect(r3.stderr).toMatch(/bad\.yaml:4:12: cases\[0\]\.class: no class labelled 'purple'/);

  const missing = runCli(['check', path.join(dir, 'no-such.yaml')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/no such spec file/);
});

test('a region outside the image says so under stretch; under crop a region cut off by the crop blames the crop', async () => {
  const { check } = await import('../../src/check/run');
  await saveColourModel(path.join(dir, 'models', 'colour-crop'), { preprocess: { resize: 'crop' } });
  const spec = path.join(dir, 'unseen.json');
  fs.writeFileSync(
    spec,
    JSON.stringify({
      cases: [
        { name: 'off the image, stretch', model: 'models/colour', images: 'images/a.png', class: 'red', expect: { region: { boxes: [{ x: 70, y: 0, width: 10, height: 10 }] }, pointingGame: true } },
        // a.png is 64x48: crop keeps x 8..56; x 0..6 is in the image but cut off.
        { name: 'cut by the crop', model: 'models/colour-crop', images: 'images/a.png', class: 'red', expect: { region: { boxes: [{ x: 0, y: 0, width: 6, height: 10 }] }, pointingGame: true } },
      ],
    }),
  );
  const report = await check(spec, { out: null, backend: 'wasm', timings: false });
  expect(report.results.map((r) => r.failures.map((f) => f.message))).toEqual([
    ['the region lies outside the image (64x48 pixels)'],
    ['the region lies outside the part of the image the model sees (resize: crop)'],
  ]);
});

// Targets: logit-diff:blue,red differentiates 60 (mean blue - mean red), so Grad-CAM's map is relu(blue - red):
// the blue square; sum:red,blue's map covers both, and its probability is p(red) + p(blue) = 1 (two classes).
test('targets in a spec (top-level default, per case; a class wins over the default) and --target for every case', async () => {
  const spec = path.join(dir, 'targets.yaml');
  fs.writeFileSync(
    spec,
    [
      'model: models/colour',
      'target: logit-diff:blue,red',
      'cases:',
      '  - name: why blue and not red',
      '    images: images/a.png',
      '    expect: {topK: 2, region: {boxes: [{x: 40, y: 24, width: 12, height: 12}]}, pointingGame: true, minInside: 0.6}',
      '  - name: the class wins',
      '    images: images/a.png',
      '    class: red',
      '    expect: {topK: 1, region: {boxes: [{x: 8, y: 8, width: 16, height: 16}]}, pointingGame: true}',
      '  - name: both colours',
      '    images: images/a.png',
      '    target: sum:red,blue',
      '    expect: {topK: 1, minProbability: 0.999}',
      '',
    ].join('\n'),
  );
  const r = runCli(['check', spec, '--backend', 'wasm', '--json', '--overlays', 'all', '-o', path.join(dir, 'out-t')]);
  expect(r.code).toBe(0);
  const [diff, red, sum] = JSON.parse(r.stdout).results;
  expect(diff).toMatchObject({ status: 'pass', target: { spec: 'logit-diff:1,0', label: 'blue - red' }, rank: 2 });
  expect(diff.class).toBeUndefined();
  expect(red.class).toEqual({ index: 0, label: 'red' });
  // the target's scores: p(blue) - p(red) = 1 - 2 p(red), and the logits' difference
  expect(diff.probability).toBeCloseTo(1 - 2 * red.probability, 3);
  // with two classes, sigmoid(logit(blue) - logit(red)) = p(blue) = 1 - p(red)
  expect(1 / (1 + Math.exp(-diff.logit))).toBeCloseTo(1 - red.probability, 3);
  expect(diff.overlay).toBe('1-why-blue-and-not-red/a.gradcam.logit-diff-1-0.png');
  expect(sum).toMatchObject({ status: 'pass', target: { spec: 'sum:0,1', label: 'red + blue' }, rank: 1 });
  expect(sum.probability).toBeCloseTo(1, 4);
  // --target for every case: class:blue on the failing spec turns its two checks round
  const t = runCli(['check', 'fail.json', '--backend', 'wasm', '--target', 'class:blue', '-o', path.join(dir, 'out-t2')], { cwd: dir });
  expect(t.code).toBe(1);
  expect(t.stdout).toMatch(/^FAIL +right region +images\/a\.png +gradcam +blue/m);
  expect(t.stdout).toMatch(/^PASS +wrong region +images\/a\.png +gradcam +blue/m);
  // mistakes (in this process: the CLI prints these errors as every spec error, exit 2): class and target in one
  // case (placed), a bad target (placed), a bad --target (named with the case)
  const { check } = await import('../../src/check/run');
  fs.writeFileSync(spec, ['model: models/colour', 'cases:', '  - images: images/a.png', '    class: red', '    target: sum:red,blue', '    expect: {topK: 1}', ''].join('\n'));
  await expect(check(spec, { out: null, backend: 'wasm' })).rejects.toThrow(/targets\.yaml:5:13: cases\[0\]\.target: give either 'class' or 'target', not both/);
  fs.writeFileSync(spec, ['model: models/colour', 'cases:', '  - images: images/a.png', '    target: logit-diff:red', '    expect: {topK: 1}', ''].join('\n'));
  await expect(check(spec, { out: null, backend: 'wasm' })).rejects.toThrow(/targets\.yaml:4:13: cases\[0\]\.target: bad --target 'logit-diff:red': logit-diff: takes two classes/);
  await expect(check(path.join(dir, 'fail.json'), { out: null, backend: 'wasm', target: 'sum:red,purple' })).rejects.toThrow(/--target 'sum:red,purple' for case 'right region' \(model models\/colour\): no class labelled 'purple'/);
});

// What check prints, whatever the output mode: the same probability format in the table and the HTML, a failing
// check's one line on stderr under --json (stdout is the report's alone), names with control characters escaped.
test('--json: FAIL lines on stderr; one probability format in table and HTML; control characters escaped', async () => {
  // all red: p(red) = 1 at four decimals; a.png: p(red) about 0.88
  await squaresImage(path.join(dir, 'images', 'all-red.png'), 16, 16, [{ x: 0, y: 0, size: 16, color: RED }]);
  const spec = path.join(dir, 'formats.yaml');
  fs.writeFileSync(
    spec,
    [
      'model: models/colour',
      'cases:',
      '  - name: "sure\\tof\\u001b[31mred"',
      '    images: [images/all-red.png, images/a.png]',
      '    class: red',
      '    expect: {minProbability: 0.95}',
      '',
    ].join('\n'),
  );
  const out = path.join(dir, 'out-formats');
  const table = runCli(['check', spec, '--backend', 'wasm', '--html', '-o', out]);
  expect(table.code).toBe(1);
  const rows = table.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
  expect(rows).toHaveLength(2);
  // the case name shown with its tab and escape written out, on one line each
  for (const row of rows) expect(row).toContain('sure\\tof\\x1b[31mred');
  expect(table.stdout).not.toMatch(/[\t\x1b]/);
  const probs = rows.map((row) => row.split(/ {2,}/)[5]);
  expect(probs[0]).toBe('1.000');
  expect(probs[1]).toMatch(/^0\.\d{3}$/);
  // the HTML shows the very same strings (it showed 1 beside 0.881)
  const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
  const cells = [...html.matchAll(/<tr class="(?:pass|fail)">(.*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => c[1]));
  expect(cells.map((c) => c.filter((v) => /^\d\.\d{3}$/.test(v))[0])).toEqual(probs);

  const json = runCli(['check', spec, '--backend', 'wasm', '--json', '-o', path.join(dir, 'out-formats-json')]);
  expect(json.code).toBe(1);
  const report = JSON.parse(json.stdout);
  expect(report.results.map((r: { caseName: string }) => r.caseName)).toEqual(['sure\tof\x1b[31mred', 'sure\tof\x1b[31mred']);
  const lines = json.stderr.trim().split('\n');
  expect(lines).toEqual([`FAIL sure\\tof\\x1b[31mred images/a.png (gradcam): probability ${Number(probs[1]).toString().replace(/0+$/, '')} < 0.95`, expect.stringMatching(/^2 checks in 1 case: 1 passed, 1 failed/)]);
});

test('a YAML alias bomb in a spec is a spec error: exit 2, file:line:col, one line', () => {
  const spec = path.join(dir, 'bomb.yaml');
  fs.writeFileSync(spec, ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'cases: [*c]', ''].join('\n'));
  const r = runCli(['check', 'bomb.yaml'], { cwd: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('tfjs-cam: error: bomb.yaml:4:9: aliases expand to too many copies (over 100; an alias bomb?): the spec is refused\n');
  // a plain syntax error: once
  fs.writeFileSync(spec, 'cases:\n  - model: x\n    images: [a\n  bad: : :\n');
  const s = runCli(['check', 'bomb.yaml'], { cwd: dir });
  expect(s.code).toBe(2);
  expect(s.stderr).toBe('tfjs-cam: error: bomb.yaml:4:3: Flow sequence in block collection must be sufficiently indented and end with a ]\n');
});
