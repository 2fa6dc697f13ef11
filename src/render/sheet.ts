// A grid of labelled overlays (each method's classes side by side, methods wrapped into a grid that fits a screen)
// in one image, for eyeballing methods side by side.
import sharp, { type OverlayOptions } from 'sharp';
import { escapeXml, legendStrip, stripLayout, type Legend } from './legend';

export interface SheetCell {
  /** PNG (any format sharp reads). */
  image: Buffer;
  row: string;
  col: string;
}

export interface SheetOptions {
  /**
   * Each cell is fitted (aspect kept, letterboxed in white) into a square of this many pixels. Default: the largest
   * (at most 224, at least 64) that lets the whole sheet fit a 1920 x 1080 screen.
   */
  cellSize?: number;
  /** Output format (default png) and quality for jpeg/webp. */
  format?: 'png' | 'jpeg' | 'webp';
  quality?: number;
  /** Colour scales shown under the grid, one strip each (the colour maps of the cells). */
  legends?: Legend[];
  /** Longest side of the sheet in pixels: a larger sheet is scaled down to it (0 or absent: no limit). */
  maxSide?: number;
}

/** Width of the legend strips under a sheet: the sheet's, up to this. */
const LEGEND_MAX_W = 560;

export const SHEET_GAP = 4;
/** Space between one method's block of classes and the next. */
export const SHEET_BLOCK_GAP = 12;
/** Two caption lines above each cell: the method, then the class. */
export const SHEET_CAPTION_H = 34;
const SCREEN_W = 1920;
const SCREEN_H = 1080;
const WHITE = { r: 255, g: 255, b: 255 };

export interface SheetLayout {
  /** Method blocks per grid row. */
  blocks: number;
  cell: number;
  width: number;
  height: number;
}

/**
 * Where everything goes: n methods (rows of the input), each a block of k cells, `blocks` blocks per grid row.
 * Without a fixed cell size, the layout with the largest cells that still fits the screen wins; with one, the
 * layout closest to the screen's 16:9. `reservedHeight`: screen rows kept for what goes under the grid (the legends).
 */
export function sheetLayout(n: number, k: number, fixedCell?: number, reservedHeight = 0): SheetLayout {
  let best: (SheetLayout & { score: number }) | null = null;
  for (let b = 1; b <= n; b++) {
    const rows = Math.ceil(n / b);
    const blockW = (c: number) => k * (c + SHEET_GAP);
    const fit = Math.min(Math.floor((SCREEN_W - (b - 1) * SHEET_BLOCK_GAP) / (b * k)) - SHEET_GAP, Math.floor((SCREEN_H - reservedHeight) / rows) - SHEET_CAPTION_H - SHEET_GAP);
    const cell = fixedCell ?? Math.max(64, Math.min(224, fit));
    const width = b * blockW(cell) + (b - 1) * SHEET_BLOCK_GAP;
    const height = rows * (cell + SHEET_CAPTION_H + SHEET_GAP);
    const aspectOff = Math.abs(Math.log(width / height / (16 / 9)));
    const score = fixedCell ? -aspectOff : cell * 1000 - aspectOff;
    if (!best || score > best.score + 1e-9) best = { blocks: b, cell, width, height, score };
  }
  const { score: _s, ...layout } = best!;
  return layout;
}

export async function comparisonSheet(cells: SheetCell[][], opts: SheetOptions = {}): Promise<Buffer> {
  if (opts.cellSize !== undefined && (!Number.isInteger(opts.cellSize) || opts.cellSize < 16)) throw new RangeError(`cellSize must be an integer >= 16, got ${opts.cellSize}`);
  if (opts.maxSide !== undefined && opts.maxSide !== 0 && !(Number.isInteger(opts.maxSide) && opts.maxSide >= 16)) throw new RangeError(`maxSide must be 0 or an integer >= 16, got ${opts.maxSide}`);
  const n = cells.length;
  const k = Math.max(0, ...cells.map((r) => r.length));
  if (n === 0 || k === 0) throw new RangeError('comparison sheet needs at least one cell');
  // Room for the legend strips under the grid (at most LEGEND_MAX_W wide, so at most this tall), so that the whole fits the screen.
  const legendsH = (opts.legends?.length ?? 0) * stripLayout(LEGEND_MAX_W).height;
  const { blocks, cell: cellSize, width, height } = sheetLayout(n, k, opts.cellSize, legendsH);
  const pitch = cellSize + SHEET_GAP;

  const layers: OverlayOptions[] = [];
  for (let r = 0; r < n; r++) {
    const top = Math.floor(r / blocks) * (cellSize + SHEET_CAPTION_H + SHEET_GAP);
    const blockLeft = (r % blocks) * (k * pitch + SHEET_BLOCK_GAP);
    for (let c = 0; c < cells[r].length; c++) {
      const cell = cells[r][c];
      if (!cell) continue;
      const left = blockLeft + c * pitch;
      layers.push({ input: captionSvg(cell.row, cell.col, cellSize, SHEET_CAPTION_H), left, top });
      // Resized in its own pipeline: sharp may run resize and composite in an order that breaks the composite.
      const input = await sharp(cell.image)
        .resize(cellSize, cellSize, { fit: 'contain', background: WHITE, kernel: 'lanczos3' })
        .flatten({ background: WHITE })
        .png({ compressionLevel: 1 })
        .toBuffer();
      layers.push({ input, left, top: top + SHEET_CAPTION_H });
    }
  }
  // Each legend strip under the grid, centred: the cells' colour scales, always shown.
  let full = height;
  for (const legend of opts.legends ?? []) {
    const strip = legendStrip(legend, Math.min(width, LEGEND_MAX_W));
    layers.push({ input: Buffer.from(strip.rgb.buffer, strip.rgb.byteOffset, strip.rgb.byteLength), raw: { width: strip.width, height: strip.height, channels: 3 }, left: Math.floor((width - strip.width) / 2), top: full });
    layers.push({ input: Buffer.from(strip.textSvg), left: Math.floor((width - strip.width) / 2), top: full });
    full += strip.height;
  }
  let sheet = sharp({ create: { width, height: full, channels: 3, background: WHITE } }).composite(layers);
  if (opts.maxSide && Math.max(width, full) > opts.maxSide) {
    // Scaled in a second pipeline, after the composite (see above).
    const raw = await sheet.raw().toBuffer({ resolveWithObject: true });
    sheet = sharp(raw.data, { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } })
      .resize(opts.maxSide, opts.maxSide, { fit: 'inside', kernel: 'lanczos3' })
      .removeAlpha();
  }
  const q = opts.quality ?? 90;
  if (opts.format === 'jpeg') return sheet.jpeg({ quality: q }).toBuffer();
  if (opts.format === 'webp') return sheet.webp({ quality: q }).toBuffer();
  return sheet.png({ compressionLevel: 6 }).toBuffer();
}

/** Roughly the advance of an average DejaVu Sans character at size 1. */
const CHAR_EM = 0.6;

/** The font size (at most `max`, at least 7) at which text fits w pixels; the text is shortened only below that. */
export function fitText(text: string, w: number, max: number): { size: number; text: string } {
  const chars = Array.from(text.replace(/\s+/g, ' ').trim()).length;
  const size = Math.max(7, Math.min(max, Math.floor((w - 6) / (CHAR_EM * Math.max(1, chars)))));
  return { size, text: shorten(text, Math.floor((w - 6) / (CHAR_EM * size))) };
}

/** Method (bold) over class, centred, as SVG that sharp renders through librsvg. */
function captionSvg(method: string, label: string, w: number, h: number): Buffer {
  const a = fitText(method, w, 14);
  const b = fitText(label, w, 12);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<text x="${w / 2}" y="${h * 0.3}" dominant-baseline="central" text-anchor="middle" font-weight="bold" ` +
    `font-family="DejaVu Sans, Arial, sans-serif" font-size="${a.size}" fill="#000">${escapeXml(a.text)}</text>` +
    `<text x="${w / 2}" y="${h * 0.75}" dominant-baseline="central" text-anchor="middle" ` +
    `font-family="DejaVu Sans, Arial, sans-serif" font-size="${b.size}" fill="#333">${escapeXml(b.text)}</text></svg>`;
  return Buffer.from(svg);
}

function shorten(s: string, max: number): string {
  const chars = Array.from(s.replace(/\s+/g, ' ').trim());
  return chars.length <= max ? chars.join('') : chars.slice(0, Math.max(1, max - 1)).join('') + '\u2026';
}

// Shared with the legends (platform-free there); re-exported for the modules that import it from here.
export { escapeXml };
