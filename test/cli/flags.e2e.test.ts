// Usage errors of explain's flags: one line, exit 2, naming what is wrong.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { SHARED, hasShared, skipNotice, tempDir } from '../helpers/cli';
import { saveModel, smallCnn, spotPng } from '../faults/fixtures';
import { expectRunError, runCli } from '../faults/cli';

let dir: string;
let model: string;
let image: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('flags');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'), { labels: ['ant', 'crane', 'cat', 'crane'] });
  image = path.join(dir, 'a.png');
  fs.writeFileSync(image, await spotPng(30, 30));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--mean / --std must give 1 value or one per channel (3): 2 or 4 values are usage errors', () => {
  for (const [flag, v] of [['--mean', '1,2'], ['--std', '1,2,3,4']]) {
    const r = runCli(['explain', image, '-m', model, '-o', path.join(dir, 'o'), flag, v]);
    expectRunError(r, 2, new RegExp(`^tfjs-cam: error: ${flag} has ${v.split(',').length} values but the model takes 3-channel images: give 1 value \\(for every channel\\) or 3 \\(one per channel\\)$`));
  }
  expect(fs.existsSync(path.join(dir, 'o'))).toBe(false);
});

test("a sidecar whose mean has 2 values is refused naming the sidecar; 1 or 3 values work", async () => {
  const bad = await saveModel(smallCnn(16, 4), path.join(dir, 'model-mean'), { preprocess: { mean: [0.5, 0.5] } });
  await expect(explain([image], { model: bad, out: null })).rejects.toThrow(`${path.join(bad, 'tfjs-cam.json')}: field 'preprocess.mean' has 2 values`);
  for (const mean of [[0.5], [0.4, 0.5, 0.6]]) {
    const { report } = await explain([image], { model: bad, out: null, preprocess: { mean } });
    expect(report.preprocessing.mean).toEqual(mean);
  }
});

test('a label shared by several classes is refused with every index; an index still works', async () => {
  await expect(explain([image], { model, out: null, classes: ['crane'] })).rejects.toThrow("class 'crane' is ambiguous: 2 classes have that label (1 'crane', 3 'crane'); give the index instead");
  const { report } = await explain([image], { model, out: null, classes: ['3'] });
  expect(report.images[0].maps![0].class).toEqual({ index: 3, label: 'crane' });
});

(hasShared ? test : test.skip)('ImageNet: --class crane names both crane classes (428, 544), exit 2', async () => {
  const big = await saveModel(smallCnn(16, 1000), path.join(dir, 'model-1000'));
  const r = runCli(['explain', image, '-m', big, '--labels', path.join(SHARED, 'labels', 'imagenet_darknet_names.json'), '--class', 'crane', '-o', path.join(dir, 'o2')]);
  expectRunError(r, 2, /^tfjs-cam: error: class 'crane' is ambiguous: 2 classes have that label \(428 'crane', 544 'crane'\); give the index instead$/);
});
if (!hasShared) skipNotice('the ImageNet ambiguous-label test');

test('usage errors exit 2 with one line: a backend this machine lacks, evaluate into an existing --out', () => {
  let hasNode = true;
  try {
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    hasNode = false;
  }
  if (!hasNode) {
    const r = runCli(['explain', image, '-m', model, '--backend', 'tensorflow', '-o', path.join(dir, 'o3')]);
    expectRunError(r, 2, /^tfjs-cam: error: backend 'tensorflow' is not available: install @tensorflow\/tfjs-node \(see docs\/backends.md\)$/);
  }
  const evalOut = path.join(dir, 'eval');
  fs.mkdirSync(evalOut);
  fs.writeFileSync(path.join(evalOut, 'evaluation.json'), '{}');
  fs.writeFileSync(path.join(dir, 'boxes.json'), JSON.stringify({ version: 1, images: { 'a.png': { class: 0, boxes: [{ x: 0, y: 0, width: 10, height: 10 }] } } }));
  const r = runCli(['evaluate', image, '-m', model, '--boxes', path.join(dir, 'boxes.json'), '-o', evalOut, '--no-faithfulness']);
  expectRunError(r, 2, new RegExp(`^tfjs-cam: error: ${path.join(evalOut, 'evaluation.json')} exists \\(use --force to overwrite\\)$`));
  expect(fs.readFileSync(path.join(evalOut, 'evaluation.json'), 'utf8')).toBe('{}');
});

test('run errors name their file: the labels file, the sidecar that lists the labels, the model', async () => {
  const labels = path.join(dir, 'three.txt');
  fs.writeFileSync(labels, 'a\nb\nc\n');
  await expect(explain([image], { model, out: null, labels })).rejects.toThrow(`${labels}: the labels list has 3 entries but the model has 4 classes`);
  const side = await saveModel(smallCnn(16, 4), path.join(dir, 'model-side'), { labels: ['a', 'b'] });
  await expect(explain([image], { model: side, out: null })).rejects.toThrow(`${path.join(side, 'tfjs-cam.json')}: the labels list has 2 entries`);
  await expect(explain([image], { model, out: null, layers: ['conv_z'] })).rejects.toThrow(`${path.join(model, 'model.json')}: no layer named 'conv_z' in the model`);
});

test('a sidecar with an unknown field (a typo) is refused with a did-you-mean; grayscale must match the model', async () => {
  const typo = await saveModel(smallCnn(16, 4), path.join(dir, 'model-typo'), { preproces: { scale: [-1, 1] } });
  await expect(explain([image], { model: typo, out: null })).rejects.toThrow(`${path.join(typo, 'tfjs-cam.json')}: unknown field 'preproces' (did you mean 'preprocess'?)`);
  const inner = await saveModel(smallCnn(16, 4), path.join(dir, 'model-typo2'), { preprocess: { sclae: [-1, 1] } });
  await expect(explain([image], { model: inner, out: null })).rejects.toThrow("unknown field 'preprocess.sclae' (did you mean 'preprocess.scale'?)");
  const gray = await saveModel(smallCnn(16, 4), path.join(dir, 'model-gray'), { preprocess: { grayscale: true } });
  await expect(explain([image], { model: gray, out: null })).rejects.toThrow(`${path.join(gray, 'tfjs-cam.json')}: field 'preprocess.grayscale' is true but the model takes 3-channel images (RGB)`);
  const ok = await saveModel(smallCnn(16, 4), path.join(dir, 'model-ok'), { preprocess: { grayscale: false }, description: 'x', trainedAccuracy: 0.9 });
  expect((await explain([image], { model: ok, out: null, topK: 1 })).report.images[0].status).toBe('ok');
});
