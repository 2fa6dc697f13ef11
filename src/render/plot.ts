/** Small line charts (deletion / insertion curves) drawn as SVG and rasterised to PNG by sharp. */
import sharp from 'sharp';
import { escapeXml } from './sheet';

export interface Series {
  name: string;
  /** y values at x evenly spaced over [0, 1], or at `xs`. */
  ys: number[];
  /** x of each y, within [0, 1] (ROAD's removal levels 0.1 .. 0.9). */
  xs?: number[];
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939'];

/** One panel per chart, side by side; every panel shares the legend of its own series. */
export async function lineCharts(charts: { title: string; series: Series[] }[], opts: { width?: number; height?: number; xLabel?: string; yLabel?: string } = {}): Promise<Buffer> {
  const pw = opts.width ?? 420;
  const ph = opts.height ?? 320;
  const m = { l: 48, r: 130, t: 28, b: 36 };
  const iw = pw - m.l - m.r;
  const ih = ph - m.t - m.b;
  const parts: string[] = [];
  charts.forEach((chart, ci) => {
    const ox = ci * pw;
    const X = (i: number, n: number, xs?: number[]) => ox + m.l + (xs ? xs[i] : n > 1 ? i / (n - 1) : 0) * iw;
    const Y = (v: number) => m.t + (1 - Math.min(1, Math.max(0, v))) * ih;
    parts.push(`<text x="${ox + m.l}" y="18" font-size="14" font-family="sans-serif">${escapeXml(chart.title)}</text>`);
    parts.push(`<rect x="${ox + m.l}" y="${m.t}" width="${iw}" height="${ih}" fill="none" stroke="#444"/>`);
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      parts.push(`<line x1="${ox + m.l}" x2="${ox + m.l + iw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#ddd"/>`);
      parts.push(`<text x="${ox + m.l - 6}" y="${Y(t) + 4}" font-size="10" text-anchor="end" font-family="sans-serif">${t}</text>`);
      parts.push(`<text x="${ox + m.l + t * iw}" y="${m.t + ih + 14}" font-size="10" text-anchor="middle" font-family="sans-serif">${t}</text>`);
    }
    if (opts.xLabel) parts.push(`<text x="${ox + m.l + iw / 2}" y="${ph - 6}" font-size="11" text-anchor="middle" font-family="sans-serif">${escapeXml(opts.xLabel)}</text>`);
    if (opts.yLabel) parts.push(`<text x="${ox + 12}" y="${m.t + ih / 2}" font-size="11" text-anchor="middle" font-family="sans-serif" transform="rotate(-90 ${ox + 12} ${m.t + ih / 2})">${escapeXml(opts.yLabel)}</text>`);
    chart.series.forEach((s, si) => {
      const color = PALETTE[si % PALETTE.length];
      const pts = s.ys.map((v, i) => `${X(i, s.ys.length, s.xs).toFixed(1)},${Y(v).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
      const ly = m.t + 10 + si * 15;
      parts.push(`<line x1="${ox + m.l + iw + 8}" x2="${ox + m.l + iw + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
      parts.push(`<text x="${ox + m.l + iw + 28}" y="${ly}" font-size="10" font-family="sans-serif">${escapeXml(s.name)}</text>`);
    });
  });
  const w = pw * Math.max(1, charts.length);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${ph}"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
