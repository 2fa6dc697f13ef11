// Decoding any supported image file into plain 8-bit sRGB pixels, the one form the rest of the tool works with.
import { promises as fsp } from 'fs';
import sharp, { type Metadata, type OutputInfo } from 'sharp';

/** One-line, user-facing decode failure; the caller prefixes the file name. */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface DecodedImage {
  /** RGB, 3 bytes per pixel, row-major, as a viewer shows the image (EXIF orientation applied). */
  data: Uint8Array;
  width: number;
  height: number;
  info: {
    format: string;
    /** Frames/pages in the file; only the first is decoded. */
    pages: number;
    hadAlpha: boolean;
    /** EXIF orientation tag (1-8) as found in the file, already applied to data. */
    orientation?: number;
    /** Bits per sample in the file ('8', '16', ...), before conversion to 8 bits. */
    bitDepth?: string;
    /** The file's colour space as libvips names it (srgb, cmyk, b-w, grey16, rgb16, ...). */
    space?: string;
  };
}

export interface DecodeOptions {
  /** Largest width x height accepted (default 100e6); 0 or Infinity disables the check. */
  maxPixels?: number;
  /** Transparent pixels are flattened onto this colour (default white). */
  background?: { r: number; g: number; b: number };
}

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

// sharp's names for the formats of IMAGE_EXTENSIONS (AVIF is read by the HEIF loader).
const RASTER_FORMATS = new Set<string>(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif']);

/** Said with a format that is recognised but not read (SVG, HEIC): what to convert to. */
const FORMATS_READ = 'tfjs-cam reads JPEG, PNG, WebP, GIF, TIFF and AVIF';
const unsupported = (format: string) => new ImageError(`unsupported format (${format}); ${FORMATS_READ}`);

const DEFAULT_MAX_PIXELS = 100e6;
const WHITE = { r: 255, g: 255, b: 255 };

// 'truncated' rather than sharp's default 'warning': truncated files still fail ('none' would fill the missing
// rows with grey), but a harmless libjpeg warning that viewers ignore, such as "Corrupt JPEG data: 3 extraneous
// bytes before marker", does not reject the photo ('warning' does).
const FAIL_ON = 'truncated' as const;

const DEPTH_BITS: Record<string, string> = { uchar: '8', char: '8', ushort: '16', short: '16', uint: '32', int: '32', float: '32', double: '64' };

export async function decodeImage(file: string | Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const limited = Number.isFinite(maxPixels) && maxPixels > 0;
  const background = opts.background ?? WHITE;
  for (const v of [background.r, background.g, background.b]) {
    if (!(v >= 0 && v <= 255)) throw new RangeError(`background colour components must be within 0..255`);
  }
  await checkInput(file);

  // Header first, without sharp's limit, so an over-size image can be reported with its dimensions.
  let meta: Metadata;
  try {
    meta = await sharp(file, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (err) {
    throw await translate(err, file);
  }
  // sharp also reads SVG (and whatever else its libvips build has); only the raster formats above are accepted,
  // so a vector file renamed .png is not rasterised at some arbitrary density.
  if (!RASTER_FORMATS.has(meta.format)) throw unsupported(meta.format);
  const pixels = meta.width * meta.height;
  if (limited && pixels > maxPixels) throw overLimit(meta.width, meta.height, maxPixels);

  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(file, {
      // PNG: 'error', so a chunk whose CRC does not match (damaged data that libpng would otherwise decode into
      // wrong pixels without a word) fails; libpng's harmless complaints (an odd sRGB profile) are warnings.
      failOn: meta.format === 'png' ? 'error' : FAIL_ON,
      // Kept as a second guard: the header could lie about the size.
      limitInputPixels: limited ? Math.floor(maxPixels) : false,
      pages: 1, // first frame of an animated GIF/WebP, first page of a TIFF
      page: 0,
      autoOrient: true, // apply EXIF orientation: the map must line up with the image as people see it
    })
      // Also converts CMYK (through an ICC profile), greyscale and 16-bit input, and applies an embedded
      // profile (e.g. Display P3), so the model sees the sRGB values it was trained on.
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw await translate(err, file, { width: meta.width, height: meta.height, max: maxPixels });
  }
  const { info } = out;
  if (info.channels !== 3 && info.channels !== 4) throw new ImageError(`decoded to ${info.channels} channels (unsupported colour layout)`);
  // Alpha is flattened here, not with sharp's flatten(): that runs in the input's colour space, so a grey+alpha
  // image would get a grey version of the background colour.
  const data = info.channels === 4 ? flatten(out.data, background) : out.data;

  const bits = meta.bitsPerSample !== undefined ? String(meta.bitsPerSample) : DEPTH_BITS[meta.depth];
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    info: {
      // libvips reads AVIF with its HEIF loader; name it as users know it.
      format: meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format,
      pages: meta.pages ?? 1,
      hadAlpha: meta.hasAlpha,
      ...(meta.orientation !== undefined ? { orientation: meta.orientation } : {}),
      ...(bits !== undefined ? { bitDepth: bits } : {}),
      ...(meta.space !== undefined ? { space: meta.space } : {}),
    },
  };
}

/** RGBA -> RGB composited onto the background: (c * a + bg * (255 - a)) / 255, rounded, as sharp's flatten. */
function flatten(rgba: Buffer, bg: { r: number; g: number; b: number }): Uint8Array {
  const n = rgba.length >> 2;
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n * 4; i += 4, j += 3) {
    const a = rgba[i + 3];
    const k = 255 - a;
    // + 127 then integer division by 255 rounds half up, like Math.round, without a global lookup per pixel.
    out[j] = ((rgba[i] * a + bg.r * k + 127) / 255) | 0;
    out[j + 1] = ((rgba[i + 1] * a + bg.g * k + 127) / 255) | 0;
    out[j + 2] = ((rgba[i + 2] * a + bg.b * k + 127) / 255) | 0;
  }
  return out;
}

/** Catches what sharp reports poorly (an empty file reads as "unsupported image format"). */
async function checkInput(file: string | Buffer): Promise<void> {
  if (typeof file !== 'string') {
    if (file.length === 0) throw new ImageError('empty file');
    return;
  }
  let st;
  try {
    st = await fsp.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ImageError('file not found');
    if (code === 'EACCES' || code === 'EPERM') throw new ImageError('permission denied');
    throw new ImageError(`cannot read file (${code ?? String(err)})`);
  }
  if (st.isDirectory()) throw new ImageError('is a folder, not an image file');
  if (!st.isFile()) throw new ImageError('not a regular file');
  if (st.size === 0) throw new ImageError('empty file');
  // stat needs no read permission: open the file so an unreadable one says so (libvips would say "not an image").
  try {
    await (await fsp.open(file, 'r')).close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new ImageError('permission denied');
    throw new ImageError(`cannot read file (${code ?? String(err)})`);
  }
}

function overLimit(w: number, h: number, max: number): ImageError {
  return new ImageError(`image is ${w}x${h} = ${w * h} pixels, over the limit of ${max}`);
}

// Maps libvips/sharp messages (multi-line, decoder-specific) onto the few one-liners users need.
async function translate(
  err: unknown,
  file: string | Buffer,
  size?: { width: number; height: number; max: number },
): Promise<ImageError> {
  const msg = err instanceof Error ? err.message : String(err);
  // A HEIC photo (iPhone) is HEIF with HEVC-coded pictures, which sharp's libvips does not decode (it reads AVIF,
  // HEIF with AV1): libvips then speaks of a bad header or seek, which is not what is wrong with the file.
  const heif = heifBrand(await readHead(file, 64));
  if (heif === 'heic' || heif === 'heif') return unsupported(heif);
  if (/exceeds pixel limit/i.test(msg)) {
    return size ? overLimit(size.width, size.height, size.max) : new ImageError('image is over the pixel limit');
  }
  if (/Input file is missing/i.test(msg)) return new ImageError('file not found');
  if (/Input buffer is empty/i.test(msg)) return new ImageError('empty file');
  if (/unsupported image format/i.test(msg)) {
    // libvips says "unsupported" both for non-images and for files of a known format too damaged to identify
    // (e.g. a TIFF cut short): the magic number tells the two apart.
    return (await hasImageMagic(file))
      ? new ImageError('truncated or corrupt image data')
      : new ImageError('not an image or unsupported format');
  }
  if (/corrupt|premature end|truncat|read error|unexpected end|end of file|bad seek|invalid|bogus|not a |damaged|huffman|marker/i.test(msg)) {
    return new ImageError('truncated or corrupt image data');
  }
  // libpng reports some damage (a bad IHDR CRC) only as "Unknown error": for a file that is an image, that is damage.
  if (/^\s*unknown error\s*$/i.test(msg) && (await hasImageMagic(file))) return new ImageError('truncated or corrupt image data');
  const first = msg.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
  return new ImageError(`cannot decode image: ${first.trim()}`);
}

/** The first `n` bytes of the file (fewer if it is shorter; none if it cannot be read). */
async function readHead(file: string | Buffer, n: number): Promise<Buffer> {
  if (typeof file !== 'string') return file.subarray(0, n);
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const head = Buffer.alloc(n);
      const { bytesRead } = await fh.read(head, 0, n, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return Buffer.alloc(0);
  }
}

const HEVC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);

/**
 * What an ISO-BMFF `ftyp` box says a HEIF-family file is: 'avif' (AV1 pictures), 'heic' (HEVC pictures), 'heif'
 * (HEIF of another or unnamed codec, brand mif1/msf1 alone), or null (not such a file).
 */
export function heifBrand(head: Buffer): 'avif' | 'heic' | 'heif' | null {
  if (head.length < 16 || head.toString('latin1', 4, 8) !== 'ftyp') return null;
  const end = Math.min(head.length, head.readUInt32BE(0));
  const brands = [head.toString('latin1', 8, 12)];
  for (let at = 16; at + 4 <= end; at += 4) brands.push(head.toString('latin1', at, at + 4));
  if (brands.some((b) => b === 'avif' || b === 'avis')) return 'avif';
  if (brands.some((b) => HEVC_BRANDS.has(b))) return 'heic';
  if (brands.some((b) => b === 'mif1' || b === 'msf1')) return 'heif';
  return null;
}

async function hasImageMagic(file: string | Buffer): Promise<boolean> {
  const head = await readHead(file, 16);
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  return (
    (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) || // JPEG
    ascii(0, 8) === '\x89PNG\r\n\x1a\n' ||
    ascii(0, 4) === 'GIF8' ||
    (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') ||
    ascii(0, 4) === 'II*\0' ||
    ascii(0, 4) === 'MM\0*' ||
    ascii(4, 8) === 'ftyp' // AVIF / HEIF
  );
}
