// A flat map has no peak, and the image's warnings say which method's map was flat and why.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { tempDir } from '../helpers/cli';
import { saveModel, spotPng } from '../faults/fixtures';

let dir: string;
let model: string;
let image: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('flat');
  // 'feat' is a linear 1x1 conv whose output is -5 everywhere: no positive evidence for any class at that layer.
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), name: 'c1' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: -5 }), name: 'feat' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }), name: 'fc' }),
    ],
  });
  model = await saveModel(m, path.join(dir, 'model'));
  m.dispose();
  image = path.join(dir, 'a.png');
  fs.writeFileSync(image, await spotPng(40, 30));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("Score-CAM on a layer that is negative everywhere: flat, no peak, and the warning says why", async () => {
  const { report } = await explain([image], { model, out: null, method: 'scorecam', layers: ['feat'], classes: [0] });
  const img = report.images[0];
  expect(img.maps![0].flat).toBe(true);
  expect(img.maps![0].peak).toBeNull();
  expect(img.warnings).toEqual([
    "the scorecam map of '0' is flat: the weighted sum of the channels is <= 0 everywhere, so the ReLU leaves nothing; Score-CAM's weights are positive, so the target layer's activations are <= 0 there: choose a layer after its activation function (e.g. a ReLU) with --layer",
  ]);
});

test('a map with contrast keeps its peak and gets no warning', async () => {
  const { report } = await explain([image], { model, out: null, method: 'scorecam', layers: ['c1'], topK: 1 });
  const m = report.images[0].maps![0];
  expect(m.flat).toBe(false);
  expect(m.peak).toEqual({ x: expect.any(Number), y: expect.any(Number) });
  expect(report.images[0].warnings).toBeUndefined();
});
