/**
 * How well a map localises an object with a known box. Pure functions over a row-major map of width x height
 * (any non-negative values) and boxes in the same pixel coordinates.
 */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function argmax(map: Float32Array): number {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  return best;
}

/** Pixel (col, row) lies in the box grown by `tolerance` pixels on every side. Pixel centres are at +0.5. */
function inBox(col: number, row: number, b: Box, tolerance = 0): boolean {
  const cx = col + 0.5;
  const cy = row + 0.5;
  return cx >= b.x - tolerance && cx <= b.x + b.width + tolerance && cy >= b.y - tolerance && cy <= b.y + b.height + tolerance;
}

/** Pointing game (Zhang et al. 2016): the map's maximum falls inside any of the boxes (optionally grown by a tolerance). */
export function pointingGameHit(map: Float32Array, width: number, boxes: Box[], tolerance = 0): boolean {
  const i = argmax(map);
  const col = i % width;
  const row = Math.floor(i / width);
  return boxes.some((b) => inBox(col, row, b, tolerance));
}

/** Energy-based pointing game (Score-CAM paper): share of the map's total mass inside the boxes (their union). */
export function energyInBoxes(map: Float32Array, width: number, boxes: Box[]): number {
  let inside = 0;
  let total = 0;
  for (let i = 0; i < map.length; i++) {
    const v = map[i] > 0 ? map[i] : 0;
    total += v;
    if (boxes.some((b) => inBox(i % width, Math.floor(i / width), b))) inside += v;
  }
  return total > 0 ? inside / total : 0;
}

export function iou(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * CAM paper's box: threshold the map at `fraction` of its maximum, keep the largest 8-connected component of
 * the pixels above it, return its bounding box (pixel edges). Null for an all-zero map.
 */
export function thresholdBox(map: Float32Array, width: number, height: number, fraction = 0.2): Box | null {
  const max = map[argmax(map)];
  if (!(max > 0)) return null;
  const t = fraction * max;
  const label = new Int32Array(map.length).fill(-1);
  let best: { size: number; x0: number; y0: number; x1: number; y1: number } | null = null;
  const stack: number[] = [];
  for (let start = 0; start < map.length; start++) {
    if (label[start] !== -1 || !(map[start] >= t)) continue;
    label[start] = start;
    stack.push(start);
    const c = { size: 0, x0: width, y0: height, x1: -1, y1: -1 };
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % width;
      const y = (i - x) / width;
      c.size++;
      if (x < c.x0) c.x0 = x;
      if (x > c.x1) c.x1 = x;
      if (y < c.y0) c.y0 = y;
      if (y > c.y1) c.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const j = ny * width + nx;
          if (label[j] === -1 && map[j] >= t) {
            label[j] = start;
            stack.push(j);
          }
        }
      }
    }
    if (!best || c.size > best.size) best = c;
  }
  return best && { x: best.x0, y: best.y0, width: best.x1 - best.x0 + 1, height: best.y1 - best.y0 + 1 };
}

/** Localisation is correct when the thresholded map's box overlaps a ground-truth box with IoU >= minIou. */
export function localisationHit(map: Float32Array, width: number, height: number, boxes: Box[], fraction = 0.2, minIou = 0.5): { hit: boolean; box: Box | null; iou: number } {
  const box = thresholdBox(map, width, height, fraction);
  const best = box ? Math.max(0, ...boxes.map((b) => iou(box, b))) : 0;
  return { hit: best >= minIou, box, iou: best };
}
