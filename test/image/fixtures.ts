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

/**
 * A HEIC file as a phone writes it, in structure: an ISO-BMFF `ftyp` of brand heic, a `meta` box whose primary
 * item is an `hvc1` (HEVC) picture with its `hvcC` decoder configuration and `ispe` size, and an `mdat` holding a
 * length-prefixed NAL unit. The picture data is not real HEVC (no encoder here): what matters is that the file is
 * recognisably HEIC, which sharp's libvips (AV1 only) cannot decode.
 */
export function heicFile(width: number, height: number): Buffer {
  const u8 = (v: number) => Buffer.from([v]);
  const u16 = (v: number) => Buffer.from([v >> 8, v & 255]);
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  };
  const box = (type: string, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
  };
  const full = (type: string, version: number, flags: number, ...parts: Buffer[]) => box(type, u8(version), u8(flags >> 16), u16(flags & 0xffff), ...parts);
  const nal = Buffer.concat([u32(6), Buffer.from([0x26, 0x01, 0xaf, 0x12, 0x34, 0x56])]); // an IDR slice, length-prefixed
  const hvcC = box('hvcC', u8(1), u8(0x01), u32(0x60000000), Buffer.alloc(6), u8(90), u16(0xf000), u8(0xfc), u8(0xfd), u8(0xf8), u8(0xf8), u16(0), u8(0x0f), u8(0));
  const meta = (dataOffset: number) =>
    full(
      'meta', 0, 0,
      full('hdlr', 0, 0, u32(0), Buffer.from('pict', 'latin1'), Buffer.alloc(12), u8(0)),
      full('pitm', 0, 0, u16(1)),
      full('iloc', 0, 0, u8(0x44), u8(0x00), u16(1), u16(1), u16(0), u16(1), u32(dataOffset), u32(nal.length)),
      full('iinf', 0, 0, u16(1), full('infe', 2, 0, u16(1), u16(0), Buffer.from('hvc1', 'latin1'), u8(0))),
      box('iprp', box('ipco', hvcC, full('ispe', 0, 0, u32(width), u32(height))), full('ipma', 0, 0, u32(1), u16(1), u8(2), u8(0x81), u8(0x02))),
    );
  const ftyp = box('ftyp', Buffer.from('heic', 'latin1'), u32(0), Buffer.from('mif1heic', 'latin1'));
  const head = Buffer.concat([ftyp, meta(0)]);
  return Buffer.concat([ftyp, meta(head.length + 8), box('mdat', nal)]);
}
