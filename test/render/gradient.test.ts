// Gradient images (--render): pytorch-grad-cam's deprocess_image on hand-computed values, and end to end on a
// linear model whose input gradient is known exactly (its weights), through explain's files.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { gradientImage } from '../../src/render/gradient';
import { drawnAsGradient } from '../../src/pipeline/explain';
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

test('which methods are gradient images: auto = the guided ones, gradient = the five signed ones, heatmap = none', () => {
  const methods = ['gradcam', 'saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'guided-gradcam', 'fullgrad'];
  expect(methods.filter((m) => drawnAsGradient(m))).toEqual(['guided-backprop', 'guided-gradcam']);
  expect(methods.filter((m) => drawnAsGradient(m, 'gradient'))).toEqual(['saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'guided-gradcam']);
  expect(methods.filter((m) => drawnAsGradient(m, 'heatmap'))).toEqual([]);
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

  test('auto draws guided backprop as a gradient image and saliency as a heatmap; heatmap draws both as heatmaps', async () => {
    const auto = path.join(dir, 'auto');
    const a = await explain([path.join(dir, 'x.png')], { model, out: auto, method: 'saliency,guided-backprop', classes: [0], jobs: 1, timings: false, sheet: false, heatmap: true });
    expect(a.report.output.render).toBe('auto');
    const [sal, guided] = a.report.images[0].maps!.map((mm) => mm.files);
    expect(await read(path.join(auto, guided.overlay!))).toEqual(expected(W));
    // --heatmap still writes the guided map's heatmap beside its gradient image
    expect(fs.existsSync(path.join(auto, guided.heatmap!))).toBe(true);
    const heat = path.join(dir, 'heat');
    const h = await explain([path.join(dir, 'x.png')], { model, out: heat, method: 'saliency,guided-backprop', classes: [0], render: 'heatmap', jobs: 1, timings: false, sheet: false });
    const [sal2, guided2] = h.report.images[0].maps!.map((mm) => mm.files);
    // saliency is the same heatmap overlay under auto and heatmap; guided backprop is one under heatmap only
    expect(fs.readFileSync(path.join(heat, sal2.overlay!)).equals(fs.readFileSync(path.join(auto, sal.overlay!)))).toBe(true);
    expect(await read(path.join(heat, guided2.overlay!))).not.toEqual(expected(W));
    expect(await read(path.join(heat, guided2.overlay!))).toEqual(await read(path.join(heat, sal2.overlay!))); // |W| max over channels either way
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
    const run = (out: string, method: string, render?: 'auto' | 'heatmap' | 'gradient', resume = false) =>
      explain([path.join(dir, 'x.png')], { model, out: path.join(dir, out), method, render, resume, classes: [0], jobs: 1, timings: false });
    await run('a', 'gradcam');
    // Grad-CAM is a heatmap whatever --render says: the same pictures, resumed
    await expect(run('a', 'gradcam', 'gradient', true)).resolves.toBeDefined();
    await run('b', 'gradcam,guided-backprop');
    await expect(run('b', 'gradcam,guided-backprop', 'heatmap', true)).rejects.toThrow(/output\.gradientImages/);
  });
});
