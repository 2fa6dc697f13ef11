// Every tensor made while explaining is released: the engine's tensor count is back where it started.
import * as path from 'path';
import * as fs from 'fs';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain, loadModel } from '../../src';
import { saveLayersModel } from '../../src/model/save';
import { residualModel } from '../helpers/models';
import { tempDir } from '../helpers/cli';

test.each(['gradcam', 'gradcam++'])('explain with %s leaves no tensors behind', async (method) => {
  await initBackend('wasm');
  const dir = tempDir('mem');
  const m = residualModel({ size: 16, classes: 5 });
  await saveLayersModel(m, path.join(dir, 'm'));
  m.dispose();
  await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toFile(path.join(dir, 'a.png'));
  const model = await loadModel(path.join(dir, 'm'));
  const run = () => explain([path.join(dir, 'a.png')], { model, method, layers: ['target'], topK: 3, out: null, returnMaps: true });
  await run(); // warm-up: kernels may allocate once
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const r = await run();
    expect(r.report.summary.succeeded).toBe(1);
    expect(r.maps![0].maps).toHaveLength(3);
    expect(tf.memory().numTensors).toBe(before);
  }
  model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});
