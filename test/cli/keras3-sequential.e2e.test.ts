// A model as a Python pipeline ships it, end to end through the CLI: a Keras 3 Sequential saved by the tfjs
// converter (weights named `<model>/<layer>/<weight>`), fed images resized as PIL resizes them. The Keras 3 files
// are written by the test itself from the same network in Keras 2 form; both must give the same predictions, and
// the saved model input must be exactly PIL's resize of the image (src/image/pil-resample.ts, checked against PIL in
// test/image/pil-resample.test.ts).
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { artifactsToFiles } from '../../src/model/save';
import { decodeImage } from '../../src/image/decode';
import { pilBicubicBytes, pilNearestBytes } from '../../src/image/pil-resample';
import { decodeNpy } from '../../src/report/npy';
import { runCli, tempDir } from '../helpers/cli';
import { spotPng } from '../faults/fixtures';
import { keras3ScopedWeightNames, keras3Topology, saveArtifacts, seedWeights } from '../model/topology/fixtures';

let dir: string;
let model: tf.Sequential;

beforeAll(async () => {
  dir = tempDir('k3seq');
  model = tf.sequential({
    name: 'sequential_19',
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2d' }),
      tf.layers.batchNormalization({ name: 'batch_normalization' }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', name: 'depthwise_conv2d' }),
      tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'dense' }),
    ],
  });
  seedWeights(model, 41);
  const saved = await saveArtifacts(model);
  const write = (name: string, a: tf.io.ModelArtifacts) => {
    const { modelJson, weights } = artifactsToFiles(a);
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'model.json'), modelJson);
    fs.writeFileSync(path.join(dir, name, 'weights.bin'), weights);
  };
  write('keras2', saved);
  write('keras3', { ...saved, modelTopology: keras3Topology(saved.modelTopology), weightSpecs: keras3ScopedWeightNames(saved.modelTopology, saved.weightSpecs ?? []) });
  // The app resizes with Keras' load_img(target_size=...): PIL's NEAREST, said in the sidecar.
  fs.mkdirSync(path.join(dir, 'keras3-sidecar'));
  for (const f of ['model.json', 'weights.bin']) fs.copyFileSync(path.join(dir, 'keras3', f), path.join(dir, 'keras3-sidecar', f));
  fs.writeFileSync(path.join(dir, 'keras3-sidecar', 'tfjs-cam.json'), JSON.stringify({ preprocess: { interpolation: 'pil-nearest' } }));
  fs.writeFileSync(path.join(dir, 'cat.png'), await spotPng(53, 37));
});

afterAll(() => {
  model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

function explain(modelDir: string, out: string, extra: string[] = []) {
  const r = runCli(['explain', path.join(dir, 'cat.png'), '-m', path.join(dir, modelDir), '-o', path.join(dir, out), '--save-input', '--json', ...extra]);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  const img = report.images[0];
  return { report, img, input: decodeNpy(fs.readFileSync(path.join(dir, out, img.files.input))) };
}

test('the Keras 3 Sequential loads and predicts as the Keras 2 form; its input is PIL bicubic, then PIL nearest from the sidecar', async () => {
  const photo = await decodeImage(path.join(dir, 'cat.png'));
  const k3 = explain('keras3', 'out-k3', ['--interpolation', 'bicubic']);
  const k2 = explain('keras2', 'out-k2', ['--interpolation', 'bicubic']);
  expect(k3.report.preprocessing.interpolation).toBe('bicubic');
  // The input is PIL's bicubic resize of the image, scaled to 0..1.
  const bicubic = pilBicubicBytes(photo.data, 53, 37, 16, 16, 3);
  expect(k3.input.shape).toEqual([1, 16, 16, 3]);
  expect(Math.max(...Array.from(k3.input.data, (v, i) => Math.abs(v - bicubic[i] / 255)))).toBeLessThan(1e-6);
  // Same predictions from both forms, and they are the original model's on that input.
  expect(k3.img.top).toEqual(k2.img.top);
  const probs = tf.tidy(() => (model.predict(tf.tensor4d(k3.input.data, [1, 16, 16, 3])) as tf.Tensor).dataSync());
  for (const t of k3.img.top) expect(t.probability).toBeCloseTo(probs[t.index], 4);
  expect(new Set(Array.from(probs)).size).toBe(3);

  const side = explain('keras3-sidecar', 'out-side');
  expect(side.report.preprocessing.interpolation).toBe('pil-nearest');
  const nearest = pilNearestBytes(photo.data, 53, 37, 16, 16, 3);
  expect(Math.max(...Array.from(side.input.data, (v, i) => Math.abs(v - nearest[i] / 255)))).toBeLessThan(1e-6);
  // The two resamplings differ on this image (else the test could not tell them apart).
  expect(Buffer.from(nearest).equals(Buffer.from(bicubic))).toBe(false);
});
