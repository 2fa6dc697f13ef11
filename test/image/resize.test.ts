import * as tf from '@tensorflow/tfjs';
import { bilinearBytes } from '../../src/image/bilinear';
import type { DecodedImage } from '../../src/image/decode';
import { contentBox, placement, RESIZE_MODES, toSource } from '../../src/image/geometry';
import { luminance, resizeForModel } from '../../src/image/resize';
import { toGray } from '../../src/image/fit';
import { validateSidecar } from '../../src/model/sidecar';
import { rgbRaw } from './fixtures';

function image(w: number, h: number, f: (x: number, y: number) => [number, number, number]): DecodedImage {
  return { data: new Uint8Array(rgbRaw(w, h, f)), width: w, height: h, info: { format: 'raw', pages: 1, hadAlpha: false } };
}

// R = 3x, G = 2y: pixel (x, y) has its centre at (x + 0.5, y + 0.5), so the value at a continuous source position
// (sx, sy) is R = 3 (sx - 0.5), G = 2 (sy - 0.5). Any centred, normalised resampling kernel reproduces a linear
// function exactly away from the borders, so each model pixel's value tells where the resize sampled it from: a
// sampling position off by half a source pixel would be off by 1.5 levels in R and 1 in G.
const ramp = image(85, 120, (x, y) => [3 * x, 2 * y, 100]);

test('area: the resize samples exactly where the placement says, in every mode, shrinking', async () => {
  // Shrinking only: enlarged, a box filter repeats pixels (as tf's and OpenCV's area resize do).
  for (const [dw, dh] of [[40, 50], [60, 80], [40, 40], [50, 70], [85, 120]]) {
    for (const mode of RESIZE_MODES) {
      const p = placement(ramp.width, ramp.height, dw, dh, mode);
      const out = await resizeForModel(ramp, p, { grayscale: false, interpolation: 'area' });
      expect(out.length).toBe(dw * dh * 3);
      const box = contentBox(p);
      // Stay a few pixels inside the content so that border handling does not matter.
      const m = 4;
      let checked = 0;
      let errR = 0;
      let errG = 0;
      let biasR = 0;
      let biasG = 0;
      let blueOff = 0;
      for (let y = box.top + m; y < box.top + box.height - m; y++) {
        for (let x = box.left + m; x < box.left + box.width - m; x++) {
          const s = toSource(p, x + 0.5, y + 0.5);
          const i = (y * dw + x) * 3;
          const eR = out[i] - 3 * (s.x - 0.5);
          const eG = out[i + 1] - 2 * (s.y - 0.5);
          errR = Math.max(errR, Math.abs(eR));
          errG = Math.max(errG, Math.abs(eG));
          biasR += eR;
          biasG += eG;
          if (out[i + 2] !== 100) blueOff++;
          checked++;
        }
      }
      biasR /= checked;
      biasG /= checked;
      // Within rounding and no systematic offset: sampling half a source pixel off would show as a bias of 1.5
      // levels in R, 1 in G. (A box filter reproduces a linear ramp exactly at each output pixel's centre.)
      const ok = { errR: errR <= 0.75, errG: errG <= 0.75, biasR: Math.abs(biasR) < 0.15, biasG: Math.abs(biasG) < 0.15 };
      expect({ mode, dw, dh, ...ok, blueOff }).toEqual({ mode, dw, dh, errR: true, errG: true, biasR: true, biasG: true, blueOff: 0 });
      expect(checked).toBeGreaterThan(500);
    }
  }
});

test('pad: bars have exactly the pad value, content starts where contentBox says', async () => {
  const img = image(200, 100, () => [200, 150, 50]);
  const p = placement(200, 100, 64, 64, 'pad');
  expect(contentBox(p)).toEqual({ left: 0, top: 16, width: 64, height: 32 });
  const rgb = await resizeForModel(img, p, { grayscale: false, padColor: 114 });
  const row = (y: number) => Array.from(rgb.subarray(y * 64 * 3, y * 64 * 3 + 3));
  expect(row(0)).toEqual([114, 114, 114]);
  expect(row(15)).toEqual([114, 114, 114]);
  expect(row(16)).toEqual([200, 150, 50]);
  expect(row(47)).toEqual([200, 150, 50]);
  expect(row(48)).toEqual([114, 114, 114]);
  expect(row(63)).toEqual([114, 114, 114]);
  // Default pad is 0, and in greyscale the bars keep the pad value exactly.
  const black = await resizeForModel(img, p, { grayscale: false });
  expect(black[0]).toBe(0);
  const grey = await resizeForModel(img, p, { grayscale: true, padColor: 114 });
  expect(grey.length).toBe(64 * 64);
  expect(grey[0]).toBe(114);
  expect(grey[63 * 64 + 63]).toBe(114);
  // 0.299 * 200 + 0.587 * 150 + 0.114 * 50 = 153.65
  expect(grey[32 * 64 + 32]).toBe(154);
});

test('crop: only the centre of the image is used', async () => {
  // left third red, middle third green, right third blue; a centre crop to a square sees only green.
  const img = image(300, 100, (x) => (x < 100 ? [255, 0, 0] : x < 200 ? [0, 255, 0] : [0, 0, 255]));
  const out = await resizeForModel(img, placement(300, 100, 32, 32, 'crop'), { grayscale: false });
  let notGreen = 0;
  for (let i = 0; i < 32 * 32; i++) if (out[3 * i] !== 0 || out[3 * i + 1] !== 255 || out[3 * i + 2] !== 0) notGreen++;
  expect(notGreen).toBe(0);
  const stretched = await resizeForModel(img, placement(300, 100, 32, 32, 'stretch'), { grayscale: false });
  expect([stretched[0], stretched[1], stretched[2]]).toEqual([255, 0, 0]);
});

test('same size: pixels pass through unchanged', async () => {
  const img = image(17, 9, (x, y) => [(x * 13) & 255, (y * 29) & 255, (x * y) & 255]);
  for (const mode of RESIZE_MODES) {
    const out = await resizeForModel(img, placement(17, 9, 17, 9, mode), { grayscale: false });
    expect(Buffer.from(out).equals(Buffer.from(img.data))).toBe(true);
  }
});

test('greyscale is ITU-R 601 luma of the stored values, as PIL convert("L")', () => {
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 0, 0, 0, 200, 30, 60]);
  // PIL: (255,0,0) -> 76, (0,255,0) -> 150, (0,0,255) -> 29; 0.299*200 + 0.587*30 + 0.114*60 = 84.25
  expect(Array.from(luminance(rgb))).toEqual([76, 150, 29, 128, 255, 0, 84]);
});

test("--gray: grey as the app makes it (luma, the mean of R, G and B rounded, or one channel); a grey pixel stays itself", async () => {
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128, 200, 30, 61]);
  expect(Array.from(toGray(rgb, 'luma'))).toEqual(Array.from(luminance(rgb)));
  // (200 + 30 + 61) / 3 = 97; 255 / 3 = 85
  expect(Array.from(toGray(rgb, 'mean'))).toEqual([85, 85, 85, 128, 97]);
  expect(Array.from(toGray(rgb, 'r'))).toEqual([255, 0, 0, 128, 200]);
  expect(Array.from(toGray(rgb, 'g'))).toEqual([0, 255, 0, 128, 30]);
  expect(Array.from(toGray(rgb, 'b'))).toEqual([0, 0, 255, 128, 61]);
  // Through the resize, with grey letterbox bars that stay their value in every mode.
  const img = image(2, 1, (x) => (x === 0 ? [200, 30, 61] : [10, 20, 90]));
  const p = placement(2, 1, 2, 2, 'pad');
  for (const [gray, px] of [['mean', [97, 40]], ['b', [61, 90]]] as const) {
    const out = await resizeForModel(img, p, { grayscale: true, gray, padColor: 114 });
    // One row of the image and one row of bars, in whichever order the placement puts them.
    const rows = [Array.from(out.subarray(0, 2)), Array.from(out.subarray(2, 4))];
    expect([gray, rows.find((r) => r[0] !== 114), rows.find((r) => r[0] === 114)]).toEqual([gray, px, [114, 114]]);
  }
  expect(() => validateSidecar({ preprocess: { gray: 'green' } }, 's.json')).toThrow("s.json: field 'preprocess.gray' must be one of 'luma', 'mean', 'r', 'g', 'b'");
});

test('bilinearBytes (the enlarging step) by hand', () => {
  // 2x1 -> 4x1: output x samples (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, .25, .75, 1
  expect(Array.from(bilinearBytes(new Uint8Array([0, 10, 100, 100, 30, 0]), 2, 1, 4, 1, 3))).toEqual([
    0, 10, 100, 25, 15, 75, 75, 25, 25, 100, 30, 0,
  ]);
  // 1x2 -> 1x3 on one channel: y = 1/3 - 0.5, 1 - 0.5, 5/3 - 0.5 -> 0, 0.5, 1 (rounded half up: 127.5 -> 128)
  expect(Array.from(bilinearBytes(new Uint8Array([0, 255]), 1, 2, 1, 3, 1))).toEqual([0, 128, 255]);
});

test('a placement for another image size is refused', async () => {
  const img = image(10, 10, () => [0, 0, 0]);
  await expect(resizeForModel(img, placement(11, 10, 5, 5, 'stretch'), { grayscale: false })).rejects.toThrow(/11x10/);
  await expect(resizeForModel(img, placement(10, 10, 5, 5, 'pad'), { grayscale: false, padColor: 300 })).rejects.toThrow(/padColor/);
});

function noisy(w: number, h: number, seed: number): DecodedImage {
  let a = seed >>> 0;
  const next = () => ((a = (a * 1664525 + 1013904223) >>> 0) >>> 24);
  return image(w, h, () => [next(), next(), next()]);
}

beforeAll(async () => {
  const { initBackend } = await import('../../src/backend');
  await initBackend('wasm');
});

test('bilinear is tf.image.resizeBilinear (default arguments) to within one grey level; nearest is resizeNearestNeighbor exactly', async () => {
  for (const [sw, sh, dw, dh] of [[37, 23, 16, 16], [7, 5, 16, 12], [120, 90, 64, 64], [300, 200, 224, 224], [50, 50, 9, 31]]) {
    const img = noisy(sw, sh, sw * 31 + dh);
    const p = placement(sw, sh, dw, dh, 'stretch');
    const x = tf.tensor4d(Float32Array.from(img.data), [1, sh, sw, 3]);
    const bil = tf.image.resizeBilinear(x, [dh, dw]);
    const near = tf.image.resizeNearestNeighbor(x, [dh, dw]);
    const ref = bil.dataSync();
    const refNear = near.dataSync();
    tf.dispose([x, bil, near]);
    const ours = await resizeForModel(img, p, { grayscale: false });
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
    expect({ sw, sh, dw, dh, worst: worst <= 1 }).toEqual({ sw, sh, dw, dh, worst: true });
    const nearest = await resizeForModel(img, p, { grayscale: false, interpolation: 'nearest' });
    // alignCorners = true, as ml5 calls it.
    const xa = tf.tensor4d(Float32Array.from(img.data), [1, sh, sw, 3]);
    const bilA = tf.image.resizeBilinear(xa, [dh, dw], true);
    const nearA = tf.image.resizeNearestNeighbor(xa, [dh, dw], true);
    const refA = bilA.dataSync();
    const refNearA = nearA.dataSync();
    tf.dispose([xa, bilA, nearA]);
    const oursA = await resizeForModel(img, p, { grayscale: false, alignCorners: true });
    let worstA = 0;
    for (let i = 0; i < oursA.length; i++) worstA = Math.max(worstA, Math.abs(oursA[i] - refA[i]));
    expect({ sw, sh, dw, dh, worstA: worstA <= 1 }).toEqual({ sw, sh, dw, dh, worstA: true });
    const nearestA = await resizeForModel(img, p, { grayscale: false, interpolation: 'nearest', alignCorners: true });
    expect(Array.from(nearestA).findIndex((v, i) => v !== refNearA[i])).toBe(-1);
    const firstOff = Array.from(nearest).findIndex((v, i) => v !== refNear[i]);
    expect({ sw, sh, dw, dh, firstOff }).toEqual({ sw, sh, dw, dh, firstOff: -1 });
  }
});

test('area averages the pixels under each output pixel; lanczos differs from both on a noisy image', async () => {
  const img = noisy(8, 6, 5);
  const out = await resizeForModel(img, placement(8, 6, 4, 3, 'stretch'), { grayscale: false, interpolation: 'area' });
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 4; x++) {
      for (let k = 0; k < 3; k++) {
        const at = (xx: number, yy: number) => img.data[(yy * 8 + xx) * 3 + k];
        const mean = (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1)) / 4;
        expect(Math.abs(out[(y * 4 + x) * 3 + k] - mean)).toBeLessThanOrEqual(0.5);
      }
    }
  }
  const big = noisy(90, 60, 9);
  const p = placement(90, 60, 32, 32, 'stretch');
  const lz = await resizeForModel(big, p, { grayscale: false, interpolation: 'lanczos' });
  const bl = await resizeForModel(big, p, { grayscale: false, interpolation: 'bilinear' });
  expect(lz.length).toBe(32 * 32 * 3);
  expect(Buffer.from(lz).equals(Buffer.from(bl))).toBe(false);
});
