import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { DecodedImage } from '../../src/image/decode';
import { placement } from '../../src/image/geometry';
import { applyColormap, colormap, colormapLut, COLORMAPS } from '../../src/render/colormap';
import { encodePng, mapToImage, normalizeMap, overlay, overlayMap, renderOverlay, resizeMap } from '../../src/render/overlay';

const f32 = (a: number[]) => new Float32Array(a);

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect({ worst: worst <= tol ? 'ok' : worst, at: worst <= tol ? -1 : at }).toEqual({ worst: 'ok', at: -1 });
}

function image(w: number, h: number, f: (x: number, y: number) => [number, number, number]): DecodedImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3);
  return { data, width: w, height: h, info: { format: 'raw', pages: 1, hadAlpha: false } };
}

async function rawOf(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('resizeMap', () => {
  test('2x2 -> 4x4 by hand (half-pixel centres, edges clamped)', () => {
    // Output column o samples input x = (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, .25, .75, 1.
    expectClose(resizeMap(f32([0, 1, 2, 3]), 2, 2, 4, 4), [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3], 1e-7);
  });

  test('3x1 -> 2x1 and 1x1 -> 3x2 by hand', () => {
    // x = (o + 0.5) * 1.5 - 0.5 = 0.25, 1.75
    expectClose(resizeMap(f32([0, 10, 40]), 3, 1, 2, 1), [2.5, 32.5], 1e-6);
    expectClose(resizeMap(f32([7]), 1, 1, 3, 2), [7, 7, 7, 7, 7, 7], 0);
  });

  test('matches cv2.resize(INTER_LINEAR) on float32 (values computed with OpenCV 4.6)', () => {
    const src = f32([0, 1, 2.8284270763397217, 5.196152210235596, 8, 11.180339813232422, 14.696938514709473, 18.520259857177734, 22.627416610717773, 27, 31.62277603149414, 36.482872009277344]);
    const up = [
      0.0, 0.35714, 0.92857, 1.91421, 2.99755, 4.35054, 5.19615, 3.2, 3.86862, 4.93841, 6.32398, 7.78654, 9.47224, 10.52579, 8.0, 9.13584, 10.95317,
      12.93864, 14.97003, 17.15479, 18.52026, 16.77645, 18.16777, 20.39388, 22.76229, 25.16997, 27.71019, 29.29783, 22.62742, 24.18905, 26.68767,
      29.31139, 31.96992, 34.74712, 36.48287,
    ];
    expectClose(resizeMap(src, 4, 3, 7, 5), up, 2e-5);
    const b = f32([0, 5, 1, 9, 2, 7, 3, 3, 8, 0, 4, 1, 6, 2, 2, 5, 9, 0, 1, 8, 4, 4, 0, 3, 7, 0, 6, 1, 5, 2]);
    expectClose(resizeMap(b, 6, 5, 4, 3), [1.83333, 3.58333, 5.16667, 4.41667, 5.0, 2.0, 6.0, 2.25, 4.41667, 4.66667, 2.33333, 2.58333], 2e-5);
  });

  test('matches tf.image.resizeBilinear(x, size, false, true)', async () => {
    await tf.setBackend('cpu');
    const cases: [number, number, number, number][] = [
      [7, 7, 224, 224],
      [5, 7, 29, 13],
      [14, 14, 224, 224],
      [224, 224, 7, 7],
      [10, 3, 4, 11],
      [1, 1, 5, 5],
    ];
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 1;
    for (const [w, h, ow, oh] of cases) {
      const map = Float32Array.from({ length: w * h }, rand);
      const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(map, [1, h, w, 1]), [oh, ow], false, true).dataSync());
      expectClose(resizeMap(map, w, h, ow, oh), ref, 1e-6);
    }
  });

  test('size mismatches are refused', () => {
    expect(() => resizeMap(f32([1, 2, 3]), 2, 2, 4, 4)).toThrow(/3 values, expected 2x2/);
    expect(() => resizeMap(f32([1]), 1, 1, 0, 4)).toThrow(RangeError);
  });
});

describe('normalizeMap', () => {
  test('(m - min) / (max - min + 1e-7)', () => {
    const { map, flat } = normalizeMap(f32([1, 2, 3]));
    expect(flat).toBe(false);
    // In float32 (like numpy on float32 maps) 2 + 1e-7 rounds to 2, so the top value is exactly 1 here.
    expect(Array.from(map)).toEqual([0, 0.5, 1]);
    // With a range below 1 the 1e-7 survives and keeps the maximum just under 1.
    const tenth = normalizeMap(f32([0, 0.1])).map[1];
    expect(tenth).toBeLessThan(1);
    expect(tenth).toBeCloseTo(0.1 / (0.1 + 1e-7), 6);
    // Negative values are fine too.
    expectClose(normalizeMap(f32([-4, 0, 4])).map, [0, 0.5, 1], 1e-6);
  });

  test('all-zero and constant maps are flat and come out as zeros', () => {
    for (const v of [0, 5, -3]) {
      const { map, flat } = normalizeMap(new Float32Array(9).fill(v));
      expect(flat).toBe(true);
      expect(Array.from(map)).toEqual(new Array(9).fill(0));
    }
  });

  test('ranges tiny relative to the values (or below 1e-7) are flat', () => {
    expect(normalizeMap(f32([1e6, 1e6 + 0.0625])).flat).toBe(true);
    expect(normalizeMap(f32([0, 1e-9])).flat).toBe(true);
    expect(normalizeMap(f32([1e6, 1e6 + 1])).flat).toBe(false);
    // A small but real range is not flat; like the reference, the 1e-7 keeps its maximum below 1.
    const small = normalizeMap(f32([0, 1e-6]));
    expect(small.flat).toBe(false);
    expect(small.map[1]).toBeCloseTo(1e-6 / 1.1e-6, 5);
  });

  test('NaN and Infinity become 0 and flag the map as flat', () => {
    const { map, flat } = normalizeMap(f32([NaN, 1, 3, Infinity, -Infinity]));
    expect(flat).toBe(true);
    expectClose(map, [0, 1 / 3, 1, 0, 0], 1e-6);
    expect(normalizeMap(f32([NaN, NaN])).map.every((v) => v === 0)).toBe(true);
  });
});

describe('overlay', () => {
  test('round((1 - alpha) * image + alpha * heat)', () => {
    const img = new Uint8Array([0, 100, 255, 7]);
    const heat = new Uint8Array([255, 0, 100, 8]);
    // 0.5: 127.5 -> 128, 50, 177.5 -> 178, 7.5 -> 8
    expect(Array.from(overlay(img, heat, 0.5))).toEqual([128, 50, 178, 8]);
    // 0.3: 76.5 -> 77, 70, 208.5 -> 209, 7.3 -> 7
    expect(Array.from(overlay(img, heat, 0.3))).toEqual([77, 70, 209, 7]);
    expect(Array.from(overlay(img, heat, 0))).toEqual(Array.from(img));
    expect(Array.from(overlay(img, heat, 1))).toEqual(Array.from(heat));
  });

  test('bad arguments are refused', () => {
    expect(() => overlay(new Uint8Array(3), new Uint8Array(6), 0.5)).toThrow(/3 bytes/);
    expect(() => overlay(new Uint8Array(3), new Uint8Array(3), 1.5)).toThrow(/alpha/);
    expect(() => overlay(new Uint8Array(3), new Uint8Array(3), NaN)).toThrow(/alpha/);
  });
});

describe('encodePng', () => {
  test('lossless, deterministic, 1 or 3 channels', async () => {
    const rgb = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37) & 255);
    const a = await encodePng(rgb, 5, 4);
    const b = await encodePng(rgb, 5, 4);
    expect(a.equals(b)).toBe(true);
    const back = await rawOf(a);
    expect([back.width, back.height, back.channels]).toEqual([5, 4, 3]);
    expect(back.data.equals(Buffer.from(rgb))).toBe(true);

    const grey = Uint8Array.from({ length: 6 * 2 }, (_, i) => i * 20);
    const g = await encodePng(grey, 6, 2, 1);
    expect((await sharp(g).metadata()).channels).toBe(1);
    const gb = await sharp(g).extractChannel(0).raw().toBuffer();
    expect(Array.from(gb)).toEqual(Array.from(grey));
    await expect(encodePng(rgb, 5, 5)).rejects.toThrow(/expected 5x5x3/);
  });
});

describe('renderOverlay', () => {
  const jet = colormap('jet');

  test('stretch: every image pixel gets the map value at its position, coloured and composited', async () => {
    const img = image(40, 20, () => [200, 200, 200]);
    const p = placement(40, 20, 8, 8, 'stretch');
    // Map = column index / 7 at the 8x8 input.
    const map = Float32Array.from({ length: 64 }, (_, i) => (i % 8) / 7);
    const { overlay: ov, heatmap } = await renderOverlay(img, map, 8, 8, p, { colormap: 'jet', alpha: 0.4 });
    const h = await rawOf(heatmap!);
    const o = await rawOf(ov);
    expect([h.width, h.height, o.width, o.height]).toEqual([40, 20, 40, 20]);
    const expected = resizeMap(map, 8, 8, 40, 20);
    for (const [x, y] of [[0, 0], [13, 5], [20, 10], [39, 19]]) {
      const want = jet(expected[y * 40 + x]);
      const i = (y * 40 + x) * 3;
      expect(Array.from(h.data.subarray(i, i + 3))).toEqual(want);
      expect(Array.from(o.data.subarray(i, i + 3))).toEqual(want.map((c) => Math.round(0.6 * 200 + 0.4 * c)));
    }
  });

  test('crop: pixels outside the crop get map value 0; the crop gets the map', async () => {
    const img = image(300, 100, () => [0, 0, 0]);
    const p = placement(300, 100, 32, 32, 'crop'); // columns 100..199 of the image fill the input
    const values = mapToImage(img, new Float32Array(32 * 32).fill(1), 32, 32, p);
    for (let y = 0; y < 100; y += 9) {
      for (const x of [0, 50, 99]) expect(values[y * 300 + x]).toBe(0);
      for (const x of [100, 150, 199]) expect(values[y * 300 + x]).toBe(1);
      for (const x of [200, 299]) expect(values[y * 300 + x]).toBe(0);
    }
    const { heatmap } = await renderOverlay(img, new Float32Array(32 * 32).fill(1), 32, 32, p, { colormap: 'turbo', alpha: 0.5 });
    const h = await rawOf(heatmap!);
    expect(Array.from(h.data.subarray(0, 3))).toEqual(colormap('turbo')(0));
    expect(Array.from(h.data.subarray(150 * 3, 150 * 3 + 3))).toEqual(colormap('turbo')(1));
  });

  test('crop: the map lands where the placement put the crop (a hot spot stays on its object)', () => {
    const img = image(400, 300, () => [0, 0, 0]);
    const p = placement(400, 300, 224, 224, 'crop');
    // Hot spot at model pixel (56, 168) -> source (50 + 56.5 * 300/224, 168.5 * 300/224) = (125.7, 225.7)
    const map = new Float32Array(224 * 224);
    map[168 * 224 + 56] = 1;
    const values = mapToImage(img, map, 224, 224, p);
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    expect([best % 400, Math.floor(best / 400)]).toEqual([125, 225]);
  });

  test('pad: the padding is dropped and does not bleed into the image edges', () => {
    const img = image(200, 100, () => [0, 0, 0]);
    const p = placement(200, 100, 64, 64, 'pad'); // content rows 16..47
    // 1 in the bars, 0 over the image, except a marker row at the content's first row.
    const map = new Float32Array(64 * 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) map[y * 64 + x] = y < 16 || y >= 48 ? 1 : y === 16 ? 0.5 : 0;
    const values = mapToImage(img, map, 64, 64, p);
    // The image's top row comes from the content's first row (0.5, clamped), never from the bar (1).
    expect(values[0]).toBeCloseTo(0.5, 6);
    expect(values[199]).toBeCloseTo(0.5, 6);
    // The bottom rows come from the content only.
    expect(Math.max(...values.subarray(90 * 200))).toBe(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(0.5);
  });

  test('pad with the map at another resolution than the input', () => {
    const img = image(200, 100, () => [0, 0, 0]);
    const p = placement(200, 100, 64, 64, 'pad');
    const map = new Float32Array(32 * 32);
    for (let y = 8; y < 24; y++) for (let x = 0; x < 32; x++) map[y * 32 + x] = x / 31;
    const values = mapToImage(img, map, 32, 32, p);
    expect(values[50 * 200 + 0]).toBeCloseTo(0, 6);
    expect(values[50 * 200 + 199]).toBeCloseTo(1, 6);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
  });

  test('a 1600x1200 photo-sized overlay renders in reasonable time', async () => {
    const img = image(1600, 1200, (x, y) => [(x >> 3) & 255, (y >> 3) & 255, ((x + y) >> 4) & 255]);
    const p = placement(1600, 1200, 224, 224, 'crop');
    const map = resizeMap(Float32Array.from({ length: 49 }, (_, i) => (i * 17) % 11 / 10), 7, 7, 224, 224);
    await renderOverlay(img, map, 224, 224, p, { colormap: 'jet', alpha: 0.5 }); // warm up
    const t0 = performance.now();
    const values = mapToImage(img, map, 224, 224, p);
    const t1 = performance.now();
    const out = await renderOverlay(img, map, 224, 224, p, { colormap: 'jet', alpha: 0.5 });
    const t2 = performance.now();
    console.log(`1600x1200: map to image ${(t1 - t0).toFixed(0)} ms, whole render incl. 2 PNG encodes ${(t2 - t1).toFixed(0)} ms`);
    expect(values.length).toBe(1600 * 1200);
    expect(out.overlay.length).toBeGreaterThan(1000);
    // Generous bound for a shared 2-core machine; typical numbers are printed above.
    expect(t2 - t1).toBeLessThan(3000);
  });
});

describe('overlayMap (mapToImage, colour map and blend in one pass)', () => {
  // A small seeded generator: the cases are the same on every run.
  let seed = 11;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

  test('per pixel: the colour of the resampled value, blended as round((1 - alpha) * image + alpha * colour)', () => {
    const img = image(37, 23, (x, y) => [(x * 7) & 255, (y * 11) & 255, (x * y) & 255]);
    const map = Float32Array.from({ length: 14 * 14 }, () => rnd());
    const p = placement(37, 23, 14, 14, 'crop');
    const values = mapToImage(img, map, 14, 14, p);
    for (const [name, alpha] of [['jet', 0.5], ['viridis', 0.3], ['inferno', 1], ['turbo', 0]] as const) {
      const { overlay: got, heat } = overlayMap(img, map, 14, 14, p, colormapLut(name), alpha, true);
      const colour = colormap(name);
      const want = new Uint8Array(img.data.length);
      const wantHeat = new Uint8Array(img.data.length);
      for (let k = 0; k < values.length; k++) {
        const rgb = colour(values[k]);
        for (let c = 0; c < 3; c++) {
          wantHeat[k * 3 + c] = rgb[c];
          want[k * 3 + c] = Math.round((1 - alpha) * img.data[k * 3 + c] + alpha * rgb[c]);
        }
      }
      expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
      expect(Buffer.compare(Buffer.from(heat!), Buffer.from(wantHeat))).toBe(0);
    }
  });

  test('the same bytes as overlay(applyColormap(mapToImage(...))) in every mode, enlarging and shrinking', () => {
    let cases = 0;
    for (const mode of ['stretch', 'crop', 'pad'] as const) {
      for (const [w, h, iw, ih] of [[600, 400, 224, 224], [31, 57, 224, 224], [5, 3, 7, 9], [224, 224, 224, 224], [1, 1, 14, 14], [300, 20, 1, 1]]) {
        const img = image(w, h, () => [Math.floor(rnd() * 256), Math.floor(rnd() * 256), Math.floor(rnd() * 256)]);
        // Half the maps have large flat parts (ties, zeros), as ReLU'd maps do.
        const map = Float32Array.from({ length: iw * ih }, () => (cases % 2 ? rnd() : rnd() < 0.5 ? 0 : 1));
        const p = placement(w, h, iw, ih, mode);
        const name = COLORMAPS[cases % COLORMAPS.length];
        const alpha = [0.5, 0.25, 0.9][cases % 3];
        const heat = applyColormap(mapToImage(img, map, iw, ih, p), name);
        const want = overlay(img.data, heat, alpha);
        const got = overlayMap(img, map, iw, ih, p, colormapLut(name), alpha, cases % 2 === 0);
        expect(Buffer.compare(Buffer.from(got.overlay), Buffer.from(want))).toBe(0);
        if (cases % 2 === 0) expect(Buffer.compare(Buffer.from(got.heat!), Buffer.from(heat))).toBe(0);
        else expect(got.heat).toBeUndefined();
        cases++;
      }
    }
    expect(cases).toBe(18);
  });

  test('bad arguments are refused', () => {
    const img = image(4, 4, () => [0, 0, 0]);
    const p = placement(4, 4, 2, 2, 'stretch');
    expect(() => overlayMap(img, new Float32Array(3), 2, 2, p, colormapLut('jet'), 0.5)).toThrow(/map has 3 values/);
    expect(() => overlayMap(img, new Float32Array(4), 2, 2, p, colormapLut('jet'), 1.5)).toThrow(/alpha/);
    expect(() => overlayMap({ ...img, data: new Uint8Array(5) }, new Float32Array(4), 2, 2, p, colormapLut('jet'), 0.5)).toThrow(/expected 4x4x3/);
  });
});
