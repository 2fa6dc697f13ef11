// How a source image is placed into the model's input: one axis-aligned affine map per image, shared by the
// resize that feeds the model and by the overlay that maps the heatmap back, so the two can never disagree.

export type ResizeMode = 'stretch' | 'crop' | 'pad';

export const RESIZE_MODES: ResizeMode[] = ['stretch', 'crop', 'pad'];

/**
 * dst = src * scale + offset, in continuous pixel coordinates (pixel i covers [i, i+1), its centre is i + 0.5).
 * stretch: offset 0; crop: the centre crop is scaled to fill the input (offset <= 0);
 * pad: the whole image is scaled to fit and letterboxed (offset >= 0).
 */
export interface Placement {
  mode: ResizeMode;
  srcWidth: number;
  srcHeight: number;
  dstWidth: number;
  dstHeight: number;
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

/** An integer pixel rectangle. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function placement(srcW: number, srcH: number, dstW: number, dstH: number, mode: ResizeMode): Placement {
  for (const [name, v] of [['source width', srcW], ['source height', srcH], ['input width', dstW], ['input height', dstH]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  const base = { mode, srcWidth: srcW, srcHeight: srcH, dstWidth: dstW, dstHeight: dstH };
  switch (mode) {
    case 'stretch':
      return { ...base, scaleX: dstW / srcW, scaleY: dstH / srcH, offsetX: 0, offsetY: 0 };
    case 'crop': {
      // The crop box is whole pixels so that sharp can extract exactly it; scales are then derived from the box
      // (x and y may differ by a rounding hair), which keeps this description exact rather than approximate.
      const cropW = Math.min(srcW, Math.max(1, Math.round((srcH * dstW) / dstH)));
      const cropH = Math.min(srcH, Math.max(1, Math.round((srcW * dstH) / dstW)));
      const left = Math.floor((srcW - cropW) / 2);
      const top = Math.floor((srcH - cropH) / 2);
      const scaleX = dstW / cropW;
      const scaleY = dstH / cropH;
      return { ...base, scaleX, scaleY, offsetX: -left * scaleX, offsetY: -top * scaleY };
    }
    case 'pad': {
      // Same rule for the content box: whole pixels, centred (extra pixel of padding right/bottom).
      const s = Math.min(dstW / srcW, dstH / srcH);
      const w = Math.min(dstW, Math.max(1, Math.round(srcW * s)));
      const h = Math.min(dstH, Math.max(1, Math.round(srcH * s)));
      return { ...base, scaleX: w / srcW, scaleY: h / srcH, offsetX: Math.floor((dstW - w) / 2), offsetY: Math.floor((dstH - h) / 2) };
    }
    default:
      throw new RangeError(`unknown resize mode '${String(mode)}' (expected one of ${RESIZE_MODES.join(', ')})`);
  }
}

/** Model-input coordinates -> source-image coordinates (continuous; a pixel centre is at i + 0.5). */
export function toSource(p: Placement, x: number, y: number): { x: number; y: number } {
  return { x: (x - p.offsetX) / p.scaleX, y: (y - p.offsetY) / p.scaleY };
}

/** Source-image coordinates -> model-input coordinates. */
export function toModel(p: Placement, x: number, y: number): { x: number; y: number } {
  return { x: x * p.scaleX + p.offsetX, y: y * p.scaleY + p.offsetY };
}

/** The part of the source image that ends up in the model input (all of it except for 'crop'). */
export function sourceBox(p: Placement): Box {
  const a = toSource(p, 0, 0);
  const b = toSource(p, p.dstWidth, p.dstHeight);
  return clampBox(a.x, a.y, b.x, b.y, p.srcWidth, p.srcHeight);
}

/** The part of the model input covered by the image (all of it except for 'pad'). */
export function contentBox(p: Placement): Box {
  const a = toModel(p, 0, 0);
  const b = toModel(p, p.srcWidth, p.srcHeight);
  return clampBox(a.x, a.y, b.x, b.y, p.dstWidth, p.dstHeight);
}

// Rounding absorbs float noise from the divisions; the boxes are whole pixels by construction.
function clampBox(x0: number, y0: number, x1: number, y1: number, w: number, h: number): Box {
  const left = Math.max(0, Math.round(x0));
  const top = Math.max(0, Math.round(y0));
  const right = Math.min(w, Math.round(x1));
  const bottom = Math.min(h, Math.round(y1));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}
