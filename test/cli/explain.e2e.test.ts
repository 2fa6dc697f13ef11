// The CLI end to end on small models the test builds and saves, and images it makes.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { saveLayersModel } from '../../src/model/save';
import { decodeNpy } from '../../src/report/npy';
import { residualModel, gapDenseModel } from '../helpers/models';
import { runCli, tempDir } from '../helpers/cli';

let dir: string;
let resnet: tf.LayersModel;

async function makeImage(file: string, w: number, h: number, spot: { x: number; y: number }): Promise<void> {
  const px = Buffer.alloc(w * h * 3, 30);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (Math.abs(x - spot.x) < w / 6 && Math.abs(y - spot.y) < h / 6) px.set([230, 200 - x, 40 + y], (y * w + x) * 3);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('e2e');
  resnet = residualModel({ size: 16, classes: 5, softmax: true });
  await saveLayersModel(resnet, path.join(dir, 'resnet'));
  fs.writeFileSync(path.join(dir, 'resnet', 'tfjs-cam.json'), JSON.stringify({ labels: ['ant', 'bee', 'cat', 'dog', 'eel'], layer: 'target' }));
  const gap = gapDenseModel(16, 4);
  await saveLayersModel(gap, path.join(dir, 'gap'));
  gap.dispose();
  await makeImage(path.join(dir, 'in', 'a.png'), 40, 30, { x: 10, y: 8 });
  await makeImage(path.join(dir, 'in', 'sub', 'b.png'), 33, 47, { x: 25, y: 35 });
  fs.writeFileSync(path.join(dir, 'in', 'sub', 'broken.png'), 'this is not a png');
});

afterAll(() => {
  resnet.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('explain one image: report, overlays at the original size, exact model input and logits', async () => {
  const out = path.join(dir, 'out1');
  const r = runCli(['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'resnet'), '-o', out, '--top-k', '2', '--save-input', '--save-raw', '--heatmap', '--json']);
  expect(r.stderr).toContain('1 image: 1 explained, 0 failed');
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expect(report.schema).toBe('tfjs-cam/explain-report@1');
  expect(report.backend).toBe('wasm');
  expect(report.layers).toEqual(['target']);
  expect(report.model.softmaxSteppedOver).toBe(true);
  const img = report.images[0];
  expect(img.status).toBe('ok');
  expect([img.width, img.height]).toEqual([40, 30]);
  expect(img.maps).toHaveLength(2);

  // The saved input is what the model saw: its logits, computed here by the model itself, are the report's.
  const input = decodeNpy(fs.readFileSync(path.join(out, img.files.input)));
  expect(input.shape).toEqual([1, 16, 16, 3]);
  const probs = tf.tidy(() => (resnet.predict(tf.tensor4d(input.data, [1, 16, 16, 3])) as tf.Tensor).dataSync());
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
  expect(img.top.map((t: { index: number }) => t.index)).toEqual(order.slice(0, 2));
  for (const t of img.top) expect(t.probability).toBeCloseTo(probs[t.index], 3);
  expect(img.top[0].label).toBe(['ant', 'bee', 'cat', 'dog', 'eel'][order[0]]);

  for (const m of img.maps) {
    const meta = await sharp(path.join(out, m.files.overlay)).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([40, 30, 'png']);
    expect(fs.existsSync(path.join(out, m.files.heatmap))).toBe(true);
    const raw = decodeNpy(fs.readFileSync(path.join(out, m.files.raw[0])));
    expect(raw.shape).toEqual([16, 16]);
    expect(m.peak.x).toBeGreaterThanOrEqual(0);
    expect(m.peak.x).toBeLessThanOrEqual(40);
    expect(m.topMassShare).toBeGreaterThanOrEqual(0.2);
    expect(m.topMassShare).toBeLessThanOrEqual(1);
  }
  const onDisk = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(onDisk.images[0].top).toEqual(img.top);
});

test('existing outputs are kept unless --force', () => {
  const out = path.join(dir, 'out2');
  const args = ['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'resnet'), '-o', out, '-k', '1'];
  expect(runCli(args).code).toBe(0);
  const files = fs.readdirSync(out).sort();
  const before = files.map((f) => fs.readFileSync(path.join(out, f)));
  const again = runCli(args);
  // The earlier report.json stops the run before any image (exit 2); test/faults/outputs.test.ts has the rest.
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/exists \(use --force to overwrite\)/);
  expect(fs.readdirSync(out).sort()).toEqual(files);
  files.forEach((f, i) => expect(fs.readFileSync(path.join(out, f)).equals(before[i])).toBe(true));
  expect(runCli([...args, '--force']).code).toBe(0);
});

test('a folder: the output tree mirrors the input, one bad file is counted and the rest go on', () => {
  const out = path.join(dir, 'out3');
  const r = runCli(['explain', path.join(dir, 'in'), '-m', path.join(dir, 'resnet'), '-o', out, '-k', '1']);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/3 images: 2 explained, 1 failed/);
  expect(r.stderr).toMatch(/broken\.png/);
  expect(r.stderr.split('\n').filter((l) => l.includes('broken.png'))).toHaveLength(1);
  expect(fs.readdirSync(path.join(out, 'sub')).filter((f) => f.startsWith('b.'))).toHaveLength(1);
  expect(fs.readdirSync(out).filter((f) => f.startsWith('a.'))).toHaveLength(1);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(report.summary).toEqual({ images: 3, succeeded: 2, failed: 1 });
  expect(report.images.find((i: { file: string }) => i.file.endsWith('broken.png')).status).toBe('error');
});

test('classes by label, CAM on a GAP -> Dense model, and by index', () => {
  const r = runCli(['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'resnet'), '-o', path.join(dir, 'out4'), '--class', 'cat', '--class', '0', '--json', '--method', 'gradcam++']);
  expect(r.code).toBe(0);
  const rep = JSON.parse(r.stdout);
  expect(rep.images[0].maps.map((m: { class: { label: string } }) => m.class.label)).toEqual(['cat', 'ant']);
  const cam = runCli(['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'gap'), '-o', path.join(dir, 'out5'), '--method', 'cam', '--json']);
  expect(cam.code).toBe(0);
  expect(JSON.parse(cam.stdout).layers).toEqual(['feat']);
});

test('usage and model errors: one line, exit 2, no stack trace', () => {
  const img = path.join(dir, 'in', 'a.png');
  const cases: [string[], RegExp][] = [
    [['--method', 'nope'], /unknown method 'nope'/],
    [['--layer', 'targte'], /no layer named 'targte'.*did you mean 'target'/],
    [['--method', 'cam'], /CAM is not possible at layer 'target'/],
    [['--class', 'zebra'], /no class labelled 'zebra'/],
    [['--layer', 'gap'], /not a spatial map/],
    [['--method', 'integrated-gradients', '--baseline', path.join(dir, 'no-such.png')], /--baseline .*no-such\.png: file not found/],
  ];
  for (const [extra, re] of cases) {
    const r = runCli(['explain', img, '-m', path.join(dir, 'resnet'), '-o', path.join(dir, 'out6'), ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }
  const missing = runCli(['explain', img, '-m', path.join(dir, 'nowhere')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/nowhere: model not found/);
  expect(runCli(['explain', img]).code).toBe(2); // --model is required
});

test('inspect marks the default target and explains why CAM is refused', () => {
  const r = runCli(['inspect', '-m', path.join(dir, 'resnet')]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^\* target\s+Conv2D\s+\[16, 16, 4\]$/m);
  expect(r.stdout).toMatch(/CAM: not possible at 'target'/);
  const g = runCli(['inspect', '-m', path.join(dir, 'gap'), '--json']);
  const j = JSON.parse(g.stdout);
  expect(j.defaultLayer).toBe('feat');
  expect(j.cam.possible).toBe(true);
});

test('--method all: every method (CAM left out where impossible) in one run, a comparison sheet, no NaN', async () => {
  const out = path.join(dir, 'out-all');
  const r = runCli(['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'resnet'), '-o', out, '-k', '2', '--method', 'all', '--max-channels', '3', '--noise-samples', '2', '--ig-steps', '4', '--json']);
  expect(r.code).toBe(0);
  const rep = JSON.parse(r.stdout);
  const pixel = ['saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'fullgrad'];
  const expected = ['gradcam', 'gradcam++', 'smoothgradcam++', 'xgradcam', 'layercam', 'hirescam', 'gradcam-elementwise', 'scorecam', 'ablationcam', 'eigencam', 'eigengradcam', 'shapleycam', 'finercam', 'fem', 'kpca-cam', ...pixel.slice(0, 4), 'guided-gradcam', 'fullgrad'];
  expect(rep.methods).toEqual(expected);
  // RefineCAM multiplies the maps of several layers: with one it would be Grad-CAM++
  expect(rep.notes).toEqual([expect.stringMatching(/^--method all left out cam: .*; refinecam: RefineCAM multiplies/)]);
  const maps = rep.images[0].maps;
  expect(maps).toHaveLength(expected.length * 2);
  for (const m of maps) {
    expect(Number.isFinite(m.topMassShare)).toBe(true);
    // 'eel' has only negative weights in the dense layer: no positive gradient survives guided backprop
    const guidedFlat = m.class.label === 'eel' && ['guided-backprop', 'guided-gradcam'].includes(m.method);
    expect(m.flat).toBe(guidedFlat);
    if (guidedFlat) expect(rep.images[0].warnings).toContain(`the ${m.method} map of 'eel' is flat: guided backprop lets only positive gradients through the ReLUs and none reaches the input (near the logits every path lowers this class's score, e.g. all its weights there are negative)`);
    else expect(Number.isFinite(m.peak.x) && Number.isFinite(m.peak.y)).toBe(true);
    expect(fs.existsSync(path.join(out, m.files.overlay))).toBe(true);
    // pixel-level methods name no target layer; Integrated Gradients reports its completeness error
    expect(m.layers).toEqual(pixel.includes(m.method) ? [] : rep.layers);
    expect(Number.isFinite(m.completenessError)).toBe(m.method === 'integrated-gradients');
  }
  const sheet = await sharp(path.join(out, rep.images[0].files.sheet)).metadata();
  // 17 methods x 2 classes as a grid that fits a 1920 x 1080 screen (it used to be an 11-row strip)
  expect(sheet.width).toBeGreaterThan(2 * 100);
  expect(sheet.width).toBeLessThanOrEqual(1920);
  expect(sheet.height).toBeLessThanOrEqual(1080);
});

test('--baseline: Integrated Gradients from the image itself attributes nothing (flat map, completeness error 0); from black it does', () => {
  const img = path.join(dir, 'in', 'a.png');
  const run = (extra: string[]) => {
    const r = runCli(['explain', img, '-m', path.join(dir, 'resnet'), '-o', path.join(dir, `out-ig${extra.length}`), '-k', '1', '--method', 'integrated-gradients', '--ig-steps', '8', '--json', ...extra]);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout).images[0];
  };
  const same = run(['--baseline', img]);
  expect(same.maps[0].flat).toBe(true);
  expect(same.maps[0].completenessError).toBe(0);
  const black = run([]);
  expect(black.maps[0].flat).toBe(false);
  expect(Number.isFinite(black.maps[0].completenessError)).toBe(true);
});

test('--target: logit-diff and sum beside --class; file names, report fields, console; workers and --resume agree', () => {
  const args = (out: string, extra: string[]) => ['explain', path.join(dir, 'in'), '-m', path.join(dir, 'resnet'), '-o', path.join(dir, out), '--method', 'gradcam,saliency', '-c', 'cat', '--target', 'logit-diff:ant,bee', '--target', 'sum:0,2', '--target', 'class:2', '--no-timings', ...extra];
  const one = runCli(args('out-t1', ['--jobs', '1', '--json']));
  expect(one.code).toBe(1); // the broken file
  const rep = JSON.parse(one.stdout);
  const img = rep.images.find((i: { status: string }) => i.status === 'ok');
  // class:2 is 'cat', given twice: explained once
  expect(img.maps.map((m: { method: string; class?: { label: string }; target?: { spec: string; label: string } }) => `${m.method} ${m.class?.label ?? ''}${m.target ? `${m.target.spec}=${m.target.label}` : ''}`)).toEqual([
    'gradcam cat', 'gradcam logit-diff:0,1=ant - bee', 'gradcam sum:0,2=ant + cat',
    'saliency cat', 'saliency logit-diff:0,1=ant - bee', 'saliency sum:0,2=ant + cat',
  ]);
  expect(img.maps[1].files.overlay).toMatch(/\.gradcam\.logit-diff-0-1\.png$/);
  expect(img.maps[2].files.overlay).toMatch(/\.gradcam\.sum-0-2\.png$/);
  const two = runCli(args('out-t2', ['--jobs', '2', '--json']));
  expect(JSON.parse(two.stdout).images.map((i: { maps?: unknown }) => i.maps)).toEqual(rep.images.map((i: { maps?: unknown }) => i.maps));
  const again = runCli(args('out-t1', ['--jobs', '1', '--resume']));
  expect(again.code).toBe(1);
  expect((again.stdout + again.stderr).match(/outputs from the earlier run kept/g)).toHaveLength(2); // same targets: nothing redone
  const plain = runCli(args('out-t4', []));
  expect(plain.stdout + plain.stderr).toMatch(/a\.png: cat \(\d+\.\d%\), ant - bee, ant \+ cat\n/);
  expect(runCli(args('out-t3', ['--target', 'logit-diff:ant'])).stderr).toMatch(/bad --target 'logit-diff:ant': logit-diff: takes two classes/);
});

test('--jobs 2 gives the same files, bytes and report order as --jobs 1', () => {
  const run = (jobs: string) => {
    const out = path.join(dir, `out-jobs${jobs}`);
    const r = runCli(['explain', path.join(dir, 'in'), '-m', path.join(dir, 'resnet'), '-o', out, '-k', '2', '--jobs', jobs, '--no-timings', '--json']);
    expect(r.code).toBe(1); // the broken file
    const files = fs.readdirSync(out, { recursive: true }).map(String).filter((f) => f.endsWith('.png')).sort();
    return { report: JSON.parse(r.stdout), files, bytes: files.map((f) => fs.readFileSync(path.join(out, f)).toString('base64')) };
  };
  const one = run('1');
  const two = run('2');
  expect(one.files.length).toBe(4);
  expect(two.files).toEqual(one.files);
  expect(two.bytes).toEqual(one.bytes);
  const strip = (rep: { output: { dir: string } }) => ({ ...rep, output: { ...rep.output, dir: '' } });
  expect(strip(two.report)).toEqual(strip(one.report));
});

test('one image with --jobs 2: Score-CAM and Ablation-CAM channels spread over a worker give the same maps', () => {
  const run = (jobs: string) => {
    const out = path.join(dir, `out-ch${jobs}`);
    const r = runCli(['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'resnet'), '-o', out, '-k', '2', '--method', 'scorecam,ablationcam', '--batch-size', '1', '--jobs', jobs, '--save-raw', '--json']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    return rep.images[0].maps.map((m: { files: { raw: string[] } }) => decodeNpy(fs.readFileSync(path.join(out, m.files.raw[0]))).data);
  };
  const one = run('1');
  const two = run('2');
  expect(one).toHaveLength(4);
  one.forEach((m: Float32Array, i: number) => {
    expect(Math.max(...m)).toBeGreaterThan(0);
    m.forEach((v, j) => expect(two[i][j]).toBeCloseTo(v, 5));
  });
});
