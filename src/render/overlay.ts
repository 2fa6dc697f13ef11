// Turning a class activation map into pictures: resampling, normalisation, colouring, compositing, PNG.
import sharp from 'sharp';
import type { DecodedImage } from '../image/decode';
import type { Placement } from '../image/geometry';
import { colormapLut, divergingLut, type ColormapName, type DivergingName } from './colormap';
import { overlayMap } from './pixels';
import { legendStrip, signedLegend, type Legend } from './legend';
import { DEFAULT_OUTLIER_PERCENT, signedUnitMap } from './signed';

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
  /** A colour-scale strip under each picture (--legend); none by default, so the pictures stay as they were. */
  legend?: Legend;
}

/** Longest side of overlays, heatmaps and sheets unless asked otherwise (--max-size; 0 = the image's own size). */
export const DEFAULT_MAX_SIZE = 2048;

/**
 * Raw RGB pixels in the chosen format. Deterministic: same pixels, same bytes (no timestamps, no metadata). With a
 * legend, its strip is added under the picture (withLegend).
 */
export async function encodeImage(rgb: Uint8Array, width: number, height: number, format: ImageFormat = 'png', quality = 90, legend?: Legend): Promise<Buffer> {
  if (legend) {
    const all = await withLegend(rgb, width, height, legend);
    return encodeImage(all.rgb, width, all.height, format, quality);
  }
  if (format === 'png') return encodePng(rgb, width, height);
  if (rgb.length !== width * height * 3) throw new RangeError(`pixel buffer has ${rgb.length} bytes, expected ${width}x${height}x3`);
  const pipeline = sharp(rgb, { raw: { width, height, channels: 3 } });
  return format === 'jpeg' ? pipeline.jpeg({ quality, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer() : pipeline.webp({ quality, effort: 4 }).toBuffer();
}

/**
 * The picture with a legend strip (render/legend.ts) under it, as raw RGB: the strip's bar pixels are exact; its
 * text is rendered by librsvg and blended in here (so the rest of the strip stays exactly as legendStrip made it).
 */
export async function withLegend(rgb: Uint8Array, width: number, height: number, legend: Legend): Promise<{ rgb: Uint8Array; height: number }> {
  if (rgb.length !== width * height * 3) throw new RangeError(`pixel buffer has ${rgb.length} bytes, expected ${width}x${height}x3`);
  const strip = legendStrip(legend, width);
  const text = await sharp(Buffer.from(strip.textSvg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (text.info.width !== strip.width || text.info.height !== strip.height || text.info.channels !== 4) {
    throw new Error(`legend text rendered as ${text.info.width}x${text.info.height}x${text.info.channels}, expected ${strip.width}x${strip.height}x4`);
  }
  const out = new Uint8Array(rgb.length + strip.rgb.length);
  out.set(rgb);
  const s = strip.rgb;
  const t = text.data;
  for (let i = 0, j = 0; i < s.length; i += 3, j += 4) {
    const a = t[j + 3];
    if (a === 0) continue;
    // Text (straight alpha) over the strip, rounded half up.
    for (let c = 0; c < 3; c++) s[i + c] = ((t[j + c] * a + s[i + c] * (255 - a) + 127) / 255) | 0;
  }
  out.set(s, rgb.length);
  return { rgb: out, height: height + strip.height };
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
  return encodePair(composite, heat, img.width, img.height, opts);
}

async function encodePair(composite: Uint8Array, heat: Uint8Array | undefined, width: number, height: number, opts: Omit<RenderOptions, 'colormap'>): Promise<{ overlay: Buffer; heatmap?: Buffer }> {
  const [overlayPng, heatmapPng] = await Promise.all([
    encodeImage(composite, width, height, opts.format, opts.quality, opts.legend),
    heat ? encodeImage(heat, width, height, opts.format, opts.quality, opts.legend) : undefined,
  ]);
  return heatmapPng ? { overlay: overlayPng, heatmap: heatmapPng } : { overlay: overlayPng };
}

export interface SignedRenderOptions extends Omit<RenderOptions, 'colormap' | 'legend'> {
  /** Diverging colour map (default bwr). */
  colormap?: DivergingName;
  /** Share (%) of the total |attribution| that saturates (default 2, as Captum). */
  outlierPercent?: number;
  /** Add a legend strip (with this map's clip value) under each picture. */
  legend?: boolean;
}

/**
 * A signed attribution [inputH * inputW * channels] drawn over the image as renderOverlay draws a map (the same
 * blend, round((1 - alpha) * image + alpha * colour)): summed over channels, clipped and centred (render/signed.ts),
 * on a diverging colour map; pixels the model did not see get the colour of zero. `clip` is the attribution value
 * that the map's ends stand for.
 */
export async function renderSignedOverlay(
  img: DecodedImage,
  signed: Float32Array,
  inputW: number,
  inputH: number,
  channels: number,
  p: Placement,
  opts: SignedRenderOptions,
): Promise<{ overlay: Buffer; heatmap?: Buffer; clip: number }> {
  const colormap = opts.colormap ?? 'bwr';
  const outlierPercent = opts.outlierPercent ?? DEFAULT_OUTLIER_PERCENT;
  const { unit, clip } = signedUnitMap(signed, inputH, inputW, channels, outlierPercent);
  const { overlay: composite, heat } = overlayMap(img, unit, inputW, inputH, p, divergingLut(colormap), opts.alpha, opts.heatmap !== false, 0.5);
  const legend = opts.legend ? signedLegend(colormap, { clip, outlierPercent }) : undefined;
  return { ...(await encodePair(composite, heat, img.width, img.height, { ...opts, legend })), clip };
}
