// The converter-like quantiser (scripts/quantize-model.ts) checked against tfjs-core's own decoder
// (tf.io.decodeWeights, which is what loads quantised models) and against values worked out by hand.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { float16Bits, quantizeValues, readModelWeights, writeQuantizedCopy } from '../../scripts/quantize-model';
import { initBackend } from '../../src/backend';
import { ROOT, tempDir } from '../helpers/cli';

beforeAll(async () => {
  await initBackend('wasm');
});

/** tfjs decoding one weight of `values.length` values stored as `q`. */
function decode(bytes: Uint8Array, n: number, quantization: object): Float32Array {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const t = tf.io.decodeWeights(buf, [{ name: 'w', shape: [n], dtype: 'float32', quantization: quantization as tf.io.WeightsManifestEntry['quantization'] }]).w;
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

describe('uint8 and uint16 as the converter writes them', () => {
  test('by hand: the range nudged so that 0 is exact, round half to even', () => {
    // min -1, max 3: scale 4/255, zero point 63.75 -> 64, so min becomes -64 * 4/255; 3 is clipped to the new max.
    const q = quantizeValues(Float32Array.from([-1, 0.5, 3, 0]), 'uint8');
    expect(q.quantization).toEqual({ dtype: 'uint8', min: (-64 * 4) / 255, scale: 4 / 255, original_dtype: 'float32' });
    expect(Array.from(q.bytes)).toEqual([0, 96, 255, 64]);
    // All values equal: zeros, scale 1, min the value (the converter's special case).
    const same = quantizeValues(Float32Array.from([0.25, 0.25]), 'uint8');
    expect(Array.from(same.bytes)).toEqual([0, 0]);
    expect(same.quantization).toMatchObject({ min: 0.25, scale: 1 });
  });

  test("tfjs decodes them within half a step, and 0 as 0", () => {
    let s = 3;
    const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
    for (const dtype of ['uint8', 'uint16'] as const) {
      for (let t = 0; t < 20; t++) {
        const v = Float32Array.from({ length: 500 }, () => (rnd() - 0.3) * 4);
        v[7] = 0;
        const q = quantizeValues(v, dtype);
        const back = decode(q.bytes, v.length, q.quantization);
        const step = q.quantization.scale!;
        let worst = 0;
        for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(back[i] - v[i]) / step);
        expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);
        expect(back[7]).toBeCloseTo(0, 6);
      }
    }
  });
});

describe('float16', () => {
  // Every finite half, decoded by tfjs: the nearest one to a value is what float16Bits must give.
  let halves: { bits: number; value: number }[];
  beforeAll(() => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const values = decode(new Uint8Array(all.buffer), 65536, { dtype: 'float16' });
    halves = Array.from(values, (value, bits) => ({ bits, value })).filter((h) => Number.isFinite(h.value) && !(h.value === 0 && h.bits !== 0));
    halves.sort((a, b) => a.value - b.value);
  });

  const nearest = (v: number): number => {
    let lo = 0;
    let hi = halves.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (halves[mid].value <= v) lo = mid;
      else hi = mid;
    }
    const a = halves[lo];
    const b = halves[hi];
    const da = Math.abs(v - a.value);
    const db = Math.abs(v - b.value);
    if (da !== db) return da < db ? a.value : b.value;
    return (a.bits & 1) === 0 ? a.value : b.value; // ties: the even mantissa
  };

  test('the nearest half (ties to even), as tfjs decodes it; overflow to infinity', () => {
    let s = 9;
    const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const specials = [0, 1, -1, 65504, 65519, 2 ** -14, 2 ** -24, 2 ** -25 * 3, 1e-5, -3.14159, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    const randoms = Array.from({ length: 3000 }, (_, i) => (rnd() - 0.5) * 10 ** ((i % 12) - 7));
    const values = Float32Array.from([...specials, ...randoms]);
    const bits = Uint16Array.from(values, (v) => float16Bits(v));
    const back = decode(new Uint8Array(bits.buffer), values.length, { dtype: 'float16' });
    // (-0 for a tiny negative value is the right half too: compared as numbers.)
    const wrong = Array.from(values).filter((v, i) => back[i] !== Math.fround(nearest(v)));
    expect(wrong).toEqual([]);
    expect(float16Bits(65520)).toBe(0x7c00);
    expect(float16Bits(-1e6)).toBe(0xfc00);
    expect(float16Bits(2 ** -25)).toBe(0); // a tie between 0 and the smallest subnormal: to 0 (even)
  });
});

describe('a quantised copy of a shipped model', () => {
  test('the manifest as the converter writes it; tfjs reads the weights the quantiser meant', () => {
    const dir = tempDir('quantize');
    const src = path.join(ROOT, 'models', 'gap-cnn');
    writeQuantizedCopy(src, path.join(dir, 'u8'), 'uint8');
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'u8', 'model.json'), 'utf8'));
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['group1-shard1of1.bin']);
    const entry = json.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'conv5/kernel');
    expect(entry).toMatchObject({ dtype: 'float32', quantization: { dtype: 'uint8', original_dtype: 'float32' } });
    // One byte per value, 45,818 parameters plus the BatchNorm statistics.
    const original = readModelWeights(src).weights;
    const n = original.reduce((a, w) => a + w.values.length, 0);
    expect(fs.statSync(path.join(dir, 'u8', 'group1-shard1of1.bin')).size).toBe(n);
    expect(fs.existsSync(path.join(dir, 'u8', 'tfjs-cam.json'))).toBe(true);
    const copied = readModelWeights(path.join(dir, 'u8')).weights;
    copied.forEach((w, i) => {
      const q = quantizeValues(original[i].values as Float32Array, 'uint8');
      expect(Array.from(w.values)).toEqual(Array.from(decode(q.bytes, q.bytes.length, q.quantization)));
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
