/**
 * Expected regions for `check`, and measuring a map against them. Regions are given in the original image's
 * pixels; maps are measured where the model made them, at the model's input resolution, so a region is carried
 * into input coordinates through the same Placement that fitted the image to the input (src/image/geometry.ts).
 * For 'crop' the part of a region outside the crop is not seen by the model and drops out; for 'pad' the
 * letterbox bars are outside every region.
 */
import sharp, { type Metadata } from 'sharp';
import { Placement, toModel, toSource } from '../image/geometry';
import { Box, energyInBoxes, iou, pointingGameHit, thresholdBox } from '../metrics/localisation';
import type { RegionSpec, SpecBox } from './spec';

/** A region for one image, in original-image pixels: boxes (their union) or a mask at the image's size. */
export type ImageRegion = { kind: 'boxes'; boxes: Box[] } | { kind: 'mask'; mask: Uint8Array; width: number; height: number };

/** The region in model-input coordinates. */
export interface InputRegion {
  /** Boxes clipped to the input (continuous pixel edges); empty when no part of the region is seen. */
  boxes?: Box[];
  /** 1 = inside, per input pixel (pixel centre sampled in the source mask). */
  mask?: Uint8Array;
  /** Bounding box (pixel edges) of the region in the input; null when the model sees none of it. */
  bbox: Box | null;
}

/** The region a spec gives for one image. `load` reads mask files (stretched over the image when sizes differ). */
export async function regionForImage(region: RegionSpec, image: string, width: number, height: number): Promise<ImageRegion> {
  switch (region.kind) {
    case 'boxes':
      return { kind: 'boxes', boxes: region.boxes.map((b) => (region.units === 'fraction' ? { x: b.x * width, y: b.y * height, width: b.width * width, height: b.height * height } : { ...b })) };
    case 'annotations': {
      const e = region.entries.get(image);
      if (!e) throw new Error(`${region.file} has no entry for ${image}`);
      return { kind: 'boxes', boxes: e.boxes.map((b: SpecBox) => ({ ...b })) };
    }
    case 'mask':
      return { kind: 'mask', mask: await readMask(region.files.get(image)!, width, height), width, height };
  }
}

/** A mask image as 0/1 per pixel at width x height: its alpha channel when it has one, else its grey level; >= 128 is inside. */
export async function readMask(file: string, width: number, height: number): Promise<Uint8Array> {
  let meta: Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (e) {
    throw new Error(`cannot read mask ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  let p = sharp(file, { pages: 1 }).autoOrient();
  p = meta.hasAlpha ? p.ensureAlpha().extractChannel('alpha') : p.toColourspace('b-w').extractChannel(0);
  if (meta.width !== width || meta.height !== height) p = p.resize(width, height, { fit: 'fill', kernel: 'nearest' });
  const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 1) throw new Error(`mask ${file}: unexpected decode result ${info.width}x${info.height}x${info.channels}`);
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = data[i] >= 128 ? 1 : 0;
  return out;
}

function clip(b: Box, w: number, h: number): Box | null {
  const x0 = Math.max(0, b.x);
  const y0 = Math.max(0, b.y);
  const x1 = Math.min(w, b.x + b.width);
  const y1 = Math.min(h, b.y + b.height);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

function maskBBox(mask: Uint8Array, w: number, h: number): Box | null {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Carries a region from the original image into the model input through the image's placement. */
export function regionAtInput(r: ImageRegion, p: Placement): InputRegion {
  const W = p.dstWidth;
  const H = p.dstHeight;
  if (r.kind === 'boxes') {
    const boxes: Box[] = [];
    for (const b of r.boxes) {
      const a = toModel(p, b.x, b.y);
      const c = toModel(p, b.x + b.width, b.y + b.height);
      const clipped = clip({ x: a.x, y: a.y, width: c.x - a.x, height: c.y - a.y }, W, H);
      if (clipped) boxes.push(clipped);
    }
    let bbox: Box | null = null;
    if (boxes.length) {
      const x0 = Math.min(...boxes.map((b) => b.x));
      const y0 = Math.min(...boxes.map((b) => b.y));
      const x1 = Math.max(...boxes.map((b) => b.x + b.width));
      const y1 = Math.max(...boxes.map((b) => b.y + b.height));
      bbox = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    }
    return { boxes, bbox };
  }
  const mask = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = toSource(p, x + 0.5, y + 0.5);
      const sx = Math.floor(s.x);
      const sy = Math.floor(s.y);
      if (sx >= 0 && sy >= 0 && sx < r.width && sy < r.height) mask[y * W + x] = r.mask[sy * r.width + sx];
    }
  }
  return { mask, bbox: maskBBox(mask, W, H) };
}

export interface RegionMeasures {
  /** The map's maximum lies in the region (pixel centre inside a box, or on a mask pixel). */
  pointingHit: boolean;
  /** Share of the map's total mass inside the region (0 when the map is all zero). */
  inside: number;
  /** Share outside (1 - inside for a map with mass). */
  outside: number;
  /** IoU of the thresholded map's box with the region (best box; a mask's bounding box). */
  iou: number;
  /** The thresholded map's box, in input pixels (edges); null for an all-zero map. */
  thresholdBox: Box | null;
}

/** Pointing game, mass inside/outside and the threshold-box IoU of a map (input resolution) against a region. */
export function measureRegion(map: Float32Array, width: number, height: number, region: InputRegion, boxThreshold: number): RegionMeasures {
  let total = 0;
  for (const v of map) if (v > 0) total += v;
  const tbox = thresholdBox(map, width, height, boxThreshold);
  if (region.boxes) {
    const inside = region.boxes.length ? energyInBoxes(map, width, region.boxes) : 0;
    return {
      pointingHit: region.boxes.length > 0 && pointingGameHit(map, width, region.boxes),
      inside,
      outside: total > 0 ? 1 - inside : 0,
      iou: tbox && region.boxes.length ? Math.max(...region.boxes.map((b) => iou(tbox, b))) : 0,
      thresholdBox: tbox,
    };
  }
  const mask = region.mask!;
  let inMass = 0;
  let best = 0;
  for (let i = 0; i < map.length; i++) {
    const v = map[i] > 0 ? map[i] : 0;
    if (mask[i]) inMass += v;
    if (map[i] > map[best]) best = i;
  }
  const inside = total > 0 ? inMass / total : 0;
  return {
    pointingHit: mask[best] === 1,
    inside,
    outside: total > 0 ? 1 - inside : 0,
    iou: tbox && region.bbox ? iou(tbox, region.bbox) : 0,
    thresholdBox: tbox,
  };
}

/** The region as a 0/1 mask at the original image's size (boxes rasterised by pixel centre, like the metrics). */
export function regionMask(r: ImageRegion, width: number, height: number): Uint8Array {
  if (r.kind === 'mask') return r.mask;
  const m = new Uint8Array(width * height);
  for (const b of r.boxes) {
    const x0 = Math.max(0, Math.ceil(b.x - 0.5));
    const x1 = Math.min(width - 1, Math.floor(b.x + b.width - 0.5));
    const y0 = Math.max(0, Math.ceil(b.y - 0.5));
    const y1 = Math.min(height - 1, Math.floor(b.y + b.height - 0.5));
    for (let y = y0; y <= y1; y++) m.fill(1, y * width + x0, y * width + x1 + 1);
  }
  return m;
}

/** Pixels of the mask within `t` pixels (square neighbourhood) of its border or the image's edge: the outline to draw. */
export function outline(mask: Uint8Array, width: number, height: number, t: number): Uint8Array {
  // Erosion by a (2t+1)^2 square, separably, with running sums; the outline is mask minus its erosion.
  const k = 2 * t + 1;
  const rows = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    const pre = new Int32Array(width + 1);
    for (let x = 0; x < width; x++) pre[x + 1] = pre[x] + mask[o + x];
    for (let x = 0; x < width; x++) {
      const a = x - t;
      const b = x + t;
      rows[o + x] = a >= 0 && b < width && pre[b + 1] - pre[a] === k ? 1 : 0;
    }
  }
  const out = new Uint8Array(mask.length);
  const pre = new Int32Array(height + 1);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) pre[y + 1] = pre[y] + rows[y * width + x];
    for (let y = 0; y < height; y++) {
      const a = y - t;
      const b = y + t;
      const eroded = a >= 0 && b < height && pre[b + 1] - pre[a] === k;
      out[y * width + x] = mask[y * width + x] && !eroded ? 1 : 0;
    }
  }
  return out;
}

/** Paints the pixels where `where` is 1 in an RGB buffer. */
export function paint(rgb: Uint8Array, where: Uint8Array, color: [number, number, number]): void {
  for (let i = 0; i < where.length; i++) {
    if (where[i]) {
      rgb[i * 3] = color[0];
      rgb[i * 3 + 1] = color[1];
      rgb[i * 3 + 2] = color[2];
    }
  }
}

/** Draws a rectangle's outline (pixel edges, original-image coordinates), `t` pixels thick, dashed when asked. */
export function strokeBox(rgb: Uint8Array, width: number, height: number, b: Box, t: number, color: [number, number, number], dashed = false): void {
  const x0 = Math.max(0, Math.round(b.x));
  const y0 = Math.max(0, Math.round(b.y));
  const x1 = Math.min(width, Math.round(b.x + b.width)) - 1;
  const y1 = Math.min(height, Math.round(b.y + b.height)) - 1;
  if (x1 < x0 || y1 < y0) return;
  const dash = Math.max(2, 3 * t);
  const put = (x: number, y: number, along: number) => {
    if (dashed && Math.floor(along / dash) % 2 === 1) return;
    const i = (y * width + x) * 3;
    rgb[i] = color[0];
    rgb[i + 1] = color[1];
    rgb[i + 2] = color[2];
  };
  for (let d = 0; d < t; d++) {
    for (let x = x0; x <= x1; x++) {
      if (y0 + d <= y1) put(x, y0 + d, x - x0);
      if (y1 - d >= y0) put(x, y1 - d, x - x0);
    }
    for (let y = y0; y <= y1; y++) {
      if (x0 + d <= x1) put(x0 + d, y, y - y0);
      if (x1 - d >= x0) put(x1 - d, y, y - y0);
    }
  }
}

/** A small '+' at (x, y) (original-image pixels, continuous). */
export function markPoint(rgb: Uint8Array, width: number, height: number, x: number, y: number, t: number, color: [number, number, number]): void {
  const cx = Math.min(width - 1, Math.max(0, Math.floor(x)));
  const cy = Math.min(height - 1, Math.max(0, Math.floor(y)));
  const arm = 2 * t + 1;
  for (let d = -arm; d <= arm; d++) {
    for (const [px, py] of [
      [cx + d, cy],
      [cx, cy + d],
    ]) {
      if (px < 0 || py < 0 || px >= width || py >= height) continue;
      const i = (py * width + px) * 3;
      rgb[i] = color[0];
      rgb[i + 1] = color[1];
      rgb[i + 2] = color[2];
    }
  }
}
