// Many classes of one image run in chunks of bounded size (issue: -k 1000 on a 1000-class model aborted WASM at
// 4 GB). The maps must not depend on the chunking, -k above the class count is clamped with a note.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { classChunkSize, explainTensor } from '../../src/pipeline/explain-tensor';
import { getMethod } from '../../src/methods';
import { openSession } from '../../src/pipeline/session';
import { prepareInput } from '../../src/pipeline/explain';
import { decodeImage } from '../../src/image/decode';
import { saveLayersModel } from '../../src/model/save';
import { residualModel, seededInput } from '../helpers/models';
import { hasShared, runCli, SHARED, skipNotice, tempDir } from '../helpers/cli';

beforeAll(async () => {
  await initBackend('wasm');
});

test('the chunk size follows the activation size and is at least one row', () => {
  expect(classChunkSize([1, 14, 14, 128])).toBe(79); // darknet_tiny's leaky_re_lu_15
  expect(classChunkSize([1, 7, 7, 1280])).toBe(31); // MobileNetV2's out_relu
  expect(classChunkSize([1, 1000, 1000, 64])).toBe(1);
  expect(classChunkSize([1, 14, 14, 128], 3)).toBe(3);
});

test('maps in chunks of 2 classes equal maps in one pass, for every kind of method', () => {
  const model = residualModel({ size: 8, classes: 7 });
  const clf = new LayersClassifier(model);
  const x = seededInput([1, 8, 8, 3], 21);
  const methods = ['gradcam', 'gradcam++', 'hirescam', 'cam', 'scorecam', 'smoothgradcam++', 'eigencam'].map(getMethod);
  const opts = { methods, layers: ['add'], topK: 7, score: 'logit' as const, methodOptions: { noiseSamples: 2, seed: 3 } };
  const whole = explainTensor(clf, x, { ...opts, classChunk: 100 });
  const chunked = explainTensor(clf, x, { ...opts, classChunk: 2 });
  expect(chunked.classes).toEqual(whole.classes);
  expect(chunked.maps.length).toBe(7 * methods.length);
  chunked.maps.forEach((m, i) => {
    expect([m.method, m.classIndex]).toEqual([whole.maps[i].method, whole.maps[i].classIndex]);
    const a = m.raw[0].data;
    const b = whole.maps[i].raw[0].data;
    let worst = 0;
    for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]));
    expect(worst).toBeLessThan(1e-5);
  });
  x.dispose();
  model.dispose();
});

test('-k above the class count is clamped, with a note on stderr and in the report', async () => {
  const dir = tempDir('clamp');
  try {
    await saveLayersModel(residualModel({ size: 8, classes: 4 }), path.join(dir, 'm'));
    const img = path.join(dir, 'a.png');
    const sharp = (await import('sharp')).default;
    await sharp(Buffer.alloc(8 * 8 * 3, 90), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(img);
    const r = runCli(['explain', img, '-m', path.join(dir, 'm'), '-k', '10', '-o', path.join(dir, 'out'), '--json', '--no-timings']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("note: --top-k 10 is more than the model's 4 classes: all 4 are explained\n");
    const report = JSON.parse(r.stdout);
    expect(report.notes).toEqual(["--top-k 10 is more than the model's 4 classes: all 4 are explained"]);
    expect(report.images[0].maps.map((m: { class: { index: number } }) => m.class.index).sort()).toEqual([0, 1, 2, 3]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Before chunking, Grad-CAM++ on all 1000 classes failed with "memory access out of bounds" (its G^2, G^3 terms
// for 1000 tiled rows outgrew WASM's memory).
(hasShared ? test : test.skip)('darknet_tiny, all 1000 classes of one image with Grad-CAM++: runs and agrees with a top-3 run', async () => {
  const s = await openSession({ model: path.join(SHARED, 'darknet_tiny') });
  const { x } = await prepareInput(s, await decodeImage(path.join(SHARED, 'images', 'both.png')));
  const methods = [getMethod('gradcam++')];
  const all = explainTensor(s.model.classifier, x, { methods, layers: s.layers, topK: 1000, score: 'logit' });
  expect(all.maps.length).toBe(1000);
  expect(new Set(all.classes).size).toBe(1000);
  const top3 = explainTensor(s.model.classifier, x, { methods, layers: s.layers, topK: 3, score: 'logit' });
  for (const m of top3.maps) {
    const same = all.maps.find((a) => a.classIndex === m.classIndex)!;
    let worst = 0;
    for (let j = 0; j < m.raw[0].data.length; j++) worst = Math.max(worst, Math.abs(m.raw[0].data[j] - same.raw[0].data[j]));
    expect(worst).toBeLessThan(1e-4);
  }
  expect(tf.memory().numTensors).toBeLessThan(200);
  x.dispose();
  s.model.dispose();
});
skipNotice('the darknet_tiny 1000-class test');
