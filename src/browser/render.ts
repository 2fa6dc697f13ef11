/**
 * A map over its image on a canvas: the same resampling, colour map and blend as the CLI's overlays
 * (src/render/pixels.ts, src/render/colormap.ts), so a PNG saved from the canvas matches `explain`'s.
 */
import type { RgbImage } from '../image/fit';
import { Placement, placement as stretchPlacement } from '../image/geometry';
import { colormapLut, ColormapName } from '../render/colormap';
import { overlayMap } from '../render/pixels';

export interface OverlayOptions {
  colormap?: ColormapName;
  /** Weight of the heatmap, 0..1 (default 0.5). */
  alpha?: number;
  /**
   * Where the image lies in the model input the map is at (from imageToInput). Without it the map must be at
   * the image's own size, or is stretched over it when `inputSize` ([height, width]) is given.
   */
  placement?: Placement;
  inputSize?: [number, number];
  /** Canvas to draw on (resized to the image); default: a new one. */
  canvas?: HTMLCanvasElement | OffscreenCanvas;
}

/** RGBA pixels of the overlay (or of the heatmap alone, with alpha 1). */
export function overlayPixels(image: RgbImage, map: Float32Array, opts: OverlayOptions = {}): Uint8ClampedArray<ArrayBuffer> {
  const alpha = opts.alpha ?? 0.5;
  let place = opts.placement;
  if (!place) {
    const [h, w] = opts.inputSize ?? [image.height, image.width];
    if (map.length !== w * h) throw new RangeError(`map has ${map.length} values; give the placement or inputSize it was computed at`);
    place = stretchPlacement(image.width, image.height, w, h, 'stretch');
  }
  const rgb = overlayMap(image, map, place.dstWidth, place.dstHeight, place, colormapLut(opts.colormap ?? 'jet'), alpha).overlay;
  return opaqueRgba(rgb);
}

/** RGB bytes as opaque RGBA, as a canvas's ImageData takes them. */
export function opaqueRgba(rgb: Uint8Array): Uint8ClampedArray<ArrayBuffer> {
  const rgba = new Uint8ClampedArray((rgb.length / 3) * 4);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgba[i] = rgb[j];
    rgba[i + 1] = rgb[j + 1];
    rgba[i + 2] = rgb[j + 2];
    rgba[i + 3] = 255;
  }
  return rgba;
}

/** Draws the overlay onto a canvas of the image's size and returns the canvas. */
export function renderOverlay(image: RgbImage, map: Float32Array, opts: OverlayOptions = {}): HTMLCanvasElement | OffscreenCanvas {
  const canvas = opts.canvas ?? (typeof document !== 'undefined' ? document.createElement('canvas') : new OffscreenCanvas(image.width, image.height));
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
  ctx.putImageData(new ImageData(overlayPixels(image, map, opts), image.width, image.height), 0, 0);
  return canvas;
}
