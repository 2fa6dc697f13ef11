/**
 * Images in the browser: decoded by the browser itself (createImageBitmap: an embedded colour profile converted to
 * sRGB, EXIF orientation applied), transparency flattened onto white as the Node decoder does, then fitted to the
 * model input with the same arithmetic as the CLI (src/image/fit.ts) so the model sees the same bytes.
 */
import * as tf from '@tensorflow/tfjs';
import { fitToInput, RgbImage } from '../image/fit';
import { placement, Placement } from '../image/geometry';
import { toInputTensor } from '../model/preprocess';
import type { BrowserModel } from './load';

/** What the browser can decode or already holds as pixels. */
export type ImageInput = Blob | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageData | RgbImage;

function isRgb(x: unknown): x is RgbImage {
  const r = x as RgbImage;
  return r != null && r.data instanceof Uint8Array && !(r.data instanceof Uint8ClampedArray) && r.data.length === r.width * r.height * 3;
}

/** RGBA bytes -> RGB composited onto white: (c * a + 255 * (255 - a)) / 255 rounded, as src/image/decode.ts. */
export function flattenRgba(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n * 4; i += 4, j += 3) {
    const a = rgba[i + 3];
    const k = 255 * (255 - a);
    out[j] = ((rgba[i] * a + k + 127) / 255) | 0;
    out[j + 1] = ((rgba[i + 1] * a + k + 127) / 255) | 0;
    out[j + 2] = ((rgba[i + 2] * a + k + 127) / 255) | 0;
  }
  return { data: out, width, height };
}

/** Decodes (a Blob: a file the user picked or dropped) or reads the pixels of an image. `name` is used in errors. */
export async function readImage(input: ImageInput, name = 'image'): Promise<RgbImage> {
  if (isRgb(input)) return input;
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) return flattenRgba(input.data, input.width, input.height);
  let source: CanvasImageSource | OffscreenCanvas = input as CanvasImageSource;
  let owned: ImageBitmap | null = null;
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    if (input.size === 0) throw new Error(`${name}: empty file`);
    try {
      // An embedded colour profile converted to sRGB, as the CLI's decoder does (src/image/decode.ts): ignoring it
      // ('none') fed rocket.jpg's photo 5.7 levels off on average (up to 55), and moved Teachable Machine's top
      // probability by 0.04. Files without a profile decode to the same bytes either way. No premultiplication.
      owned = await createImageBitmap(input, { colorSpaceConversion: 'default', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
    } catch {
      throw new Error(`${name}: not an image or unsupported format`);
    }
    source = owned;
  }
  try {
    const s = source as { width: number; height: number; naturalWidth?: number; naturalHeight?: number };
    const width = s.naturalWidth || s.width;
    const height = s.naturalHeight || s.height;
    if (!(width > 0 && height > 0)) throw new Error(`${name}: the image has no pixels (not loaded yet?)`);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' }) as OffscreenCanvasRenderingContext2D;
    ctx.drawImage(source as CanvasImageSource, 0, 0);
    return flattenRgba(ctx.getImageData(0, 0, width, height).data, width, height);
  } finally {
    owned?.close();
  }
}

export interface ModelInput {
  /** [1, h, w, c], preprocessed as the model's sidecar (and options) say. Dispose when done. */
  x: tf.Tensor4D;
  /** Where the image lies in the input (for drawing the map back over the image). */
  placement: Placement;
  /** The input's pixels before scaling (h * w * c bytes). */
  pixels: Uint8Array;
}

/** The image as the model's input, with the model's resize mode, interpolation and pixel scaling. */
export async function imageToInput(model: BrowserModel, image: RgbImage): Promise<ModelInput> {
  const [h, w, c] = model.classifier.inputShape;
  const place = placement(image.width, image.height, w, h, model.preprocess.resize);
  const pixels = await fitToInput(image, place, { grayscale: model.grayscale, gray: model.preprocess.gray, interpolation: model.interpolation, alignCorners: model.alignCorners });
  return { x: toInputTensor(pixels, h, w, c, model.preprocess), placement: place, pixels };
}
