/**
 * The ground-truth boxes file read by `tfjs-cam evaluate` (format documented in docs/evaluate.md):
 *   {"version": 1, "images": {"<path relative to this file>": {"class": 7, "label": "7", "boxes": [{"x","y","width","height"}]}}}
 * Boxes are in the image's own pixels, x and y the top-left corner. "class" (index) or "label" names the
 * object's class; several boxes mean several instances (a hit on any counts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../util/errors';
import { closestNames } from '../util/suggest';
import { Box } from './localisation';

export interface GroundTruth {
  classIndex?: number;
  label?: string;
  boxes: Box[];
}

const MAX_BOXES_BYTES = 16 * 1024 * 1024;
const BOX_KEYS = ['x', 'y', 'width', 'height'] as const;
const BOX_SHAPE = '{"x": left, "y": top, "width": w, "height": h} in the image\'s pixels';
const ENTRY_SHAPE = `{"class": index and/or "label": name, "boxes": [${BOX_SHAPE}, ...]}`;

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
  // A field that is not read (a typo, another tool's `bbox`) would be ignored in silence: refused, with the field meant.
  const refuseUnknown = (o: object, known: readonly string[], where: string) => {
    for (const k of Object.keys(o)) {
      if (known.includes(k)) continue;
      const near = closestNames(k, [...known], 1);
      throw fail(where, `has an unknown field '${k}'${near.length ? ` (did you mean '${near[0]}'?)` : ''}; known: ${known.join(', ')}`);
    }
  };
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw fail('the file', 'must be a JSON object');
  refuseUnknown(raw, ['version', 'images'], 'the file');
  const r = raw as { version?: unknown; images?: unknown };
  if (r.version !== 1) throw fail("field 'version'", 'must be 1');
  if (r.images == null || typeof r.images !== 'object' || Array.isArray(r.images)) throw fail("field 'images'", 'must be an object keyed by image path');
  const base = path.dirname(path.resolve(file));
  const out = new Map<string, GroundTruth>();
  for (const [name, v] of Object.entries(r.images as Record<string, unknown>)) {
    const where = `images['${name}']`;
    if (v == null || typeof v !== 'object' || Array.isArray(v)) throw fail(where, `must be an object ${ENTRY_SHAPE}`);
    refuseUnknown(v, ['class', 'label', 'boxes'], where);
    const e = v as { class?: unknown; label?: unknown; boxes?: unknown };
    if (e.class != null && !(Number.isInteger(e.class) && (e.class as number) >= 0)) throw fail(`${where}.class`, 'must be a class index');
    if (e.label != null && typeof e.label !== 'string') throw fail(`${where}.label`, 'must be a string');
    if (!Array.isArray(e.boxes) || e.boxes.length === 0) throw fail(`${where}.boxes`, 'must be a non-empty array');
    const boxes = e.boxes.map((b: unknown, i: number) => {
      // [x1, y1, x2, y2] (COCO's and Pascal VOC's lists): the shape expected, rather than "x must be a number".
      if (b == null || typeof b !== 'object' || Array.isArray(b)) throw fail(`${where}.boxes[${i}]`, `must be an object ${BOX_SHAPE}; got ${JSON.stringify(b)}`);
      refuseUnknown(b, BOX_KEYS, `${where}.boxes[${i}]`);
      const bb = b as Record<string, unknown>;
      for (const k of BOX_KEYS) {
        if (typeof bb?.[k] !== 'number' || !Number.isFinite(bb[k] as number)) throw fail(`${where}.boxes[${i}].${k}`, 'must be a number');
      }
      if ((bb.width as number) <= 0 || (bb.height as number) <= 0) throw fail(`${where}.boxes[${i}]`, 'must have a positive width and height');
      return { x: bb.x, y: bb.y, width: bb.width, height: bb.height } as Box;
    });
    out.set(path.resolve(base, name), { classIndex: e.class as number | undefined, label: e.label as string | undefined, boxes });
  }
  return out;
}

/**
 * Every entry's class index, against the model's labels (`classIndex` resolves a label, throwing where there is no
 * such class): an entry giving both a class and a label that name different classes is refused (which was meant
 * cannot be known), as is one giving neither. Keyed like readBoxes' map.
 */
export function resolveBoxClasses(truth: Map<string, GroundTruth>, file: string, labels: string[], classIndex: (label: string) => number): Map<string, number> {
  const base = path.dirname(path.resolve(file));
  const out = new Map<string, number>();
  for (const [image, gt] of truth) {
    const where = `${file}: images['${path.relative(base, image).split(path.sep).join('/')}']`;
    if (gt.classIndex != null && gt.classIndex >= labels.length) throw new UsageError(`${where}.class ${gt.classIndex} is not a class of the model (it has ${labels.length}: 0 to ${labels.length - 1})`);
    let byLabel: number | undefined;
    if (gt.label != null) {
      try {
        byLabel = classIndex(gt.label);
      } catch (e) {
        throw new UsageError(`${where}.label: ${(e as Error).message}`);
      }
    }
    if (gt.classIndex != null && byLabel != null && byLabel !== gt.classIndex) {
      throw new UsageError(`${where}: class ${gt.classIndex} ('${labels[gt.classIndex]}') and label '${gt.label}' (class ${byLabel}) disagree; give one, or make them agree`);
    }
    const cls = gt.classIndex ?? byLabel;
    if (cls == null) throw new UsageError(`${where}: names no class: give "class" (an index) or "label"`);
    out.set(image, cls);
  }
  return out;
}
