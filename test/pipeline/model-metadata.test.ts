// Labels and preprocessing from what a model folder says about itself (Teachable Machine's metadata.json, a labels
// file beside model.json), under flags and sidecar, with the source of each reported.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { saveLayersModel } from '../../src/model/save';
import { openSession } from '../../src/pipeline/session';
import { gapDenseModel } from '../helpers/models';

let dir: string;
const TM_METADATA = { tfjsVersion: '1.3.1', tmVersion: '2.4.7', packageName: '@teachablemachine/image', labels: ['cat', 'dog', 'bird', 'fish'], imageSize: 8 };

async function modelDir(name: string, model: tf.LayersModel, files: Record<string, string> = {}): Promise<string> {
  const d = path.join(dir, name);
  await saveLayersModel(model, d);
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
  return d;
}

function binaryModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'p' }),
    ],
  });
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-cam-metadata-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("Teachable Machine's metadata.json gives labels and TM's preprocessing; flags still win, and the report says where each came from", async () => {
  const d = await modelDir('tm', gapDenseModel(8, 4), { 'metadata.json': JSON.stringify(TM_METADATA) });
  const s = await openSession({ model: d });
  expect(s.labels).toEqual(['cat', 'dog', 'bird', 'fish']);
  expect(s.labelsSource).toBe('Teachable Machine metadata.json');
  expect([s.preprocess.scale, s.preprocess.resize]).toEqual([[-1, 1], 'crop']);
  expect(s.preprocess.sources).toEqual({ scale: 'Teachable Machine metadata.json', resize: 'Teachable Machine metadata.json', mean: 'default', std: 'default', bgr: 'default', gray: 'default' });
  s.model.dispose();
  const flagged = await openSession({ model: d, preprocess: { scale: [0, 1] } });
  expect(flagged.preprocess.scale).toEqual([0, 1]);
  expect(flagged.preprocess.sources.scale).toBe('flags');
  expect(flagged.preprocess.resize).toBe('crop');
  flagged.model.dispose();
});

test('--labels metadata.json reads its labels array', async () => {
  const d = await modelDir('plain4', gapDenseModel(8, 4));
  const meta = path.join(dir, 'metadata.json');
  fs.writeFileSync(meta, JSON.stringify(TM_METADATA));
  const s = await openSession({ model: d, labels: meta });
  expect(s.labels).toEqual(['cat', 'dog', 'bird', 'fish']);
  expect(s.labelsSource).toBe(meta);
  expect(s.preprocess.sources.scale).toBe('default'); // only metadata.json beside the model sets preprocessing
  s.model.dispose();
});

test('a labels file beside the model is used when it fits, ignored (indices) when it does not', async () => {
  const fits = await modelDir('fits', gapDenseModel(8, 3), { 'labels.txt': 'red\ngreen\nblue\n' });
  const s = await openSession({ model: fits });
  expect([s.labels, s.labelsSource]).toEqual([['red', 'green', 'blue'], 'labels.txt']);
  s.model.dispose();
  const misfit = await openSession({ model: await modelDir('misfit', gapDenseModel(8, 3), { 'labels.json': '["a", "b"]' }) });
  expect([misfit.labels, misfit.labelsSource]).toEqual([['0', '1', '2'], 'indices']);
  misfit.model.dispose();
});

test('a binary model takes one label (its positive class) or two; a wrong count names the file', async () => {
  const d = await modelDir('binary', binaryModel(), { 'labels.txt': 'spoof\n' });
  const s = await openSession({ model: d });
  expect([s.labels, s.labelsSource]).toEqual([['not spoof', 'spoof'], 'labels.txt']);
  s.model.dispose();
  const bad = path.join(dir, 'three.txt');
  fs.writeFileSync(bad, 'a\nb\nc\n');
  await expect(openSession({ model: d, labels: bad })).rejects.toThrow(`${bad}: the labels list has 3 entries but the model has 2 classes (one sigmoid unit: give 1 label, the positive class, or 2)`);
});
