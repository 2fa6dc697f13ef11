/**
 * A self-contained HTML report (index.html) for explain, check and evaluate: one table row per image (or per
 * check), with thumbnails, classes, scores, status and links to the full-size files. It works offline: styles and
 * the little script are inline, thumbnails are embedded as data: URIs (or linked relatively), links are relative.
 * Nothing is fetched from anywhere.
 *
 *   await writeHtmlReport('out/index.html', { title: 'tfjs-cam check', rows: [...] });
 */
import type { EvaluateReport } from './evaluate-schema';
import { promises as fsp } from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { makeDirs, writeFileAtomic } from './files';
import type { ExplainReport } from './schema';
import { legendSvg, gradientLegend, heatmapLegend, signedLegend, type Legend } from '../render/legend';
import { drawingOf, type Drawing, type RenderMode } from '../render/drawing';
import { COLORMAPS, DIVERGING_COLORMAPS, type ColormapName, type DivergingName } from '../render/colormap';

export type HtmlStatus = 'pass' | 'fail' | 'error' | 'ok';

export interface HtmlImage {
  /** Relative to the HTML file (or a data: URI). Thumbnails made from it link to it. */
  src: string;
  alt?: string;
  /** Short text under the thumbnail (class, score). */
  caption?: string;
  /** Where the thumbnail links to; default `src` (the full-size file). */
  href?: string;
  /** Show enlarged pixels sharp (set for embedded thumbnails of small images). */
  pixelated?: boolean;
}

export interface HtmlRow {
  /** Usually the image file. */
  title: string;
  /** A second line under the title (case name, ...). */
  subtitle?: string;
  status?: HtmlStatus;
  images?: HtmlImage[];
  /** Values by column name (see HtmlReport.columns); numbers are shown with 3 decimals at most. */
  cells?: Record<string, string | number | boolean | null | undefined>;
  /** Extra lines shown in the row (failure reasons, errors). */
  notes?: string[];
  /** Other files to link (relative to the HTML file). */
  links?: { href: string; text: string }[];
}

export interface HtmlReport {
  title: string;
  /** Key/value lines under the title (model, method, backend, ...). */
  meta?: [string, string][];
  /** One line summing up (e.g. '12 checks: 11 passed, 1 failed'). */
  summary?: string;
  /** Cell columns, in order; default: every key used by a row's cells, in first-seen order. */
  columns?: string[];
  rows: HtmlRow[];
  /** Colour scales of the pictures, shown above the table (render/legend.ts). */
  legends?: Legend[];
}

export interface WriteHtmlOptions {
  /** 'embed' (default): thumbnails as data: URIs made from the files; 'link': <img src> is the file itself. */
  thumbnails?: 'embed' | 'link';
  /** Largest side of an embedded thumbnail in pixels (default 192; small images are not enlarged). */
  thumbSize?: number;
  /** Replace an existing file (default true). */
  overwrite?: boolean;
}

/** Escapes text for HTML, dropping the control characters HTML forbids (the reports of explain, evaluate, check and diff). */
export const escapeHtml = (s: string) =>
  s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
const esc = escapeHtml;

/** A relative path as a URL path (each segment percent-encoded, so '#', '?' and spaces in file names work). */
export function relHref(p: string): string {
  if (/^(data:|[a-z][a-z0-9+.-]*:)/i.test(p)) return p;
  return p.split(/[\\/]/).map(encodeURIComponent).join('/');
}

function cellText(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return v;
}

const STATUS_TEXT: Record<HtmlStatus, string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', ok: 'OK' };

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;font-size:14px;color:#1b1f24;background:#fff}
body{margin:1.5rem}
h1{font-size:1.4rem;margin:0 0 .4rem}
.meta{margin:0 0 .8rem;color:#444}
.meta span{margin-right:1.2rem;white-space:nowrap}
.meta b{font-weight:600}
.summary{font-weight:600;margin:.4rem 0 .8rem}
.controls{margin:.4rem 0 1rem}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #d8dee4;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f5f7;position:sticky;top:0}
td.num{font-variant-numeric:tabular-nums;text-align:right}
.status{display:inline-block;min-width:3.6em;text-align:center;font-weight:700;border-radius:4px;padding:.1rem .4rem;color:#fff}
.status.pass,.status.ok{background:#1a7f37}
.status.fail{background:#cf222e}
.status.error{background:#9a6700}
tr.fail td,tr.error td{background:#fff5f5}
figure{display:inline-block;margin:0 .5rem .3rem 0;text-align:center;vertical-align:top}
figure img{display:block;max-width:192px;max-height:192px;min-width:96px;image-rendering:auto;border:1px solid #d8dee4}
figure img.small{image-rendering:pixelated}
figcaption{font-size:.85rem;color:#444;max-width:192px;overflow-wrap:anywhere}
.title{font-family:ui-monospace,"DejaVu Sans Mono",monospace;overflow-wrap:anywhere}
.subtitle{color:#555;font-size:.9rem}
ul.notes{margin:.3rem 0 0;padding-left:1.1rem;color:#a40e26}
.links a{margin-right:.8rem}
.legends{margin:.2rem 0 .8rem;display:flex;flex-wrap:wrap;gap:.4rem 2rem}
.legends svg{display:block;max-width:100%;height:auto}
body.only-failures tr.pass,body.only-failures tr.ok{display:none}
`;

/** The page, as a string. Image sources and links are used as given (relative to where the page will be). */
export function renderHtmlReport(r: HtmlReport): string {
  const columns = r.columns ?? [...new Set(r.rows.flatMap((row) => Object.keys(row.cells ?? {})))];
  const hasStatus = r.rows.some((row) => row.status);
  const hasImages = r.rows.some((row) => row.images?.length);
  const counts = new Map<HtmlStatus, number>();
  for (const row of r.rows) if (row.status) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  const failing = (counts.get('fail') ?? 0) + (counts.get('error') ?? 0);

  const head = ['<th scope="col">#</th>', hasStatus ? '<th scope="col">Status</th>' : '', hasImages ? '<th scope="col">Overlay</th>' : '', '<th scope="col">Image</th>', ...columns.map((c) => `<th scope="col">${esc(c)}</th>`)].join('');
  const body = r.rows
    .map((row, i) => {
      const status = row.status ? `<td><span class="status ${row.status}">${STATUS_TEXT[row.status]}</span></td>` : hasStatus ? '<td></td>' : '';
      const figs = (row.images ?? [])
        .map((img) => {
          const src = relHref(img.src);
          const href = relHref(img.href ?? img.src);
          const alt = img.alt ?? img.caption ?? row.title;
          return `<figure><a href="${esc(href)}"><img${img.pixelated ? ' class="small"' : ''} src="${esc(src)}" alt="${esc(alt)}"></a>${img.caption ? `<figcaption>${esc(img.caption)}</figcaption>` : ''}</figure>`;
        })
        .join('');
      const images = hasImages ? `<td>${figs}</td>` : '';
      const notes = row.notes?.length ? `<ul class="notes">${row.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
      const links = row.links?.length ? `<div class="links">${row.links.map((l) => `<a href="${esc(relHref(l.href))}">${esc(l.text)}</a>`).join('')}</div>` : '';
      const title = `<td><div class="title">${esc(row.title)}</div>${row.subtitle ? `<div class="subtitle">${esc(row.subtitle)}</div>` : ''}${notes}${links}</td>`;
      const cells = columns
        .map((c) => {
          const v = row.cells?.[c];
          // A number already formatted by the caller (a probability as 1.000) is aligned as a number too.
          const numeric = typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
          return `<td${numeric ? ' class="num"' : ''}>${esc(cellText(v))}</td>`;
        })
        .join('');
      return `<tr class="${row.status ?? ''}"><td class="num">${i + 1}</td>${status}${images}${title}${cells}</tr>`;
    })
    .join('\n');
  const meta = r.meta?.length ? `<p class="meta">${r.meta.map(([k, v]) => `<span><b>${esc(k)}:</b> ${esc(v)}</span>`).join('')}</p>` : '';
  const summary = r.summary ? `<p class="summary">${esc(r.summary)}</p>` : '';
  const legends = r.legends?.length ? `<div class="legends" aria-label="colour scales">${r.legends.map((l) => legendSvg(l, { width: 420 })).join('')}</div>` : '';
  const controls =
    hasStatus && failing
      ? `<p class="controls"><label><input type="checkbox" id="only-failures"> show only failures (${failing})</label></p>`
      : '';
  const script = controls
    ? `<script>document.getElementById('only-failures').addEventListener('change',function(e){document.body.classList.toggle('only-failures',e.target.checked)});</script>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(r.title)}</h1>
${meta}
${summary}
${legends}
${controls}
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
${script}
</body>
</html>
`;
}

/** Thumbnail of an image file as a data: URI (PNG, aspect kept, never enlarged); null when the file cannot be read. */
async function thumbnail(file: string, size: number): Promise<{ uri: string; small: boolean } | null> {
  try {
    const buf = await fsp.readFile(file);
    const img = sharp(buf);
    const meta = await img.metadata();
    const small = Math.max(meta.width, meta.height) < 96;
    const fitted = img.resize(size, size, { fit: 'inside', withoutEnlargement: true });
    // Small images (digits, icons) stay PNG so their pixels stay sharp. Otherwise the smaller of PNG and JPEG:
    // photos become JPEGs of a few kB (instead of ~100 kB of PNG), charts and flat pictures (where JPEG saves less than 4x) stay crisp PNGs. The
    // page stays light and links the full-size files.
    const png = await fitted.clone().png({ compressionLevel: 9 }).toBuffer();
    if (small) return { uri: `data:image/png;base64,${png.toString('base64')}`, small };
    const jpg = await fitted.clone().flatten({ background: '#ffffff' }).jpeg({ quality: 75 }).toBuffer();
    return jpg.length * 4 < png.length ? { uri: `data:image/jpeg;base64,${jpg.toString('base64')}`, small } : { uri: `data:image/png;base64,${png.toString('base64')}`, small };
  } catch {
    return null;
  }
}

/** Writes the page atomically; with thumbnails 'embed', each image's thumbnail is embedded and links to the file. */
export async function writeHtmlReport(file: string, r: HtmlReport, opts: WriteHtmlOptions = {}): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  let report = r;
  if ((opts.thumbnails ?? 'embed') === 'embed') {
    const size = opts.thumbSize ?? 192;
    const rows: HtmlRow[] = [];
    for (const row of r.rows) {
      const images: HtmlImage[] = [];
      for (const img of row.images ?? []) {
        if (img.src.startsWith('data:')) {
          images.push(img);
          continue;
        }
        const t = await thumbnail(path.resolve(dir, img.src), size);
        images.push(t ? { ...img, src: t.uri, href: img.href ?? img.src, pixelated: img.pixelated ?? t.small } : img);
      }
      rows.push({ ...row, images });
    }
    report = { ...r, rows };
  }
  await makeDirs(dir);
  await writeFileAtomic(file, renderHtmlReport(report), { overwrite: opts.overwrite ?? true });
}

/**
 * The colour scales of an explain run's pictures, from its report: a heatmap scale when a map was drawn as a
 * heatmap, a signed one when one was drawn signed, the gradient images' when one was drawn so.
 */
export function explainLegends(report: ExplainReport): Legend[] {
  const mode = (report.output.render ?? 'heatmap') as RenderMode;
  const drawn = new Set<Drawing>((report.methods ?? []).map((m) => drawingOf(m, mode)));
  const colormap = (COLORMAPS as string[]).includes(report.output.colormap) ? (report.output.colormap as ColormapName) : 'jet';
  const signed = (DIVERGING_COLORMAPS as string[]).includes(report.output.signedColormap ?? '') ? (report.output.signedColormap as DivergingName) : 'bwr';
  const legends: Legend[] = [];
  if (drawn.has('heatmap')) legends.push(heatmapLegend(colormap));
  if (drawn.has('signed')) legends.push(signedLegend(signed, { outlierPercent: report.output.outlierPercent }));
  if (drawn.has('gradient')) legends.push(gradientLegend());
  return legends;
}

/**
 * Rows for an explain report: one per image, a thumbnail per explained class. `base`: the folder the report's image
 * paths are relative to (the run's working folder; for merge, the shards', which need not be merge's own).
 */
export function explainHtml(report: ExplainReport, title = 'tfjs-cam explain', base = process.cwd()): HtmlReport {
  const s = report.summary;
  return {
    title,
    legends: explainLegends(report),
    meta: [
      ['model', report.model.source],
      ['method', report.method],
      ['layers', report.layers.join(', ')],
      ['backend', report.backend],
    ],
    summary: `${s.images} image${s.images === 1 ? '' : 's'}: ${s.succeeded} explained, ${s.failed} failed`,
    columns: ['size', 'top class', 'probability'],
    rows: report.images.map((img) => {
      const top = img.top?.[0];
      const several = new Set((img.maps ?? []).map((m) => m.method)).size > 1;
      const original = report.output.dir ? path.relative(report.output.dir, path.resolve(base, img.file)).split(path.sep).join('/') : null;
      return {
        title: img.file,
        links: original && img.status === 'ok' ? [{ href: original, text: 'original image' }] : undefined,
        status: img.status === 'ok' ? 'ok' : 'error',
        images: (img.maps ?? [])
          .filter((m) => m.files.overlay)
          .map((m) => {
            const p = m.class ? img.top?.find((t) => t.index === m.class!.index)?.probability : undefined;
            const label = m.class?.label ?? m.target?.label ?? '';
            return { src: m.files.overlay!, caption: `${several ? `${m.method}: ` : ''}${label}${p != null ? ` ${(p * 100).toFixed(1)}%` : ''}${m.flat ? ' (flat)' : ''}`, alt: `${m.method} map for ${label}` };
          }),
        // three decimals always: 1.000 beside 0.921, not 1
        cells: { size: img.width ? `${img.width}x${img.height}` : '', 'top class': top?.label, probability: top?.probability == null ? undefined : top.probability.toFixed(3) },
        notes: img.error ? [img.error] : undefined,
      };
    }),
  };
}

/** Rows for an evaluation: one per method with its scores, and the deletion/insertion curves. */
export function evaluateHtml(report: EvaluateReport, title = 'tfjs-cam evaluate'): HtmlReport {
  const pct = (v: number | null | undefined) => (v == null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
  const pct100 = (v: number | null | undefined) => (v == null ? 'n/a' : `${v.toFixed(1)}%`);
  return {
    title,
    meta: [
      ['model', `${report.model.source}${report.model.weightsShuffled != null ? ` (weights shuffled, seed ${report.model.weightsShuffled})` : ''}`],
      ['layers', report.layers.join(', ')],
      ...(report.target ? [['target', `${report.target.spec} (${report.target.label})`] as [string, string]] : []),
      ['boxes', report.boxes],
      ['backend', report.backend],
    ],
    summary: `${report.images.evaluated} images evaluated, ${report.images.failed} failed; top-1 accuracy ${pct(report.images.top1Accuracy)}`,
    columns: ['pointing', 'energy', 'loc', 'top1-loc', 'avg drop', 'incr conf', 'deletion', 'insertion', 'road-morf', 'road-lerf', 'road', 'complexity', 'coherency', 'adcc', ...(report.settings.road ? ['arcc'] : [])],
    rows: [
      ...report.methods.map((m) => ({
        title: m.method,
        status: 'ok' as const,
        cells: {
          pointing: pct(m.pointingGame),
          energy: pct(m.energyInBox),
          loc: pct(m.localisation),
          'top1-loc': pct(m.top1Localisation),
          'avg drop': pct100(m.averageDrop),
          'incr conf': pct100(m.increaseInConfidence),
          deletion: m.deletionAuc ?? 'n/a',
          insertion: m.insertionAuc ?? 'n/a',
          'road-morf': m.roadMorf ?? 'n/a',
          'road-lerf': m.roadLerf ?? 'n/a',
          road: m.roadCombined ?? 'n/a',
          complexity: m.complexity ?? 'n/a',
          coherency: m.coherency ?? 'n/a',
          adcc: m.adcc ?? 'n/a',
          ...(report.settings.road ? { arcc: m.arcc ?? 'n/a' } : {}),
        },
      })),
      ...(report.files?.curves ? [{ title: report.settings.road ? 'deletion, insertion and ROAD curves' : 'deletion and insertion curves', images: [{ src: report.files.curves, caption: 'mean class probability', alt: 'deletion, insertion and ROAD curves' }] }] : []),
      ...report.images.errors.map((e) => ({ title: e.file, status: 'error' as const, notes: [e.error] })),
    ],
  };
}
