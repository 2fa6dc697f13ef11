// Bad and awkward inputs for the fault tests: images, model folders and graph models, all made on the fly.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { deflateSync } from 'zlib';
import * as tf from '@tensorflow/tfjs';
import { saveLayersModel } from '../../src/model/save';
import { handPng, noiseRaw, rgbRaw } from '../image/fixtures';

export { handPng, noiseRaw, rgbRaw };

/** An RGB PNG w x h with a bright square at (sx, sy) on a dark background (so maps have something to find). */
export async function spotPng(w: number, h: number, sx = w / 3, sy = h / 3): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i += 3) {
      const spot = Math.abs(x - sx) < w / 6 && Math.abs(y - sy) < h / 6;
      raw[i] = spot ? 230 : 30;
      raw[i + 1] = spot ? 200 - (x % 100) : 30 + (x % 7);
      raw[i + 2] = spot ? 40 + (y % 100) : 30;
    }
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
}

import { pngChunk } from '../image/fixtures';

/**
 * A real, valid 1-bit greyscale PNG of w x h, all black: 20000 x 20000 is 50 MB of rows before deflate but
 * about 50 kB on disk, so a huge image costs nothing to make (the decoder must refuse it by its pixel count).
 */
export function hugeBilevelPng(w: number, h: number): Buffer {
  const stride = Math.ceil(w / 8) + 1;
  const rows = Buffer.alloc(stride * h); // filter byte 0 + zero bits on every row
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows, { level: 9 })), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A valid PNG with one byte of the IDAT chunk's CRC flipped. */
export async function badCrcPng(): Promise<Buffer> {
  const png = Buffer.from(await spotPng(24, 20));
  // Chunks after the 8-byte signature: length(4) type(4) data crc(4).
  let at = 8;
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') {
      png[at + 8 + len] ^= 0xff; // first CRC byte
      return png;
    }
    at += 12 + len;
  }
  throw new Error('no IDAT');
}

/** Every file under dir (relative path -> sha256), to show that a run changed nothing there. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out[path.relative(dir, full)] = createHash('sha256').update(fs.readFileSync(full)).digest('hex') + ':' + fs.statSync(full).mtimeMs;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** All files under dir, relative, sorted (hidden ones included). */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/** input 16x16x3 -> conv 'c1' -> conv 'feat' -> GAP -> dense 'fc': the plain CAM-able model. */
export function smallCnn(size = 16, classes = 4): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [size, size, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(21), name: 'conv_a' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(22), name: 'conv_b' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: classes, kernelInitializer: init(23), name: 'fc' }),
    ],
  });
}

/** A plain tabular model: input [10] -> dense. Not an image model. */
export function denseOnly(): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ inputShape: [10], units: 3, kernelInitializer: init(31), name: 'fc' })] });
}

/** An image-shaped input flattened straight into a dense layer: no layer with a spatial output. */
export function noSpatial(size = 8): tf.LayersModel {
  return tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [size, size, 3], name: 'flat' }), tf.layers.dense({ units: 3, kernelInitializer: init(32), name: 'fc' })],
  });
}

export async function saveModel(model: tf.LayersModel, dir: string, sidecar?: object): Promise<string> {
  await saveLayersModel(model, dir);
  if (sidecar) fs.writeFileSync(path.join(dir, 'tfjs-cam.json'), JSON.stringify(sidecar));
  return dir;
}

/** Copies a saved model folder and lets `edit` change model.json and weights.bin. */
export function variant(from: string, to: string, edit: (json: Record<string, any>, weights: Buffer) => { json?: Record<string, any>; weights?: Buffer | null } | void): string {
  fs.mkdirSync(to, { recursive: true });
  const json = JSON.parse(fs.readFileSync(path.join(from, 'model.json'), 'utf8'));
  const weights = fs.readFileSync(path.join(from, 'weights.bin'));
  const r = edit(json, weights) ?? {};
  fs.writeFileSync(path.join(to, 'model.json'), JSON.stringify(r.json ?? json));
  if (r.weights !== null) fs.writeFileSync(path.join(to, 'weights.bin'), r.weights ?? weights);
  return to;
}

/** Byte offset and length of a named weight in a saved model's weights.bin. */
export function weightRange(json: Record<string, any>, name: string): { offset: number; count: number } {
  let offset = 0;
  for (const w of json.weightsManifest[0].weights as { name: string; shape: number[] }[]) {
    const count = w.shape.reduce((a, b) => a * b, 1);
    if (w.name === name) return { offset, count };
    offset += count * 4;
  }
  throw new Error(`no weight ${name}`);
}

// ---- A GraphModel (tfjs-converter format) written by hand ----

const b64 = (s: string) => Buffer.from(s).toString('base64');
const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
const floatConst = (name: string, shape: number[]) => ({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(shape) } }, dtype: { type: 'DT_FLOAT' } } });
const intConst = (name: string, shape: number[]) => ({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(shape) } }, dtype: { type: 'DT_INT32' } } });

/**
 * x [batch,8,8,3] (batch -1: any) -> Conv2D 'conv' (3x3, 4 channels) -> Relu 'target' -> <op> -> Mean over h,w -> MatMul 'logits' [1,3].
 * `op` 'DepthToSpace' (block 2: [1,16,16,1]) has no gradient in TensorFlow.js 4.22; 'Identity' has one.
 */
export function writeGraphModel(dir: string, op: 'DepthToSpace' | 'Identity', batch = -1): string {
  fs.mkdirSync(dir, { recursive: true });
  const channelsAfter = op === 'DepthToSpace' ? 1 : 4;
  const nodes = [
    { name: 'x', op: 'Placeholder', attr: { shape: { shape: dims([batch, 8, 8, 3]) }, dtype: { type: 'DT_FLOAT' } } },
    floatConst('conv/filter', [3, 3, 3, 4]),
    floatConst('fc/w', [channelsAfter, 3]),
    intConst('mean/axes', [2]),
    { name: 'conv', op: 'Conv2D', input: ['x', 'conv/filter'], attr: { T: { type: 'DT_FLOAT' }, strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, dilations: { list: { i: ['1', '1', '1', '1'] } } } },
    { name: 'target', op: 'Relu', input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
    op === 'DepthToSpace'
      ? { name: 'shuffle', op: 'DepthToSpace', input: ['target'], attr: { T: { type: 'DT_FLOAT' }, block_size: { i: '2' }, data_format: { s: b64('NHWC') } } }
      : { name: 'shuffle', op: 'Identity', input: ['target'], attr: { T: { type: 'DT_FLOAT' } } },
    { name: 'mean', op: 'Mean', input: ['shuffle', 'mean/axes'], attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
    { name: 'logits', op: 'MatMul', input: ['mean', 'fc/w'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
  ];
  const filter = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.sin(i * 1.7) * 0.5);
  const fc = Float32Array.from({ length: channelsAfter * 3 }, (_, i) => Math.cos(i * 0.9));
  const axes = Int32Array.from([1, 2]);
  const json = {
    format: 'graph-model',
    generatedBy: 'tfjs-cam tests',
    convertedBy: 'hand',
    modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
    signature: {
      inputs: { x: { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: dims([batch, 8, 8, 3]) } },
      outputs: { logits: { name: 'logits:0', dtype: 'DT_FLOAT', tensorShape: dims([batch, 3]) } },
    },
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'conv/filter', shape: [3, 3, 3, 4], dtype: 'float32' },
          { name: 'fc/w', shape: [channelsAfter, 3], dtype: 'float32' },
          { name: 'mean/axes', shape: [2], dtype: 'int32' },
        ],
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([Buffer.from(filter.buffer), Buffer.from(fc.buffer), Buffer.from(axes.buffer)]));
  return dir;
}

/** Deterministic pseudo-random numbers (mulberry32). */
export { mulberry32 as rng } from '../../src/util/random';

export { noiseRaw as noise };
