// On a GAP -> Dense model, d(logit_c)/dA_ijk = W[k, c] / (h w) at every position, so Grad-CAM's weights are
// CAM's divided by h*w: the two maps are equal up to that positive scale (a known identity).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { LayersClassifier } from '../../src/model/layers-classifier';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { getMethod } from '../../src/methods';
import { gapDenseModel, seededInput } from '../helpers/models';

beforeAll(async () => {
  await initBackend('wasm');
});

test('CAM equals Grad-CAM x (h*w) on a GAP -> Dense model, for every class', () => {
  const model = gapDenseModel(8, 4);
  const clf = new LayersClassifier(model);
  expect(clf.defaultTargetLayer()).toBe('feat');
  const head = clf.camHead('feat');
  expect(head.kind).toBe('weights');
  if (head.kind === 'weights') head.weights.dispose();
  const x = seededInput([1, 8, 8, 3], 3);
  const classes = [0, 1, 2, 3];
  const opts = { layers: ['feat'], classes, topK: 4, score: 'logit' as const };
  const cam = explainTensor(clf, x, { ...opts, methods: [getMethod('cam')] });
  const grad = explainTensor(clf, x, { ...opts, methods: [getMethod('gradcam')] });
  let compared = 0;
  for (let c = 0; c < classes.length; c++) {
    const a = cam.maps[c].raw[0].data;
    const b = grad.maps[c].raw[0].data;
    expect(a.length).toBe(64);
    for (let i = 0; i < a.length; i++) {
      expect(a[i]).toBeGreaterThanOrEqual(0);
      expect(b[i] * 64).toBeCloseTo(a[i], 4);
      if (a[i] > 0) compared++;
    }
    // After normalisation the two displayed maps are the same.
    cam.maps[c].map.forEach((v, i) => expect(grad.maps[c].map[i]).toBeCloseTo(v, 4));
  }
  expect(compared).toBeGreaterThan(20); // most positions carry signal: the check is not vacuous
  x.dispose();
  model.dispose();
});
