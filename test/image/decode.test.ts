import { existsSync, mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { decodeImage, heifBrand, ImageError, IMAGE_EXTENSIONS } from '../../src/image/decode';
import { handPng, heicFile, noiseRaw, px, rawToPng, rgbRaw, SHARED_IMAGES, tempDir } from './fixtures';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

async function expectImageError(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
  expect((err as Error).message).not.toContain('\n');
}

test('IMAGE_EXTENSIONS lists the formats sharp reads here', () => {
  expect(IMAGE_EXTENSIONS).toEqual(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);
});

test('plain RGB PNG decodes to the same pixels, from a file and from a Buffer', async () => {
  const raw = rgbRaw(5, 3, (x, y) => [x * 50, y * 100, 7]);
  const png = await rawToPng(raw, 5, 3);
  const file = path.join(tmp.dir, 'plain.png');
  writeFileSync(file, png);
  for (const input of [file, png]) {
    const img = await decodeImage(input);
    expect([img.width, img.height]).toEqual([5, 3]);
    expect(img.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(img.data).equals(raw)).toBe(true);
    expect(img.info).toEqual({ format: 'png', pages: 1, hadAlpha: false, bitDepth: '8', space: 'srgb' });
  }
});

test('RGBA is flattened onto white by default and onto a given background', async () => {
  // opaque red, half-transparent red, fully transparent blue
  const rgba = Buffer.from([255, 0, 0, 255, 255, 0, 0, 128, 0, 0, 255, 0]);
  const png = await rawToPng(rgba, 3, 1, 4);
  const white = await decodeImage(png);
  expect(white.info.hadAlpha).toBe(true);
  // (c * a + bg * (255 - a)) / 255: (0 * 128 + 255 * 127) / 255 = 127
  expect(Array.from(white.data)).toEqual([255, 0, 0, 255, 127, 127, 255, 255, 255]);
  const dark = await decodeImage(png, { background: { r: 10, g: 20, b: 30 } });
  // red: (255 * 128 + 10 * 127) / 255 = 133.0; green: 20 * 127 / 255 = 9.96; blue: 30 * 127 / 255 = 14.9
  expect(Array.from(dark.data)).toEqual([255, 0, 0, 133, 10, 15, 10, 20, 30]);
});

test('grey + alpha keeps the background colour (not a grey version of it)', async () => {
  const png = handPng({ width: 2, height: 1, bitDepth: 8, colorType: 4, samples: [0, 0, 200, 255] });
  const img = await decodeImage(png, { background: { r: 10, g: 20, b: 30 } });
  expect(Array.from(img.data)).toEqual([10, 20, 30, 200, 200, 200]);
  expect(img.info.hadAlpha).toBe(true);
  expect(img.info.space).toBe('b-w');
});

test('greyscale PNG comes back as 3 equal channels', async () => {
  const grey = await sharp(rgbRaw(4, 2, (x) => [x * 60, x * 60, x * 60]), { raw: { width: 4, height: 2, channels: 3 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  expect((await sharp(grey).metadata()).channels).toBe(1);
  const img = await decodeImage(grey);
  expect(img.data.length).toBe(4 * 2 * 3);
  expect(px(img.data, 4, 3, 1)).toEqual([180, 180, 180]);
  expect(px(img.data, 4, 1, 0)).toEqual([60, 60, 60]);
  expect(img.info.space).toBe('b-w');
});

test('16-bit PNG is reduced to 8 bits (high byte) and reported as 16-bit', async () => {
  const png = handPng({ width: 3, height: 1, bitDepth: 16, colorType: 2, samples: [0x1234, 0xff00, 0x80ff, 0x0080, 0xffff, 0x7f80, 0, 0x0100, 0x01ff] });
  const img = await decodeImage(png);
  expect(Array.from(img.data)).toEqual([0x12, 0xff, 0x80, 0x00, 0xff, 0x7f, 0x00, 0x01, 0x01]);
  expect(img.info.bitDepth).toBe('16');
  expect(img.info.space).toBe('rgb16');
});

test('16-bit RGBA flattens like 8-bit', async () => {
  const png = handPng({ width: 2, height: 1, bitDepth: 16, colorType: 6, samples: [0xffff, 0, 0, 0x8000, 0, 0, 0xffff, 0] });
  const img = await decodeImage(png);
  expect(Array.from(img.data)).toEqual([255, 127, 127, 255, 255, 255]);
});

test('CMYK JPEG is converted to sRGB', async () => {
  const rgb = rgbRaw(8, 8, () => [120, 140, 160]);
  const cmyk = await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
  expect((await sharp(cmyk).metadata()).channels).toBe(4);
  const img = await decodeImage(cmyk);
  expect(img.info.space).toBe('cmyk');
  expect(img.data.length).toBe(8 * 8 * 3);
  // Through sharp's CMYK ICC profile and back: close, not exact.
  px(img.data, 8, 4, 4).forEach((v, i) => expect(Math.abs(v - [120, 140, 160][i])).toBeLessThanOrEqual(5));
});

test('an embedded Display P3 profile is applied (stored values differ, decoded values are the sRGB ones)', async () => {
  const srgb = Buffer.from([200, 30, 60, 40, 180, 90]);
  const p3 = await sharp(srgb, { raw: { width: 2, height: 1, channels: 3 } }).withIccProfile('p3').png().toBuffer();
  const stored = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
  expect(Math.abs(stored[0] - 200)).toBeGreaterThan(8); // the file really holds P3 values
  const img = await decodeImage(p3);
  Array.from(img.data).forEach((v, i) => expect(Math.abs(v - srgb[i])).toBeLessThanOrEqual(4));
});

test('EXIF orientation 6 JPEG is turned as a viewer shows it', async () => {
  // Stored 4 wide x 2 high: left half red, right half blue. Orientation 6 = rotate 90 degrees clockwise to view,
  // so the viewed image is 2 wide x 4 high with red on top.
  const raw = rgbRaw(4, 2, (x) => (x < 2 ? [255, 0, 0] : [0, 0, 255]));
  const jpg = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  const img = await decodeImage(jpg);
  expect([img.width, img.height]).toEqual([2, 4]);
  expect(img.info.orientation).toBe(6);
  for (const [x, y, red] of [[0, 0, true], [1, 1, true], [0, 2, false], [1, 3, false]] as const) {
    const [r, , b] = px(img.data, 2, x, y);
    expect(red ? r > 200 && b < 60 : b > 200 && r < 60).toBe(true);
  }
});

test('animated GIF and WebP: first frame only, page count reported', async () => {
  const frames = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const raw = Buffer.concat(frames.map((c) => Buffer.from(Array.from({ length: 4 * 3 }, () => [...c, 255]).flat())));
  const opts = { raw: { width: 4, height: 9, channels: 4 as const, pageHeight: 3 } };
  const gif = await sharp(raw, opts).gif({ loop: 0, delay: [100, 100, 100] }).toBuffer();
  const webp = await sharp(raw, opts).webp({ loop: 0, delay: [100, 100, 100], lossless: true }).toBuffer();
  for (const [buf, format] of [[gif, 'gif'], [webp, 'webp']] as const) {
    const img = await decodeImage(buf);
    expect([img.width, img.height]).toEqual([4, 3]);
    expect(img.info.pages).toBe(3);
    expect(img.info.format).toBe(format);
    for (let y = 0; y < 3; y++) expect(px(img.data, 4, 3, y)).toEqual([255, 0, 0]);
  }
});

test('a truncated JPEG, PNG or GIF is "truncated or corrupt image data"', async () => {
  const raw = noiseRaw(128, 96);
  const input = sharp(raw, { raw: { width: 128, height: 96, channels: 3 } });
  const jpg = await input.clone().jpeg({ quality: 90 }).toBuffer();
  const png = await input.clone().png().toBuffer();
  const gif = await input.clone().gif().toBuffer();
  const tif = await input.clone().tiff().toBuffer();
  for (const [name, buf] of [['cut.jpg', jpg], ['cut.png', png], ['cut.gif', gif], ['cut.tif', tif]] as const) {
    const file = path.join(tmp.dir, name);
    writeFileSync(file, buf.subarray(0, Math.floor(buf.length * 0.6)));
    await expectImageError(decodeImage(file), 'truncated or corrupt image data');
  }
  // Cut inside the JPEG headers (sharp: "Input buffer has corrupt header ...", several lines).
  await expectImageError(decodeImage(jpg.subarray(0, 100)), 'truncated or corrupt image data');
});

test('a JPEG with a harmless libjpeg warning (extraneous bytes before a marker) still decodes', async () => {
  const jpg = await sharp(noiseRaw(64, 48), { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toBuffer();
  const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
  const odd = Buffer.concat([jpg.subarray(0, sos), Buffer.from([0x12, 0x34, 0x56]), jpg.subarray(sos)]);
  await expect(sharp(odd, { failOn: 'warning' }).raw().toBuffer()).rejects.toThrow(/extraneous bytes/); // sharp's default
  const img = await decodeImage(odd);
  expect([img.width, img.height]).toEqual([64, 48]);
});

test('a text file named .png is "not an image or unsupported format"', async () => {
  const file = path.join(tmp.dir, 'text.png');
  writeFileSync(file, 'hello, I am not a picture\n');
  await expectImageError(decodeImage(file), 'not an image or unsupported format');
  await expectImageError(decodeImage(Buffer.from('<html></html>')), 'not an image or unsupported format');
  // sharp would rasterise an SVG; it is not one of the accepted formats.
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  await expectImageError(decodeImage(svg), 'unsupported format (svg); tfjs-cam reads JPEG, PNG, WebP, GIF, TIFF and AVIF');
});

test('a HEIC photo (HEVC pictures, which libvips here cannot decode) is an unsupported format, not a damaged file', async () => {
  const heic = heicFile(64, 48);
  // sharp sees what it is, and that it cannot decode it
  expect(await sharp(heic).metadata()).toMatchObject({ format: 'heif', compression: 'hevc', width: 64, height: 48 });
  await expect(sharp(heic).raw().toBuffer()).rejects.toThrow(/HEVC/);
  const file = path.join(tmp.dir, 'IMG_0001.HEIC');
  writeFileSync(file, heic);
  for (const input of [file, heic]) await expectImageError(decodeImage(input), 'unsupported format (heic); tfjs-cam reads JPEG, PNG, WebP, GIF, TIFF and AVIF');
  // the brand decides, not the name: an AVIF is still read, a damaged one is still damaged
  const avif = await sharp({ create: { width: 16, height: 8, channels: 3, background: { r: 9, g: 9, b: 9 } } }).avif().toBuffer();
  expect(heifBrand(avif)).toBe('avif');
  expect(heifBrand(heic)).toBe('heic');
  await expectImageError(decodeImage(avif.subarray(0, avif.length - 40)), 'truncated or corrupt image data');
});

test('AVIF and TIFF decode', async () => {
  const raw = rgbRaw(16, 8, (x) => (x < 8 ? [200, 40, 40] : [40, 40, 200]));
  const input = sharp(raw, { raw: { width: 16, height: 8, channels: 3 } });
  for (const [buf, format] of [[await input.clone().avif({ lossless: true }).toBuffer(), 'avif'], [await input.clone().tiff().toBuffer(), 'tiff']] as const) {
    const img = await decodeImage(buf);
    expect([img.info.format, img.width, img.height]).toEqual([format, 16, 8]);
    px(img.data, 16, 2, 4).forEach((v, i) => expect(Math.abs(v - [200, 40, 40][i])).toBeLessThanOrEqual(3));
  }
});

test('empty file, missing file, folder', async () => {
  const empty = path.join(tmp.dir, 'empty.jpg');
  writeFileSync(empty, '');
  await expectImageError(decodeImage(empty), 'empty file');
  await expectImageError(decodeImage(Buffer.alloc(0)), 'empty file');
  await expectImageError(decodeImage(path.join(tmp.dir, 'nope.jpg')), 'file not found');
  const dir = path.join(tmp.dir, 'folder.png');
  mkdirSync(dir);
  await expectImageError(decodeImage(dir), /folder/);
});

test('pixel limit: checked from the header before decoding, with the numbers in the message', async () => {
  const png = await rawToPng(rgbRaw(200, 100, () => [1, 2, 3]), 200, 100);
  await expectImageError(decodeImage(png, { maxPixels: 19999 }), 'image is 200x100 = 20000 pixels, over the limit of 19999');
  expect((await decodeImage(png, { maxPixels: 20000 })).width).toBe(200);
  // A 20000x20000 header with no real pixel data: rejected on the header alone, at the default limit.
  const bomb = handPng({ width: 20000, height: 20000, bitDepth: 8, colorType: 2, idat: Buffer.from([1, 2, 3]) });
  await expectImageError(decodeImage(bomb), 'image is 20000x20000 = 400000000 pixels, over the limit of 100000000');
  // With the limit off, the missing data is what fails.
  await expectImageError(decodeImage(bomb, { maxPixels: 0 }), 'truncated or corrupt image data');
});

test('real photos from shared/ decode (skipped when absent)', async () => {
  if (!existsSync(SHARED_IMAGES)) {
    console.log(`skipped: ${SHARED_IMAGES} not present`);
    return;
  }
  const expected: Record<string, [number, number]> = {
    'both.png': [224, 224],
    'coffee.png': [600, 400],
    'darknet_giraffe.jpg': [500, 500],
    'horses_fence.jpg': [425, 280],
  };
  for (const [name, [w, h]] of Object.entries(expected)) {
    const file = path.join(SHARED_IMAGES, name);
    if (!existsSync(file)) continue;
    const img = await decodeImage(file);
    expect([name, img.width, img.height]).toEqual([name, w, h]);
    expect(img.data.length).toBe(w * h * 3);
  }
});
