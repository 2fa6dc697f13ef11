// ARCC's measures (src/metrics/arcc.ts): the formulas by hand on tiny maps, then evaluate()'s per-image Coherency on a
// real photo with the real darknet_tiny model against the same measure computed here another way: the image
// prepared, its map, the input multiplied by it and explained again, and Pearson's r summed in this file.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { adcc, arcc, coherency, complexity, pearson } from '../../src/metrics/arcc';
import { evaluate } from '../../src/pipeline/evaluate';
import { openSession } from '../../src/pipeline/session';
import { prepareInput } from '../../src/pipeline/explain';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { decodeImage } from '../../src/image/decode';
import { SHARED, hasShared, skipNotice, tempDir } from '../helpers/cli';

test('Complexity is the L1 norm over the size', () => {
  expect(complexity([0, 0.5, 1, 0.5])).toBe(0.5);
  expect(complexity(new Float32Array(16).fill(1))).toBe(1);
  expect(complexity([0, -0.25, 0.25, 0])).toBe(0.125); // |value|: a signed map's negative part counts
});

test("Pearson's r with the reference's guard: 1 for a map against itself scaled, -1 against its negation, 0 for a constant", () => {
  const a = [0, 1, 2, 3, 4];
  expect(pearson(a, a.map((v) => 2 * v + 1))).toBeCloseTo(1, 7);
  expect(pearson(a, a.map((v) => -v))).toBeCloseTo(-1, 7);
  expect(pearson(a, [3, 3, 3, 3, 3])).toBe(0);
  // By hand: a = [1, 2, 3], b = [1, 3, 2]: cov = (-1 * -1 + 0 + 1 * 0) / 2 = 0.5, var = 1 each: r = 0.5
  expect(pearson([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 7);
  expect(() => pearson([1, 2], [1, 2, 3])).toThrow(/differ in size/);
  expect(coherency([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.75, 7); // (0.5 + 1) / 2
  expect(coherency([1, 2, 3], [3, 2, 1])).toBeCloseTo(0, 7);
});

test('ADCC and ARCC are harmonic means of three scores, by hand', () => {
  // 3 / (1 / 0.8 + 1 / 0.75 + 1 / 0.6) = 3 / 4.25
  expect(adcc(0.8, 0.25, 0.4)).toBeCloseTo(3 / 4.25, 6);
  // ROADCombined 0.2 doubles to 0.4: 3 / (1.25 + 1.3333 + 2.5)
  expect(arcc(0.8, 0.25, 0.2)).toBeCloseTo(3 / (1 / 0.8 + 1 / 0.75 + 1 / 0.4), 6);
  // ROAD is clipped to [0, 1] after doubling: 0.6 reads as 1, a negative one as 0 (and pulls ARCC to ~0)
  expect(arcc(0.8, 0.25, 0.6)).toBeCloseTo(3 / (1 / 0.8 + 1 / 0.75 + 1), 6);
  expect(arcc(0.8, 0.25, -0.1)).toBeLessThan(1e-7);
  // a perfect map: coherent, simple, no drop
  expect(adcc(1, 0, 0)).toBeCloseTo(1, 7);
});

const maybe = hasShared ? test : test.skip;
if (!hasShared) skipNotice('ARCC on darknet_tiny');

maybe("evaluate's Coherency on a real photo equals the map recomputed here on the image times the map", async () => {
  const dir = tempDir('arcc');
  try {
    const photo = path.join(SHARED, 'images', 'coffee.png');
    const boxes = path.join(dir, 'boxes.json');
    fs.writeFileSync(boxes, JSON.stringify({ version: 1, images: { [photo]: { class: 946, boxes: [{ x: 175, y: 19, width: 235, height: 240 }] } } }));
    const model = path.join(SHARED, 'darknet_tiny');
    const report = await evaluate([photo], { model, backend: 'wasm', method: 'gradcam++', boxes, out: null, steps: 4 });
    const row = report.perImage[0].methods[0];

    const session = await openSession({ model, backend: 'wasm', method: 'gradcam++' });
    const c = session.model.classifier;
    const [h, w] = c.inputShape;
    const { x } = await prepareInput(session, await decodeImage(photo));
    const explain = (input: tf.Tensor4D) => explainTensor(c, input, { methods: session.methods, layers: session.layers, classes: [946], topK: 1, score: session.score }).maps[0].map;
    const map = explain(x);
    const masked = tf.tidy(() => tf.mul(x, tf.tensor4d(map, [1, h, w, 1])) as tf.Tensor4D);
    const again = explain(masked);
    tf.dispose([x, masked]);
    session.model.dispose();
    // Pearson's r in double precision, written out here (population form: the n - 1 cancels)
    const mean = (v: Float32Array) => v.reduce((s, e) => s + e, 0) / v.length;
    const ma = mean(map), mb = mean(again);
    let cov = 0, va = 0, vb = 0;
    for (let i = 0; i < map.length; i++) {
      cov += (map[i] - ma) * (again[i] - mb);
      va += (map[i] - ma) ** 2;
      vb += (again[i] - mb) ** 2;
    }
    const r = cov / Math.sqrt(va * vb);
    expect(row.coherency).toBeCloseTo((r + 1) / 2, 4);
    expect(row.complexity).toBeCloseTo(mean(map), 4); // the map is in [0, 1]: its L1 norm over its size is its mean
    // Not a trivial case: the photo's map is not all of the image, nor recomputed identically.
    expect(row.complexity).toBeGreaterThan(0.05);
    expect(row.complexity).toBeLessThan(0.9);
    expect(row.coherency!).toBeLessThan(0.999);
    expect(row.coherency!).toBeGreaterThan(0.5);
    // ADCC from the row's own drop (%, rounded), by the formula; ARCC needs ROAD (the e2e test checks it by hand)
    expect(row.adcc).toBeCloseTo(3 / (1 / row.coherency! + 1 / (1 - row.complexity) + 1 / (1 - row.drop! / 100)), 3);
    expect(row.arcc).toBeNull();
    const m = report.methods[0];
    expect([m.complexity, m.coherency, m.adcc, m.arcc]).toEqual([row.complexity, row.coherency, row.adcc, row.arcc]); // one image: the means are its
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
