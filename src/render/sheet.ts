// A labelled grid of overlays (rows = methods, columns = classes) in one PNG, for eyeballing methods side by side.
import sharp, { type OverlayOptions } from 'sharp';

export interface SheetCell {
  /** PNG (any format sharp reads). */
  image: Buffer;
  row: string;
  col: string;
}

export interface SheetOptions {
  /** Each cell is fitted (aspect kept, letterboxed in white) into a square of this many pixels; default 224. */
  cellSize?: number;
  /** Output format (default png) and quality for jpeg/webp. */
  format?: 'png' | 'jpeg' | 'webp';
  quality?: number;
}

const GAP = 4;
const FONT_SIZE = 14;
const HEADER_H = 28;
const ROW_LABEL_W = 150;
const WHITE = { r: 255, g: 255, b: 255 };
// Roughly the advance of an average DejaVu Sans character, to shorten labels before they overflow their box.
const CHAR_W = 0.6 * FONT_SIZE;

export async function comparisonSheet(cells: SheetCell[][], opts: SheetOptions = {}): Promise<Buffer> {
  const cellSize = opts.cellSize ?? 224;
  if (!Number.isInteger(cellSize) || cellSize < 16) throw new RangeError(`cellSize must be an integer >= 16, got ${cellSize}`);
  const rows = cells.length;
  const cols = Math.max(0, ...cells.map((r) => r.length));
  if (rows === 0 || cols === 0) throw new RangeError('comparison sheet needs at least one cell');

  const colLabels = Array.from({ length: cols }, (_, c) => cells.find((r) => r[c] !== undefined)?.[c]?.col ?? '');
  const x0 = ROW_LABEL_W + GAP;
  const y0 = HEADER_H + GAP;
  const pitch = cellSize + GAP;
  const width = x0 + cols * pitch;
  const height = y0 + rows * pitch;

  const layers: OverlayOptions[] = [];
  for (let c = 0; c < cols; c++) {
    layers.push({ input: labelSvg(colLabels[c], cellSize, HEADER_H, 'middle'), left: x0 + c * pitch, top: 0 });
  }
  for (let r = 0; r < rows; r++) {
    layers.push({ input: labelSvg(cells[r][0]?.row ?? cells[r].find(Boolean)?.row ?? '', ROW_LABEL_W, cellSize, 'start'), left: 0, top: y0 + r * pitch });
    for (let c = 0; c < cells[r].length; c++) {
      const cell = cells[r][c];
      if (!cell) continue;
      // Resized in its own pipeline: sharp may run resize and composite in an order that breaks the composite.
      const input = await sharp(cell.image)
        .resize(cellSize, cellSize, { fit: 'contain', background: WHITE, kernel: 'lanczos3' })
        .flatten({ background: WHITE })
        .png({ compressionLevel: 1 })
        .toBuffer();
      layers.push({ input, left: x0 + c * pitch, top: y0 + r * pitch });
    }
  }
  const sheet = sharp({ create: { width, height, channels: 3, background: WHITE } }).composite(layers);
  const q = opts.quality ?? 90;
  if (opts.format === 'jpeg') return sharp(await sheet.raw().toBuffer(), { raw: { width, height, channels: 3 } }).jpeg({ quality: q }).toBuffer();
  if (opts.format === 'webp') return sharp(await sheet.raw().toBuffer(), { raw: { width, height, channels: 3 } }).webp({ quality: q }).toBuffer();
  return sheet.png({ compressionLevel: 6 }).toBuffer();
}

/** One line of text in a box, as SVG that sharp renders through librsvg. */
function labelSvg(text: string, w: number, h: number, anchor: 'start' | 'middle'): Buffer {
  const x = anchor === 'middle' ? w / 2 : 4;
  const body = escapeXml(shorten(text, Math.floor((w - 8) / CHAR_W)));
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<text x="${x}" y="${h / 2}" dominant-baseline="central" text-anchor="${anchor}" ` +
    `font-family="DejaVu Sans, Arial, sans-serif" font-size="${FONT_SIZE}" fill="#000">${body}</text></svg>`;
  return Buffer.from(svg);
}

function shorten(s: string, max: number): string {
  const chars = Array.from(s.replace(/\s+/g, ' ').trim());
  return chars.length <= max ? chars.join('') : chars.slice(0, Math.max(1, max - 1)).join('') + '\u2026';
}

/** Escapes text for XML, dropping the control characters that XML 1.0 forbids (librsvg would reject the SVG). */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
