// Producing the model's input pixels from a decoded image, following a Placement exactly: ./fit.ts does the
// arithmetic (shared with the browser build); this file adds libvips' Lanczos and re-exports it for Node.
import sharp from 'sharp';
import type { DecodedImage } from './decode';
import type { Placement } from './geometry';
import { fitToInput, type ResizeOptions } from './fit';

export { areaBytes, INTERPOLATIONS, luminance, tfBilinearBytes, tfNearestBytes } from './fit';
export { pilBicubicBytes, pilNearestBytes } from './pil-resample';
export type { Interpolation, ResizeOptions } from './fit';

export type { ResizeMode } from './geometry';

/** dstWidth * dstHeight * (grayscale ? 1 : 3) bytes, row-major. */
export function resizeForModel(img: DecodedImage, p: Placement, opts: ResizeOptions): Promise<Uint8Array> {
  return fitToInput(img, p, opts, lanczos3);
}

async function lanczos3(rgb: Uint8Array, w: number, h: number, outW: number, outH: number): Promise<Uint8Array> {
  const { data, info } = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .resize(outW, outH, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== outW || info.height !== outH) {
    throw new Error(`unexpected resize result ${info.width}x${info.height}x${info.channels}`);
  }
  return data;
}
