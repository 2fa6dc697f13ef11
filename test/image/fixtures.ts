// Test images made on the fly: with sharp where it can, by hand where sharp can't write the layout wanted.
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { crc32, deflateSync } from 'zlib';

/** An RGB raw image whose pixel (x, y) is f(x, y). */
export function rgbRaw(w: number, h: number, f: (x: number, y: number) => [number, number, number]): Buffer {
  const out = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out.set(f(x, y), (y * w + x) * 3);
  }
  return out;
}

export function rawToPng(raw: Buffer, w: number, h: number, channels: 1 | 2 | 3 | 4 = 3): Promise<Buffer> {
  return sharp(raw, { raw: { width: w, height: h, channels } }).png().toBuffer();
}

/** Deterministic noise: JPEG data that is mostly entropy-coded scan, so a cut lands in the pixel data. */
export function noiseRaw(w: number, h: number, seed = 1): Buffer {
  const out = Buffer.alloc(w * h * 3);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 16) & 255;
  }
  return out;
}

/**
 * A PNG written by hand, for layouts sharp does not produce from raw input (16-bit samples, grey + alpha) and for
 * a header that lies about the size. colorType: 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA. samples: row-major values.
 */
/** One PNG chunk: length, type, data, CRC over type and data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

export function handPng(opts: { width: number; height: number; bitDepth: 8 | 16; colorType: 0 | 2 | 4 | 6; samples?: number[]; idat?: Buffer }): Buffer {
  const { width, height, bitDepth, colorType } = opts;
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  const bps = bitDepth / 8;
  let idat = opts.idat;
  if (!idat) {
    const samples = opts.samples ?? [];
    if (samples.length !== width * height * channels) throw new Error('sample count');
    const stride = width * channels * bps;
    const rawRows = Buffer.alloc(height * (stride + 1));
    for (let y = 0; y < height; y++) {
      rawRows[y * (stride + 1)] = 0; // filter: none
      for (let i = 0; i < width * channels; i++) {
        const v = samples[y * width * channels + i];
        const at = y * (stride + 1) + 1 + i * bps;
        if (bps === 2) rawRows.writeUInt16BE(v, at);
        else rawRows[at] = v;
      }
    }
    idat = deflateSync(rawRows);
  }
  const chunk = pngChunk;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A fresh temp folder, removed by the returned function. */
export function tempDir(prefix = 'tfjs-cam-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Pixel (x, y) of packed RGB data. */
export function px(data: Uint8Array, width: number, x: number, y: number): number[] {
  const i = (y * width + x) * 3;
  return [data[i], data[i + 1], data[i + 2]];
}

export const SHARED_IMAGES = path.resolve(__dirname, '../../../shared/data/images');
