/**
 * Writes a copy of a tfjs model folder with its weights quantised as tfjs-converter's `--quantize_uint8`,
 * `--quantize_uint16` and `--quantize_float16` write them, so that `tfjs-cam diff` can be tried (and tested) on
 * what a model's owner ships after quantising, without Python and TensorFlow:
 *
 *   npm run build && node dist/scripts/quantize-model.js models/gap-cnn /tmp/gap-cnn-uint8 [--dtype uint8|uint16|float16]
 *
 * What the converter does (tensorflowjs/quantization.py and write_weights.py), and so what this does:
 *   - only float32 weights are quantised; every one of them (the flag without a pattern);
 *   - uint8/uint16: per weight, min and max of its values (float64), scale = (max - min) / 255 (65535); when
 *     min <= 0 <= max the range is "nudged" so that 0 is exactly representable (min = -round(-min / scale) * scale);
 *     q = round_half_even((clip(v, min, max) - min) / scale); the manifest entry keeps dtype 'float32' and gets
 *     `quantization: {dtype, min, scale, original_dtype: 'float32'}`; a weight whose values are all equal gets
 *     q = 0, scale 1, min = the value;
 *   - float16: IEEE half precision, round to nearest even; `quantization: {dtype: 'float16', original_dtype}`;
 *   - the bytes of all weights one after another, cut into 4 MB shards named group1-shard<k>of<n>.bin.
 * tfjs decodes them in tfjs-core's io_utils.js decodeWeights (v * scale + min; float16 through its tables).
 * Everything else in the folder (sidecar, labels, metadata.json) is copied as it is.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

export type QuantizeDtype = 'uint8' | 'uint16' | 'float16';
export const QUANTIZE_DTYPES: QuantizeDtype[] = ['uint8', 'uint16', 'float16'];

/** tfjs-converter's shard size. */
const SHARD_BYTES = 4 * 1024 * 1024;

export interface Quantized {
  bytes: Uint8Array;
  quantization: { dtype: QuantizeDtype; min?: number; scale?: number; original_dtype: 'float32' };
}

/** numpy's np.round: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The IEEE 754 half-precision bits nearest to v (ties to even), as numpy's astype(np.float16). */
export function float16Bits(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  // Unbiased exponent, re-biased for half precision (bias 15).
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // Subnormal half (or zero): the mantissa with its hidden bit, shifted right, rounded to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** One float32 weight's values quantised as the converter does (see the header). */
export function quantizeValues(values: Float32Array, dtype: QuantizeDtype): Quantized {
  if (dtype === 'float16') {
    const out = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i]);
    return { bytes: new Uint8Array(out.buffer), quantization: { dtype, original_dtype: 'float32' } };
  }
  const qmax = dtype === 'uint8' ? 255 : 65535;
  const out = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values.length === 0) {
    min = 0;
    max = 0;
  }
  if (min === max) return { bytes: new Uint8Array(out.buffer), quantization: { dtype, min, scale: 1, original_dtype: 'float32' } };
  const scale = (max - min) / qmax;
  if (min <= 0 && 0 <= max) {
    const zero = roundHalfEven((0 - min) / scale);
    min = -zero * scale;
    max = qmax * scale + min;
  }
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(max, Math.max(min, values[i]));
    out[i] = roundHalfEven((v - min) / scale);
  }
  return { bytes: new Uint8Array(out.buffer), quantization: { dtype, min, scale, original_dtype: 'float32' } };
}

export interface ModelWeights {
  /** model.json as read. */
  json: { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; [k: string]: unknown };
  /** Every weight, decoded to its values (float32 or int32), in manifest order. */
  weights: { spec: tf.io.WeightsManifestEntry; values: Float32Array | Int32Array }[];
}

/** A model folder's model.json and its weights decoded by tfjs itself (so already-quantised models read right). */
export function readModelWeights(dir: string): ModelWeights {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelWeights['json'];
  const weights: ModelWeights['weights'] = [];
  for (const group of json.weightsManifest ?? []) {
    const bytes = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const decoded = tf.io.decodeWeights(buffer, group.weights);
    for (const spec of group.weights) {
      const t = decoded[spec.name];
      weights.push({ spec, values: t.dataSync() as Float32Array | Int32Array });
      t.dispose();
    }
  }
  return { json, weights };
}

/**
 * Writes `weights` (values and, per weight, how they are stored) as `dst`: model.json with one weights group cut
 * into the converter's 4 MB shards, and every other file of `src` except its shards copied.
 */
export function writeModelWeights(src: string, dst: string, json: ModelWeights['json'], weights: { spec: tf.io.WeightsManifestEntry; bytes: Uint8Array }[]): void {
  fs.mkdirSync(dst, { recursive: true });
  const shardsOfSrc = new Set(json.weightsManifest.flatMap((g) => g.paths));
  for (const f of fs.readdirSync(src)) {
    if (f === 'model.json' || shardsOfSrc.has(f)) continue;
    const from = path.join(src, f);
    if (fs.statSync(from).isFile()) fs.copyFileSync(from, path.join(dst, f));
  }
  const all = Buffer.concat(weights.map((w) => Buffer.from(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength)));
  const n = Math.max(1, Math.ceil(all.length / SHARD_BYTES));
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `group1-shard${i + 1}of${n}.bin`;
    fs.writeFileSync(path.join(dst, name), all.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES));
    paths.push(name);
  }
  const out = { ...json, weightsManifest: [{ paths, weights: weights.map((w) => w.spec) }] };
  fs.writeFileSync(path.join(dst, 'model.json'), JSON.stringify(out));
}

/** Raw little-endian bytes of a weight stored unquantised. */
function plainBytes(values: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** A copy of the model folder `src` at `dst` with every float32 weight quantised to `dtype`. */
export function writeQuantizedCopy(src: string, dst: string, dtype: QuantizeDtype): void {
  const { json, weights } = readModelWeights(src);
  writeModelWeights(
    src,
    dst,
    json,
    weights.map(({ spec, values }) => {
      const { quantization: _old, ...plain } = spec;
      if (spec.dtype !== 'float32') return { spec: plain, bytes: plainBytes(values) };
      const q = quantizeValues(values as Float32Array, dtype);
      return { spec: { ...plain, dtype: 'float32', quantization: q.quantization as tf.io.WeightsManifestEntry['quantization'] }, bytes: q.bytes };
    }),
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--dtype');
  const dtype = (at >= 0 ? args.splice(at, 2)[1] : 'uint8') as QuantizeDtype;
  if (args.length !== 2 || !QUANTIZE_DTYPES.includes(dtype)) {
    console.error('usage: node dist/scripts/quantize-model.js <model folder> <output folder> [--dtype uint8|uint16|float16]');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  writeQuantizedCopy(args[0], args[1], dtype);
  console.log(`wrote ${args[1]}: ${args[0]} with its float32 weights quantised to ${dtype}`);
}

if (require.main === module) void main();
