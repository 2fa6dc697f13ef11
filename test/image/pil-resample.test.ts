// PIL's BICUBIC and NEAREST resize (src/image/pil-resample.ts), checked against values derived from the definitions
// by hand (the cubic kernel, its weights, tiny images), against properties any correct implementation has (weights
// summing to 1, symmetry, linear ramps kept), and against a few outputs of PIL itself: Pillow 9.4.0 (Debian 12's
// python3-pil), `Image.frombytes('RGB', size, data).resize(size, Image.BICUBIC | Image.NEAREST).tobytes()`, given
// the same bytes. While developing, 1020 cases (6 photos of 347 to 1600 pixels and 41 x 29 crops of them, and
// 450 random images of 1 to 1000 pixels; shrunk, enlarged, and both at once) gave PIL's bytes exactly; the
// references kept here are a sample of them.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { bicubicTaps, cubicKernel, fixedPointWeight, pilBicubicBytes, pilNearestBytes, pilNearestIndices } from '../../src/image/pil-resample';
import { decodeImage, type DecodedImage } from '../../src/image/decode';
import { contentBox, placement, RESIZE_MODES, toSource } from '../../src/image/geometry';
import { resizeForModel } from '../../src/image/resize';
import { fitToInput } from '../../src/image/fit';
import { SHARED, skipNotice } from '../helpers/cli';

const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One row of RGB pixels from grey values, every channel equal. */
const greyRow = (values: number[]) => Uint8Array.from(values.flatMap((v) => [v, v, v]));
const channel0 = (rgb: Uint8Array) => Array.from(rgb.filter((_, i) => i % 3 === 0));

test('the cubic kernel (a = -0.5) at hand-computed points, and its weights sum to 1 at any offset', () => {
  // |x| < 1: 1.5|x|^3 - 2.5|x|^2 + 1; 1 <= |x| < 2: -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2.
  const cases: [number, number][] = [[0, 1], [0.25, 0.8671875], [0.5, 0.5625], [0.75, 0.2265625], [1, 0], [1.25, -0.0703125], [1.5, -0.0625], [1.75, -0.0234375], [2, 0], [3, 0]];
  for (const [x, k] of cases) {
    expect(cubicKernel(x)).toBeCloseTo(k, 15);
    expect(cubicKernel(-x)).toBeCloseTo(k, 15);
  }
  // Interpolating kernels of this family sum to 1 over the integer grid: a constant image stays constant.
  for (const t of [0, 0.1, 0.3, 0.5, 0.77]) {
    expect(cubicKernel(t + 1) + cubicKernel(t) + cubicKernel(t - 1) + cubicKernel(t - 2)).toBeCloseTo(1, 14);
  }
});

test("bicubic taps: weights sum to 1, mirror each other, and shrinking stretches the kernel by the scale", () => {
  for (const [n, m] of [[8, 2], [9, 4], [224, 224], [5, 13], [1600, 224], [3, 1], [1, 7]]) {
    const { first, weights } = bicubicTaps(n, m);
    let worstSum = 0;
    let worstFixed = 0;
    for (let o = 0; o < m; o++) {
      const w = weights[o];
      worstSum = Math.max(worstSum, Math.abs(w.reduce((a, b) => a + b, 0) - 1));
      expect(first[o] >= 0 && first[o] + w.length <= n).toBe(true);
      // PIL's fixed-point weights (22 fractional bits) sum to 2^22 up to the rounding of each (at most 1/2 each).
      const fixed = Array.from(w, fixedPointWeight).reduce((a, b) => a + b, 0);
      worstFixed = Math.max(worstFixed, Math.abs(fixed - 2 ** 22) / (w.length / 2));
    }
    expect(worstSum).toBeLessThan(1e-12);
    expect(worstFixed).toBeLessThanOrEqual(1);
    // Output pixel o and m - 1 - o lie mirrored in the input: input i weighs in o what n - 1 - i weighs in
    // m - 1 - o (PIL's windows are not quite symmetric, but the weights they add are 0).
    const weight = (o: number, i: number) => (i >= first[o] && i < first[o] + weights[o].length ? weights[o][i - first[o]] : 0);
    let asymmetry = 0;
    for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) asymmetry = Math.max(asymmetry, Math.abs(weight(o, i) - weight(m - 1 - o, n - 1 - i)));
    expect(asymmetry).toBeLessThan(1e-12);
  }
  // Shrinking 8 -> 2: scale 4, so the kernel's support grows from 2 to 8; output 0 (centre 2 in input
  // coordinates) reads inputs 0..7 (its window [-6, 10) cut to the image) with weights K((i + 0.5 - 2) / 4) / sum.
  const { first, weights } = bicubicTaps(8, 2);
  expect(first[0]).toBe(0);
  const raw = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => cubicKernel((i + 0.5 - 2) / 4));
  const sum = raw.reduce((a, b) => a + b, 0);
  expect(Array.from(weights[0])).toEqual(raw.map((r) => r / sum));
  // Same size: one weight of 1 per pixel (PIL's identity).
  const same = bicubicTaps(5, 5);
  same.weights.forEach((w, o) => expect(Array.from(w).map((v, j) => (v === 0 ? 0 : same.first[o] + j))).toContain(o));
  same.weights.forEach((w) => expect(Array.from(w).filter((v) => v !== 0)).toEqual([1]));
});

test('bicubic on tiny images, by hand: an edge shrunk 4 -> 2 and enlarged 2 -> 4 (edge weights renormalised, clamped)', () => {
  // 4 -> 2, output 0: centre 1, weights K(-0.25), K(0.25), K(0.75), K(1.25) over inputs 0..3, whose sum is
  // 2 * 0.8671875 + 0.2265625 - 0.0703125 = 1.890625; inputs [0, 0, 255, 255] give 255 * 0.15625 / 1.890625 = 21.07.
  // Output 1 mirrors it: 255 - 21.07 = 233.93.
  expect(channel0(pilBicubicBytes(greyRow([0, 0, 255, 255]), 4, 1, 2, 1, 3))).toEqual([21, 234]);
  // 2 -> 4: scale 1/2, so the kernel is not stretched. Output 0 (centre 0.25): K(0.25) on input 0, K(1.25) on
  // input 1, sum 0.796875: 255 * -0.0703125 / 0.796875 = -22.5, clamped to 0. Output 1 (centre 0.75): K(0.25)
  // and K(0.75), sum 1.09375: 255 * 0.2265625 / 1.09375 = 52.82. Outputs 2 and 3 mirror them.
  expect(channel0(pilBicubicBytes(greyRow([0, 255]), 2, 1, 4, 1, 3))).toEqual([0, 53, 202, 255]);
  // The same along columns (a 1-pixel-wide image), and a constant image stays exactly constant.
  expect(channel0(pilBicubicBytes(greyRow([0, 0, 255, 255]), 1, 4, 1, 2, 3))).toEqual([21, 234]);
  const flat = new Uint8Array(13 * 7 * 3).fill(200);
  for (const [w, h] of [[5, 3], [40, 19], [13, 2]]) expect(new Set(pilBicubicBytes(flat, 13, 7, w, h, 3))).toEqual(new Set([200]));
});

test("PIL's NEAREST takes the pixel under each output pixel's centre; tf's nearest takes the one at its left edge", () => {
  // 3 -> 7: centres at (o + 0.5) * 3/7 = 0.21, 0.64, 1.07, 1.5, 1.93, 2.36, 2.79.
  expect(Array.from(pilNearestIndices(3, 7))).toEqual([0, 0, 1, 1, 1, 2, 2]);
  // 5 -> 2: centres 1.25 and 3.75.
  expect(Array.from(pilNearestIndices(5, 2))).toEqual([1, 3]);
  // 1600 -> 224: every index is floor((o + 0.5) * 1600 / 224) where that is not within rounding of a whole number.
  const idx = pilNearestIndices(1600, 224);
  for (let o = 0; o < 224; o++) {
    const c = ((o + 0.5) * 1600) / 224;
    if (Math.abs(c - Math.round(c)) > 1e-9) expect(idx[o]).toBe(Math.floor(c));
  }
  const row = greyRow([10, 20, 30]);
  expect(channel0(pilNearestBytes(row, 3, 1, 7, 1, 3))).toEqual([10, 10, 20, 20, 20, 30, 30]);
  // tf.image.resizeNearestNeighbor picks floor(o * 3/7): 0, 0, 0, 1, 1, 2, 2.
});

/** pattern(x, y, c) = (37x + 91y + 53c + 7xy) mod 256: a texture with no symmetry, as PIL's references were made from. */
function pattern(w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + x * y * 7) % 256;
  return out;
}

test('equal to PIL 9.4 on a 9 x 7 texture: shrunk, enlarged, and shrunk along one axis while enlarged along the other', () => {
  const src = pattern(9, 7);
  // Bytes and SHA-256 of PIL's output (see the header for how they were made).
  expect(hex(pilBicubicBytes(src, 9, 7, 4, 3, 3))).toBe('63828f7a829481878467808a7c877d8e8a8791877d867b7b6c9d7f79876b978579779471');
  expect(hex(pilNearestBytes(src, 9, 7, 4, 3, 3))).toBe('87bcf1df1449376ca18fc4f94b80b5bff42933689da7dc110f44799fd4092f6499bff429');
  expect(sha256(pilBicubicBytes(src, 9, 7, 11, 8, 3))).toBe('510da3db5f06380eccf8d6d05a5407973f46578039e9cfa0a1ac6a316a8ab582');
  expect(sha256(pilNearestBytes(src, 9, 7, 11, 8, 3))).toBe('f1469883cfe11d9867fb3b689c7cf3f4638f9b2c5f1290c3496bb52881830d2d');
  expect(sha256(pilBicubicBytes(src, 9, 7, 6, 11, 3))).toBe('7e922ad90ae4d4602b1ed1bb0bd4eca2ac53520f70fe6f07a2166e94b9d080e2');
  expect(sha256(pilNearestBytes(src, 9, 7, 6, 11, 3))).toBe('4a3f31661eee658f67b0c8a07d8a8b4aa38e5a3d58b9cff56edfd00424208c56');
  // Any channel count: one channel alone gives what it gives among three.
  const red = src.filter((_, i) => i % 3 === 0);
  expect(Array.from(pilBicubicBytes(red, 9, 7, 11, 8, 1))).toEqual(channel0(pilBicubicBytes(src, 9, 7, 11, 8, 3)));
  expect(Array.from(pilBicubicBytes(red, 9, 7, 4, 3, 1))).toEqual(channel0(pilBicubicBytes(src, 9, 7, 4, 3, 3)));
});

const shared = fs.existsSync(path.join(SHARED, 'images', 'astronaut.png'));
(shared ? test : test.skip)('equal to PIL 9.4 on a photo (astronaut.png) shrunk to 224 x 224, and a 41 x 29 crop of it enlarged to 224 x 224', async () => {
  const img = await decodeImage(path.join(SHARED, 'images', 'astronaut.png'));
  // The bytes PIL was given (PNG: decoded the same by any decoder).
  expect(sha256(img.data)).toBe('a8c429c18afa7b0fd5673e598d73a21225d94c864a71bbb3885126fdecb41071');
  expect(sha256(pilBicubicBytes(img.data, 512, 512, 224, 224, 3))).toBe('16bff06bc3cfc3f3a04f073152b1e2311ccddd13f493f58cae10e7475b354587');
  expect(sha256(pilNearestBytes(img.data, 512, 512, 224, 224, 3))).toBe('caf886854926e3ee9cd2236d38220d96987e4b587acd4bb0569f8cb9363a2d2a');
  // PIL: im.crop((170, 170, 211, 199)).resize((224, 224), ...), here through the placement of a 'crop' of that box.
  const crop = new Uint8Array(41 * 29 * 3);
  for (let y = 0; y < 29; y++) crop.set(img.data.subarray(((170 + y) * 512 + 170) * 3, ((170 + y) * 512 + 211) * 3), y * 41 * 3);
  const small = { data: crop, width: 41, height: 29 };
  const p = placement(41, 29, 224, 224, 'stretch');
  expect(sha256(await fitToInput(small, p, { grayscale: false, interpolation: 'bicubic' }))).toBe('644f59629df459e4e476a97a3738e5bba793448ff0aa2e9c05c9f3920f956574');
  expect(sha256(await fitToInput(small, p, { grayscale: false, interpolation: 'pil-nearest' }))).toBe('ec430c47219e846c9c889ae61cc0888f7fee1d6451ffd0ef6599bad5fb161e0b');
});
if (!shared) skipNotice('the PIL photo references');

test('every resize mode: bicubic keeps a linear ramp where the placement says; pil-nearest takes the pixel under each centre', async () => {
  // R = 3x, G = 2y (as in resize.test.ts): the value at source position (sx, sy) is R = 3 (sx - 0.5), G = 2 (sy - 0.5).
  const w = 85;
  const h = 120;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([3 * x, 2 * y, 100], (y * w + x) * 3);
  const ramp: DecodedImage = { data, width: w, height: h, info: { format: 'raw', pages: 1, hadAlpha: false } };
  for (const [dw, dh] of [[40, 50], [60, 80], [170, 240], [50, 150]]) {
    for (const mode of RESIZE_MODES) {
      const p = placement(w, h, dw, dh, mode);
      const cubic = await resizeForModel(ramp, p, { grayscale: false, interpolation: 'bicubic' });
      const near = await resizeForModel(ramp, p, { grayscale: false, interpolation: 'pil-nearest' });
      const box = contentBox(p);
      let worstCubic = 0;
      let nearOff = 0;
      let checked = 0;
      // Away from the borders, where the kernel is cut off and renormalised.
      const m = 8;
      for (let y = box.top + m; y < box.top + box.height - m; y++) {
        for (let x = box.left + m; x < box.left + box.width - m; x++) {
          const s = toSource(p, x + 0.5, y + 0.5);
          const i = (y * dw + x) * 3;
          const eR = cubic[i] - 3 * (s.x - 0.5);
          const eG = cubic[i + 1] - 2 * (s.y - 0.5);
          worstCubic = Math.max(worstCubic, Math.abs(eR), Math.abs(eG), Math.abs(cubic[i + 2] - 100));
          // A centre on a pixel boundary is left out: PIL adds the step up in float64, which lands on either side.
          const onEdge = (v: number) => Math.abs(v - Math.round(v)) < 1e-9;
          if ((!onEdge(s.x) && near[i] !== 3 * Math.floor(s.x)) || (!onEdge(s.y) && near[i + 1] !== 2 * Math.floor(s.y))) nearOff++;
          checked++;
        }
      }
      // Rounding (0.5) plus what the stretched kernel, sampled every 1/s of its width, misses of a ramp (< 0.05
      // levels here); a sampling position half a source pixel off would be 1.5 levels off in R, 1 in G.
      expect({ mode, dw, dh, cubicWithinRounding: worstCubic < 0.55, nearOff }).toEqual({ mode, dw, dh, cubicWithinRounding: true, nearOff: 0 });
      expect(checked).toBeGreaterThan(300);
    }
  }
});
