// Gradient images (--render): pytorch-grad-cam's deprocess_image on hand-computed values, and end to end on a
// linear model whose input gradient is known exactly (its weights), through explain's files.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { gradientImage } from '../../src/render/gradient';
import { drawingOf, drawnAsGradient } from '../../src/pipeline/explain';
import { lutIndex } from '../../src/render/colormap';
import { saveLayersModel } from '../../src/model/save';
import { tempDir } from '../helpers/cli';

test('deprocess: (g - mean) / (std + 1e-5) * 0.1 + 0.5, clipped, times 255, truncated; BGR reordered; grey models grey', () => {
  // [1, 0, -1]: mean 0, std sqrt(2/3); 0.1 / 0.8165 = 0.12247 -> 0.62247 * 255 = 158.7, 127.5, 96.27
  expect(Array.from(gradientImage(Float32Array.from([1, 0, -1]), 1, 1, 3))).toEqual([158, 127, 96]);
  expect(Array.from(gradientImage(Float32Array.from([1, 0, -1]), 1, 1, 3, true))).toEqual([96, 127, 158]);
  // one channel, [0, 0, 0, 4]: mean 1, std sqrt(3); 0 -> 0.5 - 0.1/sqrt(3) = 0.44227 -> 112.8; 4 -> 0.67321 -> 171.7
  expect(Array.from(gradientImage(Float32Array.from([0, 0, 0, 4]), 2, 2, 1))).toEqual([112, 112, 112, 112, 112, 112, 112, 112, 112, 171, 171, 171]);
  // an outlier is clipped to white: 99 zeros and 1000: mean 10, std 99.499; 1000 -> 1.495 -> 255; 0 -> 0.48995 -> 124
  const out = gradientImage(Float32Array.from([...new Array(99).fill(0), 1000]), 10, 10, 1);
  expect([out[0], out[99 * 3]]).toEqual([124, 255]);
  // an all-zero attribution (a flat guided map) is uniform grey, not NaN
  expect(Array.from(gradientImage(new Float32Array(3), 1, 1, 3))).toEqual([127, 127, 127]);
  expect(() => gradientImage(new Float32Array(5), 1, 2, 3)).toThrow(/expected 1x2x3/);
});

test('how methods are drawn: auto and signed = the five signed ones as signed maps, gradient = as gradient images, heatmap = none', () => {
  const methods = ['gradcam', 'saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'guided-gradcam', 'fullgrad'];
  const signed = ['saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'guided-gradcam'];
  expect(methods.filter((m) => drawingOf(m) === 'signed')).toEqual(signed);
  expect(methods.filter((m) => drawingOf(m, 'signed') === 'signed')).toEqual(signed);
  expect(methods.filter((m) => drawnAsGradient(m))).toEqual([]);
  expect(methods.filter((m) => drawnAsGradient(m, 'gradient'))).toEqual(signed);
  expect(methods.filter((m) => drawingOf(m, 'heatmap') !== 'heatmap')).toEqual([]);
  // class activation maps are heatmaps whatever the mode
  for (const mode of ['auto', 'heatmap', 'signed', 'gradient'] as const) expect([drawingOf('gradcam', mode), drawingOf('fullgrad', mode)]).toEqual(['heatmap', 'heatmap']);
});

describe('explain --render on a linear model: logit 0 = sum of W * x, so its input gradient is W', () => {
  let dir: string;
  let model: string;
  const W = [0.3, -0.2, 0.5, 0.1, 0, -0.4, 0.25, 0.05, -0.1, 0.6, -0.3, 0.2]; // [2, 2, 3], channels last
  const pixels = [200, 10, 30, 0, 255, 128, 64, 64, 64, 90, 180, 20];
  /** The deprocessing written out again, as a second implementation. */
  const expected = (g: number[]) => {
    const mean = g.reduce((a, b) => a + b, 0) / g.length;
    const std = Math.sqrt(g.reduce((a, b) => a + (b - mean) ** 2, 0) / g.length);
    return g.map((v) => Math.floor(Math.min(1, Math.max(0, ((v - mean) / (std + 1e-5)) * 0.1 + 0.5)) * 255));
  };
  const read = async (file: string) => Array.from(await sharp(file).raw().toBuffer());

  beforeAll(async () => {
    await initBackend('wasm');
    dir = tempDir('gradient');
    // identity 1x1 convolution (a spatial layer for the session) -> flatten -> dense: logit 0 = W . x, logit 1 = 0
    const m = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [2, 2, 3], filters: 3, kernelSize: 1, name: 'feat' }), tf.layers.flatten(), tf.layers.dense({ units: 2, name: 'fc' })] });
    m.getLayer('feat').setWeights([tf.tensor4d([1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 1, 3, 3]), tf.zeros([3])]);
    m.getLayer('fc').setWeights([tf.tensor2d(W.flatMap((w) => [w, 0]), [12, 2]), tf.zeros([2])]);
    model = path.join(dir, 'm');
    await saveLayersModel(m, model);
    m.dispose();
    await sharp(Buffer.from(pixels), { raw: { width: 2, height: 2, channels: 3 } }).png().toFile(path.join(dir, 'x.png'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('saliency, smoothgrad, integrated-gradients, guided backprop and Guided Grad-CAM as gradient images', async () => {
    const out = path.join(dir, 'g');
    const method = 'saliency,smoothgrad,integrated-gradients,guided-backprop,guided-gradcam';
    const { report } = await explain([path.join(dir, 'x.png')], { model, out, method, layers: ['feat'], classes: [0], render: 'gradient', jobs: 1, timings: false, sheet: false });
    expect(report.output.render).toBe('gradient');
    const files = report.images[0].maps!.map((mm) => path.join(out, mm.files.overlay!));
    expect(await read(files[0])).toEqual(expected(W));
    expect(await read(files[1])).toEqual(expected(W)); // the gradient of a linear model is W whatever the noise
    expect(await read(files[2])).toEqual(expected(W.map((w, i) => w * (pixels[i] / 255)))); // x * W: the path integral is exact
    expect(await read(files[3])).toEqual(expected(W)); // no ReLU: the guided gradient is the gradient
    // Guided Grad-CAM: W weighted at each pixel by Grad-CAM at 'feat' (= x): weights mean_p W[p, k],
    // map relu(sum_k w_k x[p, k]), normalised (input resolution: no resize)
    const x = pixels.map((v) => v / 255);
    const wk = [0, 1, 2].map((k) => (W[k] + W[3 + k] + W[6 + k] + W[9 + k]) / 4);
    const cam = [0, 1, 2, 3].map((p) => Math.max(0, wk[0] * x[3 * p] + wk[1] * x[3 * p + 1] + wk[2] * x[3 * p + 2]));
    const lo = Math.min(...cam);
    const hi = Math.max(...cam);
    const n1 = cam.map((v) => (v - lo) / (hi - lo + 1e-7));
    const n2 = n1.map((v) => (v - Math.min(...n1)) / (Math.max(...n1) - Math.min(...n1) + 1e-7));
    expect(await read(files[4])).toEqual(expected(W.map((w, i) => w * n2[Math.floor(i / 3)])));
  });

  test('--render gradient writes the gradient image in the overlay place and --heatmap the magnitude heatmap beside it; heatmap draws the magnitude', async () => {
    const grad = path.join(dir, 'grad-heat');
    const a = await explain([path.join(dir, 'x.png')], { model, out: grad, method: 'saliency,guided-backprop', classes: [0], render: 'gradient', jobs: 1, timings: false, sheet: false, heatmap: true });
    const [, guided] = a.report.images[0].maps!.map((mm) => mm.files);
    expect(await read(path.join(grad, guided.overlay!))).toEqual(expected(W));
    expect(fs.existsSync(path.join(grad, guided.heatmap!))).toBe(true);
    const heat = path.join(dir, 'heat');
    const h = await explain([path.join(dir, 'x.png')], { model, out: heat, method: 'saliency,guided-backprop', classes: [0], render: 'heatmap', jobs: 1, timings: false, sheet: false });
    expect(h.report.output).not.toHaveProperty('signedColormap');
    const [sal2, guided2] = h.report.images[0].maps!.map((mm) => mm.files);
    expect(await read(path.join(heat, guided2.overlay!))).not.toEqual(expected(W));
    expect(await read(path.join(heat, guided2.overlay!))).toEqual(await read(path.join(heat, sal2.overlay!))); // |W| max over channels either way
  });

  /**
   * The signed drawing written out again: the per-pixel sum over channels, Captum's clip (the smallest |s| whose
   * sorted running sum reaches (100 - p)% of the total), clamp(s / clip) on the 0..1 scale, then bwr's colour of
   * table entry floor(255 * u) (float32): white at 0, (0, 0, 255) at -clip, (255, 0, 0) at +clip.
   */
  const signedHeat = (attr: number[], p: number) => {
    // float32 like the attribution (-0.3 / 0.5 lands just under a bin edge: float64 arithmetic would be a bin off)
    const f = Math.fround;
    const s = [0, 1, 2, 3].map((q) => f(f(attr[3 * q]) + f(attr[3 * q + 1]) + f(attr[3 * q + 2])));
    const sorted = s.map(Math.abs).sort((a, b) => a - b);
    const total = sorted.reduce((a, b) => a + b, 0);
    const clip = sorted.find((_, i) => sorted.slice(0, i + 1).reduce((a, b) => a + b, 0) >= (total * (100 - p)) / 100)!;
    const colour = (k: number) => {
      const t = (Math.min(k, 254) - 127) / 127;
      return t < 0 ? [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255] : [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))];
    };
    const pixels = s.flatMap((v) => colour(lutIndex(f((Math.max(-1, Math.min(1, v / clip)) + 1) / 2))));
    return { clip, pixels };
  };

  test('auto draws saliency and Integrated Gradients as signed maps: channel sums, clipped at the 2% (here 40%) outlier share, on bwr', async () => {
    const out = path.join(dir, 'signed');
    const method = 'saliency,integrated-gradients,guided-backprop';
    const { report } = await explain([path.join(dir, 'x.png')], { model, out, method, classes: [0], jobs: 1, timings: false, sheet: false, heatmap: true, outlierPercent: 40 });
    expect(report.output).toMatchObject({ render: 'auto', signedColormap: 'bwr', outlierPercent: 40 });
    const [sal, ig, guided] = report.images[0].maps!.map((mm) => mm.files);
    // saliency's signed gradient is W: channel sums 0.6, -0.3, 0.2, 0.5; |.| sorted 0.2 0.3 0.5 0.6, total 1.6,
    // running sums 0.2 0.5 1.0 1.6: 60% of 1.6 = 0.96 is reached at 0.5, so 0.6 saturates (pure red)
    const w = signedHeat(W, 40);
    expect(w.clip).toBe(0.5);
    expect(await read(path.join(out, sal.heatmap!))).toEqual(w.pixels);
    expect((await read(path.join(out, sal.heatmap!))).slice(0, 3)).toEqual([255, 0, 0]);
    expect(await read(path.join(out, guided.heatmap!))).toEqual(w.pixels); // no ReLU: guided = plain gradient
    // Integrated Gradients of a linear model from black: x * W exactly
    expect(await read(path.join(out, ig.heatmap!))).toEqual(signedHeat(W.map((v, i) => v * (pixels[i] / 255)), 40).pixels);
    // the overlay blends the same colours into the image as heatmap overlays do: round(0.5 * image + 0.5 * colour)
    const img = pixels;
    expect(await read(path.join(out, sal.overlay!))).toEqual(w.pixels.map((c, i) => Math.round(0.5 * img[i] + 0.5 * c)));
  });

  test('the default 2% share on this map saturates nothing but its largest value; rdwhgn swaps the colours', async () => {
    const out = path.join(dir, 'signed-2');
    const { report } = await explain([path.join(dir, 'x.png')], { model, out, method: 'saliency', classes: [0], jobs: 1, timings: false, sheet: false, heatmap: true, signedColormap: 'rdwhgn' });
    expect(report.output).toMatchObject({ signedColormap: 'rdwhgn', outlierPercent: 2 });
    const got = await read(path.join(out, report.images[0].maps![0].files.heatmap!));
    // clip 0.6 (98% of 1.6 = 1.568 is reached only at the largest): +0.6 is rdwhgn's green end, -0.3 half-way to red
    expect(got.slice(0, 3)).toEqual([0, 128, 0]);
    const k = lutIndex(Math.fround((Math.fround(Math.fround(0.1) + Math.fround(-0.4)) / Math.fround(Math.fround(0.3) + Math.fround(-0.2) + Math.fround(0.5)) + 1) / 2)); // 63
    const t = (k - 127) / 127;
    expect(got.slice(3, 6)).toEqual([255, Math.round(255 * (1 + t)), Math.round(255 * (1 + t))]);
  });
});

describe('--resume and --render', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    await initBackend('wasm');
    dir = tempDir('gradient-resume');
    const m = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 3], filters: 2, kernelSize: 1, activation: 'relu', name: 'feat' }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 })] });
    model = path.join(dir, 'm');
    await saveLayersModel(m, model);
    m.dispose();
    await sharp(Buffer.alloc(4 * 4 * 3, 90), { raw: { width: 4, height: 4, channels: 3 } }).png().toFile(path.join(dir, 'x.png'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a folder drawn another way is refused only where the pictures differ (methods drawn as gradient images)', async () => {
    const run = (out: string, method: string, render?: 'auto' | 'heatmap' | 'signed' | 'gradient', resume = false, more: { legend?: 'below'; outlierPercent?: number } = {}) =>
      explain([path.join(dir, 'x.png')], { model, out: path.join(dir, out), method, render, resume, classes: [0], jobs: 1, timings: false, ...more });
    await run('a', 'gradcam');
    // Grad-CAM is a heatmap whatever --render says: the same pictures, resumed
    await expect(run('a', 'gradcam', 'gradient', true)).resolves.toBeDefined();
    // ... but a legend strip changes every picture
    await expect(run('a', 'gradcam', undefined, true, { legend: 'below' })).rejects.toThrow(/output\.legend "below" now, null then/);
    await run('b', 'gradcam,guided-backprop', 'gradient');
    await expect(run('b', 'gradcam,guided-backprop', 'heatmap', true)).rejects.toThrow(/output\.gradientImages/);
    // auto and signed draw the same signed maps; another clip share does not
    await run('c', 'gradcam,guided-backprop');
    await expect(run('c', 'gradcam,guided-backprop', 'signed', true)).resolves.toBeDefined();
    await expect(run('c', 'gradcam,guided-backprop', 'signed', true, { outlierPercent: 5 })).rejects.toThrow(/output\.outlierPercent 5 now, 2 then/);
  });
});
