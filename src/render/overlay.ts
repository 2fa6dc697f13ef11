// Turning a class activation map into pictures: resampling, normalisation, colouring, compositing, PNG.
import sharp from 'sharp';
import type { DecodedImage } from '../image/decode';
import type { Placement } from '../image/geometry';
import { colormapLut, type ColormapName } from './colormap';
import { overlayMap } from './pixels';

// The pixel arithmetic lives in ./pixels (no image library: the browser build uses it too); re-exported for
// the modules and tests that import it from here.
export { mapToImage, normalizeMap, overlay, overlayMap, resizeMap } from './pixels';

/** Raw pixels to PNG. Deterministic: same pixels, same bytes (sharp writes no timestamp or metadata). */
export async function encodePng(rgb: Uint8Array, width: number, height: number, channels: 1 | 3 = 3): Promise<Buffer> {
  if (rgb.length !== width * height * channels) {
    throw new RangeError(`pixel buffer has ${rgb.length} bytes, expected ${width}x${height}x${channels} = ${width * height * channels}`);
  }
  let pipeline = sharp(rgb, { raw: { width, height, channels } });
  // Without this sharp writes 1-channel input as a 3-channel PNG.
  if (channels === 1) pipeline = pipeline.toColourspace('b-w');
  return pipeline.png({ compressionLevel: 6, adaptiveFiltering: false, palette: false }).toBuffer();
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';
export const IMAGE_FORMATS: ImageFormat[] = ['png', 'jpeg', 'webp'];
/** File extension of each output format. */
export const FORMAT_EXT: Record<ImageFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp' };

export interface RenderOptions {
  colormap: ColormapName;
  /** Weight of the heatmap in the overlay, 0..1. */
  alpha: number;
  /** Output format (default png); quality 1..100 for jpeg and webp (default 90). */
  format?: ImageFormat;
  quality?: number;
  /** Also encode the heatmap alone (default true); encoding is most of the cost of rendering. */
  heatmap?: boolean;
}

/** Raw RGB pixels in the chosen format. Deterministic: same pixels, same bytes (no timestamps, no metadata). */
export async function encodeImage(rgb: Uint8Array, width: number, height: number, format: ImageFormat = 'png', quality = 90): Promise<Buffer> {
  if (format === 'png') return encodePng(rgb, width, height);
  if (rgb.length !== width * height * 3) throw new RangeError(`pixel buffer has ${rgb.length} bytes, expected ${width}x${height}x3`);
  const pipeline = sharp(rgb, { raw: { width, height, channels: 3 } });
  return format === 'jpeg' ? pipeline.jpeg({ quality, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer() : pipeline.webp({ quality, effort: 4 }).toBuffer();
}

/**
 * The image scaled down so that its longest side is at most maxSide (never enlarged), and the placement
 * carried over to it: overlays of big photos are drawn at that size, the map sampled at the small image's pixels.
 */
export async function shrinkForOutput(img: DecodedImage, p: Placement, maxSide: number | undefined): Promise<{ img: DecodedImage; place: Placement }> {
  const longest = Math.max(img.width, img.height);
  if (!maxSide || longest <= maxSide) return { img, place: p };
  const f = maxSide / longest;
  const w = Math.max(1, Math.round(img.width * f));
  const h = Math.max(1, Math.round(img.height * f));
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).resize(w, h, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
  const fx = w / img.width;
  const fy = h / img.height;
  return {
    img: { ...img, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: w, height: h },
    place: { ...p, srcWidth: w, srcHeight: h, scaleX: p.scaleX / fx, scaleY: p.scaleY / fy },
  };
}

/**
 * Lays a normalised map computed at the model's input resolution over the original image, at the image's own
 * resolution. Each image pixel's centre is carried through the placement into map coordinates and sampled
 * bilinearly. 'crop': pixels outside the crop get 0. 'pad': only the part of the map over the image is used, its
 * edges clamped like the map's own borders, so the padding never bleeds into the image's edge pixels.
 */
export async function renderOverlay(
  img: DecodedImage,
  mapAtInput: Float32Array,
  inputW: number,
  inputH: number,
  p: Placement,
  opts: RenderOptions,
): Promise<{ overlay: Buffer; heatmap?: Buffer }> {
  const { overlay: composite, heat } = overlayMap(img, mapAtInput, inputW, inputH, p, colormapLut(opts.colormap), opts.alpha, opts.heatmap !== false);
  const [overlayPng, heatmapPng] = await Promise.all([
    encodeImage(composite, img.width, img.height, opts.format, opts.quality),
    heat ? encodeImage(heat, img.width, img.height, opts.format, opts.quality) : undefined,
  ]);
  return heatmapPng ? { overlay: overlayPng, heatmap: heatmapPng } : { overlay: overlayPng };
}
