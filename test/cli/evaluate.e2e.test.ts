// `tfjs-cam evaluate` end to end on images the test draws (a bright square on black) with their boxes, and a
// GAP -> Dense model whose class 0 responds to brightness: maps must land on the square.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend';
import { saveLayersModel } from '../../src/model/save';
import { brightnessModel } from '../helpers/models';
import { spawnSync } from 'child_process';
import { ROOT, runCli, tempDir } from '../helpers/cli';

let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('eval');
  // class 0 = brightness, class 1 = its negative
  await saveLayersModel(brightnessModel(), path.join(dir, 'm'));
  const boxes: Record<string, unknown> = {};
  const spots = [
    [4, 4],
    [20, 8],
    [10, 22],
  ];
  for (const [i, [x, y]] of spots.entries()) {
    const px = Buffer.alloc(32 * 32 * 3);
    for (let r = y; r < y + 8; r++) for (let c = x; c < x + 8; c++) px.fill(255, (r * 32 + c) * 3, (r * 32 + c) * 3 + 3);
    await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(path.join(dir, `s${i}.png`));
    boxes[`s${i}.png`] = { class: 0, boxes: [{ x, y, width: 8, height: 8 }] };
  }
  fs.writeFileSync(path.join(dir, 'boxes.json'), JSON.stringify({ version: 1, images: boxes }));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('evaluate reports perfect localisation where the map is the object, and writes the curves', async () => {
  const out = path.join(dir, 'eval');
  const r = runCli(['evaluate', '-m', path.join(dir, 'm'), '--boxes', path.join(dir, 'boxes.json'), '--method', 'gradcam,layercam', '--steps', '8', '-o', out, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const rep = JSON.parse(r.stdout);
  expect(rep.images.evaluated).toBe(3);
  expect(rep.images.top1Accuracy).toBe(1);
  for (const m of rep.methods) {
    expect(m.pointingGame).toBe(1);
    expect(m.localisation).toBe(1);
    expect(m.energyInBox).toBeGreaterThan(0.8); // bilinear upsampling spreads a little mass past the edges
    // removing the square first kills the score at once; inserting it first restores it
    expect(m.deletionAuc).toBeLessThan(m.insertionAuc);
    expect(m.curves.deletion).toHaveLength(9);
  }
  const png = await sharp(path.join(out, 'curves.png')).metadata();
  expect(fs.existsSync(path.join(out, 'index.html'))).toBe(false);
  const withHtml = runCli(['evaluate', '-m', path.join(dir, 'm'), '--boxes', path.join(dir, 'boxes.json'), '--method', 'gradcam', '--steps', '4', '-o', path.join(dir, 'eval-html'), '--html']);
  expect(withHtml.code).toBe(0);
  const html = fs.readFileSync(path.join(dir, 'eval-html', 'index.html'), 'utf8');
  expect(html).toContain('gradcam');
  expect(html).toContain('100.0%');
  expect(html).toMatch(/<img[^>]+src="data:image\/png;base64,/); // the curves, embedded
  expect(png.width).toBeGreaterThan(400);
  const table = runCli(['evaluate', '-m', path.join(dir, 'm'), '--boxes', path.join(dir, 'boxes.json'), '--no-faithfulness', '-o', path.join(dir, 'eval2')]);
  expect(table.code).toBe(0);
  // Complexity needs no forward pass: measured even so (the square: 16 of 256 input pixels at 1, the rest 0)
  expect(table.stdout).toMatch(/^gradcam\s+100\.0%\s+\d+\.\d%\s+100\.0%\s+100\.0%(\s+n\/a){7}\s+0\.063(\s+n\/a){2}$/m);
});

test('evaluation.json has a row per image and method; --overlays writes explain\'s overlays into --out', () => {
  const model = path.join(dir, 'm');
  const out = path.join(dir, 'eval-rows');
  const r = runCli(['evaluate', '-m', model, '--boxes', path.join(dir, 'boxes.json'), '--method', 'gradcam,layercam', '--steps', '8', '--overlays', '-o', out]);
  expect(r.code).toBe(0);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8'));
  expect(rep.perImage.map((row: { file: string }) => path.basename(row.file))).toEqual(['s0.png', 's1.png', 's2.png']);
  for (const row of rep.perImage) {
    expect(row.class.index).toBe(0);
    expect(row.top1).toBe(true);
    expect(row.probability).toBeGreaterThan(0.5);
    expect(row.methods.map((m: { method: string }) => m.method)).toEqual(['gradcam', 'layercam']);
    for (const m of row.methods) {
      expect(m).toMatchObject({ pointingHit: true, localisationHit: true });
      expect(m.energyInBox).toBeGreaterThan(0.8);
      expect(m.deletionAuc).toBeLessThan(m.insertionAuc);
      expect(m.drop).toBeGreaterThanOrEqual(0);
      expect(m.drop).toBeCloseTo(Math.max(0, ((row.probability - m.maskedProbability) / row.probability) * 100), 1);
      expect(m.increase).toBe(m.maskedProbability > row.probability);
      // the overlay is explain's: same pixels, same name, at the image's size
      expect(m.overlay).toMatch(new RegExp(`^${path.basename(row.file, '.png')}\\.${m.method}\\.0-[a-z0-9-]+\\.png$`));
    }
  }
  // the method scores are the means of the rows (AUC is linear: mean of AUCs = AUC of the mean curve)
  for (const [k, ms] of rep.methods.entries()) {
    const mine = rep.perImage.map((row: { methods: Record<string, number>[] }) => row.methods[k]);
    const mean = (f: string) => mine.reduce((s: number, m: Record<string, number>) => s + Number(m[f]), 0) / mine.length;
    expect(ms.energyInBox).toBeCloseTo(mean('energyInBox'), 3);
    expect(ms.deletionAuc).toBeCloseTo(mean('deletionAuc'), 3);
    expect(ms.insertionAuc).toBeCloseTo(mean('insertionAuc'), 3);
    expect(ms.averageDrop).toBeCloseTo(mean('drop'), 2);
  }
  expect(rep.files.overlays).toBe(6);
  const pngs = fs.readdirSync(out).filter((f) => f.endsWith('.png')).sort();
  expect(pngs).toHaveLength(7); // 3 images x 2 methods + curves.png, nothing half-written
  expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const ex = runCli(['explain', path.join(dir, 's1.png'), '-m', model, '--method', 'gradcam', '--class', '0', '-o', path.join(dir, 'ex-rows')]);
  expect(ex.code).toBe(0);
  const row1 = rep.perImage[1].methods[0];
  expect(fs.readFileSync(path.join(out, row1.overlay)).equals(fs.readFileSync(path.join(dir, 'ex-rows', row1.overlay)))).toBe(true);
  // without --overlays: no overlay written, none named; with --no-faithfulness the faithfulness numbers are null
  const plain = runCli(['evaluate', '-m', model, '--boxes', path.join(dir, 'boxes.json'), '--no-faithfulness', '--json', '-o', path.join(dir, 'eval-rows2')]);
  expect(plain.code).toBe(0);
  const p = JSON.parse(plain.stdout);
  expect(p.perImage).toHaveLength(3);
  expect(p.perImage[0].methods[0]).toMatchObject({ method: 'gradcam', pointingHit: true, localisationHit: true, maskedProbability: null, drop: null, increase: null, deletionAuc: null, insertionAuc: null });
  expect(p.perImage[0].methods[0].overlay).toBeUndefined();
  expect(fs.readdirSync(path.join(dir, 'eval-rows2'))).toEqual(['evaluation.json']);
});

test('one line for each boxes entry without its image and each image without an entry, counted in the summary', () => {
  const part = path.join(dir, 'partial');
  fs.mkdirSync(part, { recursive: true });
  fs.copyFileSync(path.join(dir, 's0.png'), path.join(part, 's0.png'));
  fs.copyFileSync(path.join(dir, 's1.png'), path.join(part, 'extra.png'));
  const box = { class: 0, boxes: [{ x: 4, y: 4, width: 8, height: 8 }] };
  fs.writeFileSync(path.join(part, 'boxes.json'), JSON.stringify({ version: 1, images: { 's0.png': box, 'gone.png': box } }));
  const run = () => runCli(['evaluate', '-m', path.join(dir, 'm'), '--boxes', path.join(part, 'boxes.json'), '--no-faithfulness', '--overlays', '-o', path.join(part, 'out'), '--force']);
  for (const r of [run(), run()]) {
    // the second run does not take the first one's overlays (inside the folder) for images without boxes
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^missing \S*partial\/gone\.png: has boxes in \S*boxes\.json but there is no such image$/);
    expect(lines[1]).toMatch(/^skip \S*partial\/extra\.png: no entry in \S*boxes\.json, not evaluated$/);
    expect(r.stdout).toContain('1 images, top-1 accuracy 100.0% (not evaluated: 1 box entry without its image, 1 image without boxes)');
  }
  const rep = JSON.parse(fs.readFileSync(path.join(part, 'out', 'evaluation.json'), 'utf8'));
  expect(rep.images.evaluated).toBe(1);
  expect(rep.images.missing).toEqual([expect.stringMatching(/gone\.png$/)]);
  expect(rep.images.unboxed).toEqual([expect.stringMatching(/extra\.png$/)]);
  // an entry for an existing image that was not asked for is not missing
  const one = runCli(['evaluate', path.join(part, 'extra.png'), path.join(dir, 's0.png'), '-m', path.join(dir, 'm'), '--boxes', path.join(dir, 'boxes.json'), '--no-faithfulness', '-o', path.join(part, 'out2')]);
  expect(one.code).toBe(0);
  expect(one.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^skip \S*extra\.png: no entry/)]);
});

// `script` gives the CLI a terminal, as a user's shell does; without one (every other test) stderr has no bar.
const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript) console.log('skipped the evaluate progress-bar test: the `script` command is not installed');
(hasScript ? test : test.skip)('on a terminal, a progress bar from the first image on, moving during the faithfulness passes', () => {
  const cmd = [process.execPath, path.join(ROOT, 'bin', 'tfjs-cam'), 'evaluate', '-m', path.join(dir, 'm'), '--boxes', path.join(dir, 'boxes.json'), '--steps', '8', '--road', '-o', path.join(dir, 'eval-tty'), '--force'].join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });
  expect(r.status).toBe(0);
  const screen = r.stdout;
  // before the first image is done: 0 of 3, then its 2 + 2 x 8 - 1 = 17 deletion/insertion inputs (one batch),
  // then (--road) ROAD's 2 x 9 imputed images: 35 passes
  expect(screen).toMatch(/\r\x1b\[2K\[\.{24}\] 0\/3 \S*s0\.png\r/);
  expect(screen).toMatch(/\r\x1b\[2K\[\.{24}\] 0\/3 \S*s0\.png \(17\/35 passes\)/);
  expect(screen).toMatch(/\r\x1b\[2K\[\.{24}\] 0\/3 \S*s0\.png \(35\/35 passes\)/);
  expect(screen).toMatch(/\r\x1b\[2K\[#{8}\.{16}\] 1\/3 .*s1\.png/);
  expect(screen).toMatch(/\r\x1b\[2K\[#{24}\] 3\/3 /);
  // cleared before the table
  expect(screen).toMatch(/\r\x1b\[2K\S+, layer feat, 3 images/);
});

test('--jobs spreads the faithfulness passes over threads with the same numbers as one thread', () => {
  const run = (jobs: string) => {
    const r = runCli(['evaluate', '-m', path.join(dir, 'm'), '--boxes', path.join(dir, 'boxes.json'), '--method', 'gradcam,layercam', '--steps', '8', '--jobs', jobs, '-o', path.join(dir, `eval-j${jobs}`), '--json']);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout);
  };
  const one = run('1');
  const three = run('3'); // this thread and 2 workers (once loaded) take chunks of every image's 2 + 2 x 15 inputs
  expect(three.methods).toEqual(one.methods);
  expect(three.perImage).toEqual(one.perImage);
  expect(one.methods[0].deletionAuc).toBeLessThan(one.methods[0].insertionAuc);
});

test('nothing measured is n/a in the table and null in JSON, never a 0.0% that reads as a score', () => {
  const model = path.join(dir, 'm');
  // --no-faithfulness: the localisation scores are there, the faithfulness ones were not measured
  const nf = runCli(['evaluate', '-m', model, '--boxes', path.join(dir, 'boxes.json'), '--no-faithfulness', '-o', path.join(dir, 'eval-nf'), '--json']);
  expect(nf.code).toBe(0);
  const m = JSON.parse(nf.stdout).methods[0];
  expect(m.pointingGame).toBe(1);
  expect([m.averageDrop, m.increaseInConfidence, m.deletionAuc, m.insertionAuc, m.curves, m.roadMorf, m.roadLerf, m.roadCombined, m.roadCurves, m.coherency, m.adcc, m.arcc]).toEqual([null, null, null, null, null, null, null, null, null, null, null, null]);
  expect(fs.existsSync(path.join(dir, 'eval-nf', 'curves.png'))).toBe(false);
  // the only image with a box cannot be read: no map of any method was measured
  const broken = path.join(dir, 'broken');
  fs.mkdirSync(broken, { recursive: true });
  fs.writeFileSync(path.join(broken, 'x.png'), Buffer.from('\x89PNG\r\n\x1a\n this is not a png'));
  fs.writeFileSync(path.join(broken, 'boxes.json'), JSON.stringify({ version: 1, images: { 'x.png': { class: 0, boxes: [{ x: 1, y: 1, width: 4, height: 4 }] } } }));
  const out = path.join(dir, 'eval-broken');
  const r = runCli(['evaluate', '-m', model, '--boxes', path.join(broken, 'boxes.json'), '--method', 'gradcam,layercam', '-o', out]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/FAIL .*x\.png: /);
  expect(r.stdout).toContain('0 images, top-1 accuracy n/a');
  expect(r.stdout).toMatch(/^gradcam\s+(n\/a\s+){13}n\/a$/m);
  expect(r.stdout).toMatch(/^layercam\s+(n\/a\s+){13}n\/a$/m);
  expect(r.stdout).not.toContain('0.0%');
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8'));
  expect(rep.images.top1Accuracy).toBeNull();
  expect(rep.methods[0]).toMatchObject({ images: 0, pointingGame: null, energyInBox: null, localisation: null, top1Localisation: null, averageDrop: null, deletionAuc: null, complexity: null, coherency: null, adcc: null });
});

test('a boxes file with a bad field is a usage error naming the field', () => {
  fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ version: 1, images: { 's0.png': { class: 0, boxes: [{ x: 1, y: 1, width: -3, height: 2 }] } } }));
  const r = runCli(['evaluate', '-m', path.join(dir, 'm'), '--boxes', path.join(dir, 'bad.json')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/bad\.json: images\['s0\.png'\]\.boxes\[0\] must have a positive width and height/);
});

test('a boxes file that says two things, or not what is read, is refused before any image: class vs label, unknown fields, [x1, y1, x2, y2]', () => {
  const labels = path.join(dir, 'bright-dark.txt');
  fs.writeFileSync(labels, 'bright\ndark\n');
  const refused = (images: Record<string, unknown>, top: Record<string, unknown> = {}) => {
    fs.writeFileSync(path.join(dir, 'said.json'), JSON.stringify({ version: 1, images, ...top }));
    const r = runCli(['evaluate', '-m', path.join(dir, 'm'), '--labels', labels, '--boxes', path.join(dir, 'said.json'), '-o', path.join(dir, 'eval-said')]);
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'eval-said'))).toBe(false);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0].replace(`${path.join(dir, 'said.json')}: `, '');
  };
  const box = { x: 4, y: 4, width: 8, height: 8 };
  // which class was meant cannot be known: both named (it used the class in silence)
  expect(refused({ 's0.png': { class: 0, label: 'dark', boxes: [box] } })).toBe("tfjs-cam: error: images['s0.png']: class 0 ('bright') and label 'dark' (class 1) disagree; give one, or make them agree");
  expect(refused({ 's0.png': { label: 'grey', boxes: [box] } })).toMatch(/^tfjs-cam: error: images\['s0\.png'\]\.label: no class labelled 'grey'/);
  expect(refused({ 's0.png': { class: 5, boxes: [box] } })).toBe("tfjs-cam: error: images['s0.png'].class 5 is not a class of the model (it has 2: 0 to 1)");
  // fields that are not read are refused with the one meant
  expect(refused({ 's0.png': { class: 0, bbox: [box] } })).toBe("tfjs-cam: error: images['s0.png'] has an unknown field 'bbox' (did you mean 'boxes'?); known: class, label, boxes");
  expect(refused({ 's0.png': { class: 0, boxes: [{ ...box, widht: 8 }] } })).toBe("tfjs-cam: error: images['s0.png'].boxes[0] has an unknown field 'widht' (did you mean 'width'?); known: x, y, width, height");
  expect(refused({}, { imgs: {} })).toBe("tfjs-cam: error: the file has an unknown field 'imgs' (did you mean 'images'?); known: version, images");
  // a box as a list of corners: the shape expected, not "x must be a number"
  expect(refused({ 's0.png': { class: 0, boxes: [[4, 4, 12, 12]] } })).toBe(`tfjs-cam: error: images['s0.png'].boxes[0] must be an object {"x": left, "y": top, "width": w, "height": h} in the image's pixels; got [4,4,12,12]`);
});

test('a box the model sees none of is said, not scored 0%; an image left without boxes is counted as unusable', () => {
  const off = path.join(dir, 'off');
  fs.mkdirSync(off, { recursive: true });
  for (const f of ['s0.png', 's1.png', 's2.png']) fs.copyFileSync(path.join(dir, f), path.join(off, f));
  fs.writeFileSync(
    path.join(off, 'boxes.json'),
    JSON.stringify({
      version: 1,
      images: {
        's0.png': { class: 0, boxes: [{ x: 4, y: 4, width: 8, height: 8 }] },
        // the images are 32x32: this box is wholly right of s1
        's1.png': { class: 0, boxes: [{ x: 40, y: 8, width: 8, height: 8 }] },
        // one box on the square, one below the image: scored against the first alone, and said
        's2.png': { class: 0, boxes: [{ x: 10, y: 22, width: 8, height: 8 }, { x: 0, y: 33, width: 5, height: 5 }] },
      },
    }),
  );
  const r = runCli(['evaluate', '-m', path.join(dir, 'm'), '--boxes', path.join(off, 'boxes.json'), '--no-faithfulness', '-o', path.join(off, 'out')]);
  expect(r.code).toBe(0);
  expect(r.stderr.trim().split('\n')).toEqual([
    expect.stringMatching(/^unusable \S*off\/s1\.png: its box lies outside the image \(32x32 pixels\) \(\S*boxes\.json\); not evaluated$/),
    expect.stringMatching(/^warn \S*off\/s2\.png: boxes\[1\] lies outside the image \(32x32 pixels\): measured against the other box \(\S*boxes\.json\)$/),
  ]);
  expect(r.stdout).toContain('2 images, top-1 accuracy 100.0% (not evaluated: 1 image whose boxes the model does not see)');
  // the two images scored are scored as before: the square is found (s1's 0% is not averaged in)
  expect(r.stdout).toMatch(/^gradcam\s+100\.0%/m);
  const rep = JSON.parse(fs.readFileSync(path.join(off, 'out', 'evaluation.json'), 'utf8'));
  expect(rep.images.evaluated).toBe(2);
  expect(rep.images.unusable).toEqual([{ file: path.join(off, 's1.png'), reason: 'its box lies outside the image (32x32 pixels)' }]);
  expect(rep.perImage.map((row: { file: string }) => path.basename(row.file))).toEqual(['s0.png', 's2.png']);
  expect(rep.perImage[1].warnings).toEqual(['boxes[1] lies outside the image (32x32 pixels): measured against the other box']);
  expect(rep.perImage[1].methods[0].pointingHit).toBe(true);
});

// The model's class-0 logit is z = 1.5 x mean over pixels of relu(r + g + b), so p = sigmoid(2z): with the 4x4
// square (value 1 in each channel) on the 16x16 input, z = 1.5 x 3 x 16/256 and p = 0.637. Grad-CAM's map is the
// square. ROAD MoRF removes the square first (all levels are >= 10% > 16/256): every kept pixel is black, so the
// imputation is exactly 0 plus noise of sigma 0.01 (1% of the input's range), and p = 0.5 plus relu of that noise
// (< 0.01). LeRF keeps the square: imputed values lie between 0 and 1, so z can only grow and p >= 0.637.
test('ROAD in evaluate: MoRF removes the square (p = 0.5), LeRF keeps it (p >= 0.637); seeded; in table, JSON and curves', () => {
  const model = path.join(dir, 'm');
  const out = path.join(dir, 'eval-road');
  const args = ['evaluate', '-m', model, '--boxes', path.join(dir, 'boxes.json'), '--method', 'gradcam', '--steps', '4', '--road'];
  const r = runCli([...args, '-o', out]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^method\s+pointing.*deletion\s+insertion\s+road-morf\s+road-lerf\s+road\s+complexity\s+coherency\s+adcc\s+arcc$/m);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8'));
  expect(rep.settings.road).toEqual({ fractions: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], noise: 0.01, seed: 0 });
  const m = rep.methods[0];
  expect(m.roadCurves.morf).toHaveLength(9);
  for (const v of m.roadCurves.morf) {
    expect(v).toBeGreaterThanOrEqual(0.5);
    expect(v).toBeLessThan(0.51);
  }
  for (const v of m.roadCurves.lerf) expect(v).toBeGreaterThanOrEqual(0.6369);
  expect(m.roadCombined).toBeCloseTo((m.roadLerf - m.roadMorf) / 2, 4);
  expect(m.roadCombined).toBeGreaterThan(0.06);
  for (const row of rep.perImage) {
    expect(row.probability).toBeCloseTo(1 / (1 + Math.exp(-2 * 1.5 * 3 * (16 / 256))), 3);
    expect(row.methods[0].roadMorf).toBeGreaterThanOrEqual(0.5);
    expect(row.methods[0].roadMorf).toBeLessThan(0.51);
    expect(row.methods[0].roadLerf).toBeGreaterThanOrEqual(0.6369);
  }
  // the means of the rows are the method's
  expect(m.roadMorf).toBeCloseTo(rep.perImage.reduce((s: number, row: { methods: { roadMorf: number }[] }) => s + row.methods[0].roadMorf, 0) / 3, 3);
  expect(rep.files.curves).toBe('curves.png');
  // ARCC's measures by hand. The map is 1 on the square's 4 x 4 input pixels and 0 elsewhere, so the image times the
  // map is the image: the same map again (Coherency 1), Complexity 16 / 256, no drop; ADCC = 3 / (1 + 1 / 0.9375 + 1).
  // ARCC puts clip(2 x ROADCombined) in the drop's place, ROADCombined = (LeRF - MoRF) / 2 of each image.
  for (const row of rep.perImage) {
    const r0 = row.methods[0];
    expect(r0.complexity).toBe(0.0625);
    expect(r0.coherency).toBeCloseTo(1, 4);
    expect(r0.adcc).toBeCloseTo(3 / (1 + 1 / 0.9375 + 1), 4);
    expect(r0.arcc).toBeCloseTo(3 / (1 + 1 / 0.9375 + 1 / Math.min(1, r0.roadLerf - r0.roadMorf)), 3);
  }
  expect(m.arcc).toBeCloseTo(rep.perImage.reduce((s: number, row: { methods: { arcc: number }[] }) => s + row.methods[0].arcc, 0) / 3, 3);
  expect(m.arcc).toBeLessThan(m.adcc); // ROAD's ~0.25 is a weaker score than no drop at all
  // --no-arcc: no second explanation, so no Coherency and nothing built on it; Complexity stays
  const skipped = JSON.parse(runCli([...args, '--json', '--no-arcc', '-o', path.join(dir, 'eval-road4')]).stdout);
  expect([skipped.methods[0].complexity, skipped.methods[0].coherency, skipped.methods[0].adcc, skipped.methods[0].arcc]).toEqual([0.0625, null, null, null]);
  // --seed changes the noise (the same seed gives the same numbers: the --jobs test compares two runs; without --road:
  // the next test)
  const seeded = JSON.parse(runCli([...args, '--json', '--seed', '5', '-o', path.join(dir, 'eval-road3')]).stdout);
  expect(seeded.methods[0].roadCurves.morf).not.toEqual(m.roadCurves.morf);
  expect(seeded.methods[0].deletionAuc).toBe(m.deletionAuc);
});

// logit-diff:0,1 scores p0 - p1 = 2 p0 - 1 on probabilities; its gradient is twice class 0's, so Grad-CAM's map
// (normalised) is the same square, and every faithfulness number is 2 p - 1 of the class-0 one.
test('evaluate --target: the maps and faithfulness follow the target; one target only', () => {
  const model = path.join(dir, 'm');
  const base = ['evaluate', '-m', model, '--boxes', path.join(dir, 'boxes.json'), '--method', 'gradcam', '--steps', '4', '--json'];
  const cls = JSON.parse(runCli([...base, '-o', path.join(dir, 'eval-t0')]).stdout);
  // ROAD is asked for (--road): without it, ROAD is left out and nothing else
  expect(cls.settings.road).toBeNull();
  expect(cls.methods[0]).toMatchObject({ roadMorf: null, roadLerf: null, roadCombined: null, roadCurves: null });
  expect(cls.methods[0].deletionAuc).not.toBeNull();
  const r = runCli([...base.filter((x) => x !== '--json'), '--target', 'logit-diff:0,1', '-o', path.join(dir, 'eval-t1')]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('target logit-diff:0,1 (0 - 1)');
  const rep = JSON.parse(fs.readFileSync(path.join(dir, 'eval-t1', 'evaluation.json'), 'utf8'));
  expect(rep.target).toEqual({ spec: 'logit-diff:0,1', label: '0 - 1' });
  const [a, b] = [cls.perImage[0], rep.perImage[0]];
  expect(b.class.index).toBe(0); // the ground truth is still the boxes' class
  expect(b.methods[0].pointingHit).toBe(true);
  expect(b.methods[0].energyInBox).toBeCloseTo(a.methods[0].energyInBox, 4);
  expect(b.methods[0].maskedProbability).toBeCloseTo(2 * a.methods[0].maskedProbability - 1, 3);
  // a difference of probabilities has no relative drop: n/a, not a ratio of near-zero numbers
  expect(b.methods[0].drop).toBeNull();
  expect(rep.methods[0].averageDrop).toBeNull();
  expect(rep.methods[0].increaseInConfidence).not.toBeNull();
  expect(b.methods[0].deletionAuc).toBeCloseTo(2 * a.methods[0].deletionAuc - 1, 3);
  const two = runCli([...base, '--target', 'class:0', '--target', 'class:1', '-o', path.join(dir, 'eval-t3')]);
  expect(two.code).toBe(2);
  expect(two.stderr).toMatch(/evaluate takes one --target \(got 2/);
});
