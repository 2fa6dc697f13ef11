/**
 * The ground-truth boxes file read by `tfjs-cam evaluate` (format documented in docs/evaluate.md):
 *   {"version": 1, "images": {"<path relative to this file>": {"class": 7, "label": "7", "boxes": [{"x","y","width","height"}]}}}
 * Boxes are in the image's own pixels, x and y the top-left corner. "class" (index) or "label" names the
 * object's class; several boxes mean several instances (a hit on any counts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../util/errors';
import { Box } from './localisation';

export interface GroundTruth {
  classIndex?: number;
  label?: string;
  boxes: Box[];
}

const MAX_BOXES_BYTES = 16 * 1024 * 1024;

export function readBoxes(file: string): Map<string, GroundTruth> {
  if (!fs.existsSync(file)) throw new UsageError(`${file}: boxes file not found`);
  const size = fs.statSync(file).size;
  if (size > MAX_BOXES_BYTES) throw new UsageError(`${file}: boxes file is ${size} bytes, over the limit of ${MAX_BOXES_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const fail = (where: string, what: string) => new UsageError(`${file}: ${where} ${what}`);
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw fail('the file', 'must be a JSON object');
  const r = raw as { version?: unknown; images?: unknown };
  if (r.version !== 1) throw fail("field 'version'", 'must be 1');
  if (r.images == null || typeof r.images !== 'object' || Array.isArray(r.images)) throw fail("field 'images'", 'must be an object keyed by image path');
  const base = path.dirname(path.resolve(file));
  const out = new Map<string, GroundTruth>();
  for (const [name, v] of Object.entries(r.images as Record<string, unknown>)) {
    const where = `images['${name}']`;
    if (v == null || typeof v !== 'object') throw fail(where, 'must be an object');
    const e = v as { class?: unknown; label?: unknown; boxes?: unknown };
    if (e.class != null && !(Number.isInteger(e.class) && (e.class as number) >= 0)) throw fail(`${where}.class`, 'must be a class index');
    if (e.label != null && typeof e.label !== 'string') throw fail(`${where}.label`, 'must be a string');
    if (!Array.isArray(e.boxes) || e.boxes.length === 0) throw fail(`${where}.boxes`, 'must be a non-empty array');
    const boxes = e.boxes.map((b: unknown, i: number) => {
      const bb = b as Record<string, unknown>;
      for (const k of ['x', 'y', 'width', 'height']) {
        if (typeof bb?.[k] !== 'number' || !Number.isFinite(bb[k] as number)) throw fail(`${where}.boxes[${i}].${k}`, 'must be a number');
      }
      if ((bb.width as number) <= 0 || (bb.height as number) <= 0) throw fail(`${where}.boxes[${i}]`, 'must have a positive width and height');
      return { x: bb.x, y: bb.y, width: bb.width, height: bb.height } as Box;
    });
    out.set(path.resolve(base, name), { classIndex: e.class as number | undefined, label: e.label as string | undefined, boxes });
  }
  return out;
}
