/**
 * Colour scales (legends): what a picture's colours mean. Platform-free, so the same legend is drawn by the Node
 * renderer (a strip under an overlay file with --legend, under the comparison sheet), the HTML reports (inline
 * SVG) and the browser page:
 *
 *   const svg = legendSvg(heatmapLegend('jet'));          // a string for innerHTML
 *   const rgb = legendBar(colormapLut('jet'), 256, 12);    // or the bar's pixels, as the overlays index them
 *
 * A legend is a colour table drawn left to right (entry 0 at the left end, entry 255 at the right end, each
 * column indexed as the overlays index a map's value), ticks with labels along it and a caption saying what the
 * ends mean. The bar's pixels are computed here exactly; only the text is left to an SVG renderer.
 */
import { colormapLut, divergingLut, lutIndex, type ColormapName, type DivergingName } from './colormap';
import { DEFAULT_OUTLIER_PERCENT } from './signed';

export interface Legend {
  /** 256 x RGB colour table, drawn from entry 0 (left end) to entry 255 (right end). */
  lut: Uint8Array;
  /** Labels along the bar, `at` from 0 (left end) to 1 (right end). */
  ticks: { at: number; label: string }[];
  /** One line: the colour map and what its ends mean. */
  caption: string;
}

/** A per-map normalised heatmap: 0 = the map's minimum, 1 = its maximum (every map is scaled on its own). */
export function heatmapLegend(colormap: ColormapName): Legend {
  return {
    lut: colormapLut(colormap),
    ticks: [
      { at: 0, label: '0 = min' },
      { at: 0.5, label: '0.5' },
      { at: 1, label: '1 = max' },
    ],
    caption: `${colormap}, each map scaled on its own: 0 = its minimum, 1 = its maximum`,
  };
}

/** Significant digits enough to tell clip values apart, without float noise: 0.0123, 4.56e-5, 1230. */
export function formatClip(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(3))) : v.toExponential(2).replace(/\.?0+e/, 'e');
}

/**
 * A signed attribution on a diverging map (render/signed.ts): white = 0, the ends = -clip and +clip. With `clip`
 * (one map's) the ends carry its value; without (a legend shared by several maps) they say 'clip'.
 */
export function signedLegend(colormap: DivergingName, opts: { clip?: number; outlierPercent?: number } = {}): Legend {
  const p = opts.outlierPercent ?? DEFAULT_OUTLIER_PERCENT;
  const end = opts.clip === undefined ? 'clip' : formatClip(opts.clip);
  return {
    lut: divergingLut(colormap),
    ticks: [
      { at: 0, label: `\u2212${end}` },
      { at: 0.5, label: '0' },
      { at: 1, label: `+${end}` },
    ],
    caption: `${colormap}, attribution summed over channels: white = 0, ends = \u00b1${opts.clip === undefined ? 'clip, per map' : end}; the top ${p}% of |attribution| saturates`,
  };
}

let greyRamp: Uint8Array | null = null;

/** The papers' gradient images (render/gradient.ts): per colour channel, grey = the mean, the ends = mean -+ 5 sd. */
export function gradientLegend(): Legend {
  if (!greyRamp) {
    greyRamp = new Uint8Array(768);
    for (let i = 0; i < 256; i++) greyRamp.fill(i, 3 * i, 3 * i + 3);
  }
  return {
    lut: greyRamp,
    ticks: [
      { at: 0, label: '\u22125 sd' },
      { at: 0.5, label: 'mean' },
      { at: 1, label: '+5 sd' },
    ],
    caption: "each colour channel is that input channel's attribution: grey = its mean, ends = mean \u00b1 5 standard deviations",
  };
}

/**
 * The bar's pixels, RGB [height * width * 3]: column x shows the colour of value x / (width - 1), looked up as the
 * overlays look up a map's value (lutIndex), so the left column is entry 0, the right one entry 255 and, for an odd
 * width, the middle column entry 127 (a diverging map's white).
 */
export function legendBar(lut: Uint8Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad legend bar size ${width}x${height}`);
  if (lut.length !== 768) throw new RangeError(`colour table has ${lut.length} bytes, expected 768`);
  const row = new Uint8Array(width * 3);
  for (let x = 0; x < width; x++) {
    const i = lutIndex(width === 1 ? 0 : x / (width - 1)) * 3;
    row[3 * x] = lut[i];
    row[3 * x + 1] = lut[i + 1];
    row[3 * x + 2] = lut[i + 2];
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) out.set(row, y * width * 3);
  return out;
}

/** Where a strip's parts go (pixels): the bar, then a row of tick labels, then the caption. */
export interface StripLayout {
  width: number;
  height: number;
  fontSize: number;
  bar: { left: number; top: number; width: number; height: number };
  /** Baselines of the tick labels and of the caption. */
  labelsY: number;
  captionY: number;
}

/** The layout of a legend strip `width` pixels wide: text about 1/48 of the width, between 9 and 24 px. */
export function stripLayout(width: number): StripLayout {
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`bad legend strip width ${width}`);
  const fontSize = Math.max(9, Math.min(24, Math.round(width / 48)));
  const pad = Math.round(fontSize / 2);
  const margin = Math.min(pad * 2, Math.floor((width - 1) / 4));
  const bar = { left: margin, top: pad, width: Math.max(1, width - 2 * margin), height: Math.round(fontSize * 1.2) };
  const labelsY = bar.top + bar.height + Math.round(fontSize * 1.1);
  const captionY = labelsY + Math.round(fontSize * 1.3);
  return { width, height: captionY + pad, fontSize, bar, labelsY, captionY };
}

/**
 * A legend strip `width` pixels wide: its pixels without the text (white, with the bar exact: legendBar) and the
 * text as a transparent SVG of the same size, for an SVG renderer to draw over them.
 */
export function legendStrip(legend: Legend, width: number): { rgb: Uint8Array; width: number; height: number; textSvg: string } {
  const L = stripLayout(width);
  const rgb = new Uint8Array(L.width * L.height * 3).fill(255);
  const bar = legendBar(legend.lut, L.bar.width, L.bar.height);
  const rowBytes = L.bar.width * 3;
  for (let y = 0; y < L.bar.height; y++) rgb.set(bar.subarray(y * rowBytes, (y + 1) * rowBytes), ((L.bar.top + y) * L.width + L.bar.left) * 3);
  const textSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}">${legendText(legend, L.bar.left, L.bar.width, L.labelsY, L.captionY, L.width, L.fontSize)}</svg>`;
  return { rgb, width: L.width, height: L.height, textSvg };
}

/**
 * The legend as a standalone SVG (the HTML reports embed it inline; the browser page can set it as innerHTML):
 * the bar as a gradient through every fourth table entry, tick marks and labels, the caption under them.
 */
export function legendSvg(legend: Legend, opts: { width?: number; fontSize?: number } = {}): string {
  const width = opts.width ?? 360;
  const fontSize = opts.fontSize ?? 12;
  const margin = Math.round(fontSize * 1.5);
  const barW = Math.max(1, width - 2 * margin);
  const barTop = 2;
  const barH = Math.round(fontSize * 1.2);
  const labelsY = barTop + barH + Math.round(fontSize * 1.2);
  const captionY = labelsY + Math.round(fontSize * 1.4);
  const height = captionY + Math.round(fontSize / 2);
  const hex = (i: number) => '#' + [0, 1, 2].map((c) => legend.lut[3 * i + c].toString(16).padStart(2, '0')).join('');
  const stops: string[] = [];
  for (let i = 0; i < 256; i = i === 252 ? 255 : i + 4) stops.push(`<stop offset="${(i / 255).toFixed(4)}" stop-color="${hex(i)}"/>`);
  const id = `lg${hashOf(legend.caption)}`;
  const ticks = legend.ticks.map((t) => {
    const x = (margin + t.at * barW).toFixed(1);
    return `<line x1="${x}" x2="${x}" y1="${barTop + barH}" y2="${barTop + barH + 3}" stroke="#333"/>`;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(legend.caption)}">` +
    `<defs><linearGradient id="${id}" x1="0" x2="1" y1="0" y2="0">${stops.join('')}</linearGradient></defs>` +
    `<rect x="${margin}" y="${barTop}" width="${barW}" height="${barH}" fill="url(#${id})" stroke="#333" stroke-width="0.5"/>` +
    ticks.join('') +
    legendText(legend, margin, barW, labelsY, captionY, width, fontSize) +
    `</svg>`
  );
}

/** A short stable id for the SVG's gradient (several legends on one page must not share one id). */
function hashOf(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

/** Roughly the advance of an average DejaVu Sans character at size 1. */
const CHAR_EM = 0.6;

/** Tick labels (the outer ones kept inside the strip) and the caption, fitted to the width, as SVG text. */
function legendText(legend: Legend, barLeft: number, barWidth: number, labelsY: number, captionY: number, width: number, fontSize: number): string {
  const font = `font-family="DejaVu Sans, Arial, sans-serif" fill="#000"`;
  const labels = legend.ticks.map((t) => {
    const x = barLeft + t.at * barWidth;
    const anchor = t.at <= 0 ? 'start' : t.at >= 1 ? 'end' : 'middle';
    const at = t.at <= 0 ? barLeft : t.at >= 1 ? barLeft + barWidth : x;
    return `<text x="${at.toFixed(1)}" y="${labelsY}" text-anchor="${anchor}" font-size="${fontSize}" ${font}>${escapeXml(t.label)}</text>`;
  });
  const caption = fitCaption(legend.caption, width, fontSize);
  labels.push(`<text x="${(width / 2).toFixed(1)}" y="${captionY}" text-anchor="middle" font-size="${caption.size}" ${font}>${escapeXml(caption.text)}</text>`);
  return labels.join('');
}

/** The caption at the largest size up to `max` (at least 7) that fits `width`, shortened with an ellipsis below that. */
function fitCaption(text: string, width: number, max: number): { size: number; text: string } {
  const chars = Array.from(text);
  const room = Math.max(1, width - 4);
  const size = Math.max(7, Math.min(max, Math.floor(room / (CHAR_EM * chars.length))));
  const fits = Math.floor(room / (CHAR_EM * size));
  return { size, text: chars.length <= fits ? text : chars.slice(0, Math.max(1, fits - 1)).join('') + '\u2026' };
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
