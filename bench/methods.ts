/**
 * The methods from pytorch-grad-cam's later releases (FEM, KPCA-CAM, ShapleyCAM, Finer-CAM, RefineCAM), cost per
 * image on MobileNetV2 (../shared/data/zoo/nsfwjs-mobilenet-v2, a LayersModel; skipped with a notice when absent),
 * beside Grad-CAM and Grad-CAM++ measured in the same run: compute only (forward, backward, maps), top-1, one
 * thread, warm model. Also the kernel PCA alone on 14 x 14 x 1280 (the size of a MobileNetV2 activation at a
 * 448-pixel input), whose cost grows with the square of the positions.
 *
 *   node dist/bench/run.js --only methods
 */
import * as fs from 'fs';
import * as path from 'path';
import { getMethod } from '../src/methods';
import { explainTensor } from '../src/pipeline/explain-tensor';
import { decodeImage } from '../src/image/decode';
import { prepareInput } from '../src/pipeline/explain';
import { openSession } from '../src/pipeline/session';
import { kernelPcaProjection } from '../src/methods/kernel-pca';
import type { ZooBenchOptions } from './zoo';

const ROOT = path.resolve(__dirname, '..', '..');
const MODEL = path.resolve(ROOT, '..', 'shared', 'data', 'zoo', 'nsfwjs-mobilenet-v2');
const PHOTO = path.resolve(ROOT, '..', 'shared', 'data', 'images', 'coffee.png');

export async function benchNewerMethods(o: ZooBenchOptions): Promise<void> {
  // Kernel PCA alone: 196 positions x 1280 channels, seeded values shaped like post-ReLU activations.
  let s = 11;
  const x = Float64Array.from({ length: 196 * 1280 }, () => Math.max(0, ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1));
  console.log('\nkernel PCA (KPCA-CAM) alone, 14 x 14 positions x 1280 channels');
  for (const kernel of ['sigmoid', 'rbf', 'poly', 'cosine'] as const) o.line(`kernel ${kernel}`, o.fmt(o.timeIt(() => kernelPcaProjection(x, 196, 1280, kernel))), '(target: well under 1 s)');
  if (!fs.existsSync(path.join(MODEL, 'model.json'))) {
    console.log('\nskipped the newer methods on MobileNetV2: ../shared/data/zoo is not present');
    return;
  }
  const session = await openSession({ model: MODEL, backend: 'wasm' });
  const c = session.model.classifier;
  const layer = c.defaultTargetLayer();
  const { x: input } = await prepareInput(session, await decodeImage(PHOTO), {});
  // RefineCAM's second layer: the last 14 x 14 one (MobileNetV2's block 13 expansion), as its paper pairs layers.
  const early = c.layers().filter((l) => l.outputShape[0] === 14).pop()?.name ?? layer;
  console.log(`\nthe newer methods on zoo/nsfwjs-mobilenet-v2: layer '${layer}', coffee.png, top-1, compute only, 1 thread`);
  // Every case once per round, rounds alternated: on a shared machine speed drifts over minutes, and one block per
  // method would read that drift as a difference between methods.
  const cases: { label: string; methods: string[]; layers: string[] }[] = [
    { label: 'gradcam (for comparison)', methods: ['gradcam'], layers: [layer] },
    ...['fem', 'kpca-cam', 'shapleycam', 'finercam'].map((m) => ({ label: m, methods: [m], layers: [layer] })),
    { label: `gradcam++ at '${early.split('/').pop()}' and '${layer.split('/').pop()}' (for comparison)`, methods: ['gradcam++'], layers: [early, layer] },
    { label: 'refinecam at the same two layers', methods: ['refinecam'], layers: [early, layer] },
  ];
  const times = cases.map(() => [] as number[]);
  for (const c of cases) explainTensor(session.model.classifier, input, { methods: c.methods.map(getMethod), layers: c.layers, topK: 1, score: 'logit' }); // warm-up
  for (let round = 0; round < o.runs; round++) {
    cases.forEach((c, i) => {
      const t0 = performance.now();
      explainTensor(session.model.classifier, input, { methods: c.methods.map(getMethod), layers: c.layers, topK: 1, score: 'logit' });
      times[i].push(performance.now() - t0);
    });
  }
  const med = times.map((t) => o.median(t));
  cases.forEach((c, i) => o.line(c.label, o.fmt(med[i]), i === 0 || i === 5 ? '' : i < 5 ? `${o.ratio(med[i], med[0])} of Grad-CAM` : `${o.ratio(med[i], med[5])} of Grad-CAM++ there`));
  input.dispose();
  session.model.dispose();
}
