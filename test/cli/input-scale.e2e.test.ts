// Issue #20, end to end through the CLI on models the test saves as users have them: a model that rescales its
// own input is fed 0..255 (and says so), a run whose every image gets one class above 99% with nothing saying the
// scale warns once (worker threads included), a 1-channel model gets grey as the sidecar or --gray says, --bgr
// shows per-channel values as applied, and labels come from model.json's metadata or are named when they do not fit.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../../src/image/decode';
import { toGray } from '../../src/image/fit';
import { decodeNpy } from '../../src/report/npy';
import { runCli, tempDir } from '../helpers/cli';
import { saveModel, spotPng } from '../faults/fixtures';

let dir: string;
const images: string[] = [];

const init = (seed: number) => tf.initializers.glorotUniform({ seed });
const body = (channels: number, first: tf.layers.Layer[] = []) => [
  ...first,
  tf.layers.conv2d({ ...(first.length ? {} : { inputShape: [16, 16, channels] }), filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(3), name: 'conv' }),
  tf.layers.globalAveragePooling2d({ name: 'gap' }),
];

beforeAll(async () => {
  dir = tempDir('scale');
  // Three different photos; the first at the model's size, so its input is the image itself.
  for (const [i, [w, h, sx]] of [[16, 16, 5], [48, 36, 30], [40, 40, 12]].entries()) {
    images.push(path.join(dir, `img${i}.png`));
    fs.writeFileSync(images[i], await spotPng(w, h, sx));
  }
  // Rescaling(1/255) first; its labels in model.json's userDefinedMetadata.
  const rescale = tf.sequential({ layers: [...body(3, [tf.layers.rescaling({ inputShape: [16, 16, 3], scale: 1 / 255, name: 'rescale' })]), tf.layers.dense({ units: 3, kernelInitializer: init(4), name: 'fc' })] });
  await saveModel(rescale, path.join(dir, 'rescale'));
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'rescale', 'model.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'rescale', 'model.json'), JSON.stringify({ ...json, userDefinedMetadata: { classNames: ['ant', 'bee', 'cow'] } }));
  // A model sure of class 0 whatever it sees (a bias of 12 over weights near 0): the symptom of a wrong scale.
  const sure = tf.sequential({ layers: [...body(3), tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.constant({ value: 0.01 }), biasInitializer: tf.initializers.constant({ value: 0 }), activation: 'softmax', name: 'fc' })] });
  sure.getLayer('fc').setWeights([tf.fill([4, 3], 0.01), tf.tensor1d([12, 0, 0])]);
  await saveModel(sure, path.join(dir, 'sure'));
  fs.mkdirSync(path.join(dir, 'sure-labels'));
  for (const f of ['model.json', 'weights.bin']) fs.copyFileSync(path.join(dir, 'sure', f), path.join(dir, 'sure-labels', f));
  fs.writeFileSync(path.join(dir, 'sure-labels', 'classes.txt'), 'yes\nno\n');
  // A 1-channel model whose app makes grey as the mean of R, G and B (said in its sidecar).
  const grey = tf.sequential({ layers: [...body(1), tf.layers.dense({ units: 2, kernelInitializer: init(5), name: 'fc' })] });
  await saveModel(grey, path.join(dir, 'grey'), { preprocess: { gray: 'mean' } });
  [rescale, sure, grey].forEach((m) => m.dispose());
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function explain(model: string, files: string[], extra: string[] = []) {
  const out = path.join(dir, `out-${model}-${extra.join('').replace(/[^a-z0-9]/gi, '')}`);
  const r = runCli(['explain', ...files, '-m', path.join(dir, model), '-o', out, '--save-input', '--json', '--no-timings', ...extra]);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  const input = (i: number) => decodeNpy(fs.readFileSync(path.join(out, report.images[i].files.input)));
  return { report, stderr: r.stderr, input };
}

test("a model that begins with Rescaling(1/255) is fed 0..255, reported as the model's word; its labels come from model.json", async () => {
  const { report, stderr, input } = explain('rescale', [images[0]]);
  expect(report.preprocessing.scale).toEqual([0, 255]);
  expect(report.preprocessing.sources.scale).toBe('model');
  expect(report.preprocessing.inputRangeFrom).toBe("layer 'rescale' (Rescaling x * 0.00392157 + 0)");
  // The image is the model's size: its input is its own pixels, unscaled.
  const photo = await decodeImage(images[0]);
  expect(Array.from(input(0).data)).toEqual(Array.from(photo.data));
  expect(report.labelsSource).toBe('model.json userDefinedMetadata');
  expect(report.images[0].top.map((t: { label: string }) => t.label).sort()).toEqual(['ant', 'bee', 'cow']);
  expect(stderr).not.toMatch(/input scale/);
  const inspected = runCli(['inspect', '-m', path.join(dir, 'rescale')]);
  expect(inspected.stdout).toContain("input     16x16x3, 3 classes; takes 0..255 (layer 'rescale' (Rescaling x * 0.00392157 + 0))");
});

test('every image sure of the same class with nothing saying the scale: one warning for the run, with workers too', () => {
  const { report, stderr } = explain('sure', images, ['--jobs', '2']);
  expect(report.images.map((i: { top: { index: number; probability: number }[] }) => i.top[0].index)).toEqual([0, 0, 0]);
  expect(Math.min(...report.images.map((i: { top: { probability: number }[] }) => i.top[0].probability))).toBeGreaterThan(0.99);
  const warning = (report.notes as string[]).filter((n) => /input scale/.test(n));
  expect(warning).toHaveLength(1);
  expect(warning[0]).toMatch(/^all 3 images got the same top class, '0', each above 99% \(lowest \d+\.\d\d%\): is the input scale right\? .*--scale 0,255 or --scale -1,1, or set preprocess\.scale in the sidecar/);
  expect(stderr.match(/input scale/g)).toHaveLength(1);
});

test("the scale given: no warning; --bgr's per-channel values shown as applied; a labels file that does not fit is named", async () => {
  const { report, stderr, input } = explain('sure-labels', images, ['--scale', '0,1', '--bgr', '--mean', '0.1,0.2,0.3']);
  expect(report.notes.filter((n: string) => /input scale/.test(n))).toEqual([]);
  expect(report.preprocessing.channels).toEqual([
    { channel: 'B', mean: 0.1, std: 1 },
    { channel: 'G', mean: 0.2, std: 1 },
    { channel: 'R', mean: 0.3, std: 1 },
  ]);
  // As applied: the model's first channel is the image's blue minus the first mean.
  const photo = await decodeImage(images[0]);
  const x = input(0).data;
  for (const i of [0, 40, 200]) {
    expect(x[i * 3]).toBeCloseTo(photo.data[i * 3 + 2] / 255 - 0.1, 5);
    expect(x[i * 3 + 2]).toBeCloseTo(photo.data[i * 3] / 255 - 0.3, 5);
  }
  expect(stderr).toContain("note: bgr: mean and std apply in the model's channel order (B, G, R): B mean 0.1 std 1, G mean 0.2 std 1, R mean 0.3 std 1");
  expect(report.labelsSource).toBe('indices');
  expect(stderr).toContain(`note: ${path.join(dir, 'sure-labels', 'classes.txt')}: the labels file has 2 labels but the model has 3 classes: not used`);
});

test('a 1-channel model: grey from the sidecar (mean of R, G, B), else --gray; reported with its source', async () => {
  const photo = await decodeImage(images[0]);
  const side = explain('grey', [images[0]]);
  expect([side.report.preprocessing.gray, side.report.preprocessing.sources.gray]).toEqual(['mean', 'tfjs-cam.json']);
  const mean = toGray(photo.data, 'mean');
  expect(Array.from(side.input(0).data, (v) => Math.round(v * 255))).toEqual(Array.from(mean));
  const flag = explain('grey', [images[0]], ['--gray', 'r']);
  expect([flag.report.preprocessing.gray, flag.report.preprocessing.sources.gray]).toEqual(['r', 'flags']);
  const red = Array.from(photo.data.filter((_, i) => i % 3 === 0));
  expect(Array.from(flag.input(0).data, (v) => Math.round(v * 255))).toEqual(red);
  // The two differ on this image (else the test could not tell them apart).
  expect(Array.from(mean)).not.toEqual(red);
});
