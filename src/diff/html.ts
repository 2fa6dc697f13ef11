/**
 * `diff --html`: one self-contained page (<out>/index.html) with a row per image and compared map, worst first:
 * base | head | difference overlays side by side (thumbnails embedded, linking to the full-size files), the numbers,
 * and every column sortable by a click on its header. Works offline: styles, script and thumbnails are inline.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { escapeHtml as esc, relHref } from '../report/html';
import { makeDirs, writeFileAtomic } from '../report/files';
import type { DiffComparison, DiffImage, DiffReport } from './report';
import { worstFirst } from './verdict';

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;font-size:14px;color:#1b1f24;background:#fff}
body{margin:1.5rem}
h1{font-size:1.4rem;margin:0 0 .4rem}
.meta{margin:0 0 .8rem;color:#444}
.meta span{margin-right:1.2rem;white-space:nowrap}
.meta b{font-weight:600}
.summary{font-weight:600;margin:.4rem 0 .8rem}
.legend{color:#444;margin:.2rem 0 .8rem}
.legend i{display:inline-block;width:.9em;height:.9em;vertical-align:middle;margin:0 .2em}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #d8dee4;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f5f7;position:sticky;top:0;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
td.num{font-variant-numeric:tabular-nums;text-align:right}
.status{display:inline-block;min-width:3.6em;text-align:center;font-weight:700;border-radius:4px;padding:.1rem .4rem;color:#fff}
.status.pass{background:#1a7f37}
.status.fail{background:#cf222e}
.status.error{background:#9a6700}
tr.fail td,tr.error td{background:#fff5f5}
figure{display:inline-block;margin:0 .4rem .3rem 0;text-align:center;vertical-align:top}
td.pics{white-space:nowrap}
figure img{display:block;max-width:128px;max-height:128px;min-width:64px;border:1px solid #d8dee4}
figure img.small{image-rendering:pixelated}
figcaption{font-size:.85rem;color:#444}
.title{font-family:ui-monospace,"DejaVu Sans Mono",monospace;overflow-wrap:anywhere}
.subtitle{color:#555;font-size:.9rem}
ul.notes{margin:.3rem 0 0;padding-left:1.1rem;color:#a40e26}
`;

// Click a header: sort by its column (numbers as numbers, empty cells last), again: the other way.
const SCRIPT = `(function(){var t=document.querySelector('table.diff'),b=t.tBodies[0];
t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
var asc=th.getAttribute('aria-sort')!=='ascending';t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});
th.setAttribute('aria-sort',asc?'ascending':'descending');
var rows=Array.prototype.slice.call(b.rows);rows.sort(function(x,y){
var a=x.cells[i].getAttribute('data-v'),c=y.cells[i].getAttribute('data-v');
if(a===''&&c==='')return 0;if(a==='')return 1;if(c==='')return -1;
var na=Number(a),nc=Number(c),r=(!isNaN(na)&&!isNaN(nc))?na-nc:a<c?-1:a>c?1:0;return asc?r:-r});
rows.forEach(function(r){b.appendChild(r)})})})})();`;

export interface DiffThumb {
  uri: string;
  small: boolean;
}

const fmt = (v: number | null | undefined, d = 3) => (v == null ? '' : v.toFixed(d).replace(/\.?0+$/, '') || '0');

function cell(text: string, sortValue: string | number | null | undefined, numeric = false): string {
  const v = sortValue == null || (typeof sortValue === 'number' && !Number.isFinite(sortValue)) ? '' : String(sortValue);
  return `<td${numeric ? ' class="num"' : ''} data-v="${esc(v)}">${esc(text)}</td>`;
}

/** The page as a string; `thumbs` maps an overlay's path (relative to the page) to its embedded thumbnail. */
export function renderDiffHtml(report: DiffReport, thumbs: Map<string, DiffThumb> = new Map(), title = 'tfjs-cam diff'): string {
  const s = report.summary;
  const t = report.thresholds;
  const given = [
    t.minCorrelation !== undefined ? `correlation >= ${t.minCorrelation}` : '',
    t.maxPeakShift !== undefined ? `peak shift <= ${(t.maxPeakShift * 100).toFixed(1)}% of the diagonal` : '',
    t.maxPeakShiftPx !== undefined ? `peak shift <= ${t.maxPeakShiftPx} px` : '',
    t.maxProbabilityDrop !== undefined ? `probability drop <= ${t.maxProbabilityDrop}` : '',
    t.maxFlips !== undefined ? `top-1 flips <= ${t.maxFlips}` : '',
  ].filter(Boolean);
  const meta: [string, string][] = [
    ['base', `${report.base.source} (${report.base.layers.join(', ')})`],
    ['head', `${report.head.source} (${report.head.layers.join(', ')})`],
    ['method', report.methods.join(', ')],
    ['classes', report.compared.kind === 'base-top-1' ? "the base's top-1" : report.compared.targets.join(', ')],
    ['backend', report.backend],
    ['thresholds', given.length ? given.join(', ') : 'none'],
  ];
  const heads = ['#', 'Status', 'base | head | difference', 'Image', 'Class', 'Method', 'Correlation', 'IoU', 'Peak shift (px)', 'Peak shift (%)', 'Δ probability', 'Base top-1', 'Head top-1', 'Flip'];
  const rank = { error: 0, fail: 1, pass: 2 } as const;
  const rows: string[] = [];
  let n = 0;
  const figure = (src: string | undefined, caption: string) => {
    if (!src) return '';
    const th = thumbs.get(src);
    return `<figure><a href="${esc(relHref(src))}"><img${th?.small ? ' class="small"' : ''} src="${esc(th ? th.uri : relHref(src))}" alt="${esc(`${caption} overlay`)}"></a><figcaption>${esc(caption)}</figcaption></figure>`;
  };
  const row = (img: DiffImage, c: DiffComparison | null) => {
    n++;
    const status = c ? (c.status === 'fail' || (img.failures?.length ?? 0) > 0 ? 'fail' : 'pass') : 'error';
    const notes = [...(c?.failures ?? []).map((f) => f.message), ...(img.failures ?? []).map((f) => f.message), ...(img.error ? [img.error] : []), ...(img.warnings ?? [])];
    const bt = img.base?.top[0];
    const ht = img.head?.top[0];
    const pics = c?.files ? figure(c.files.base, 'base') + figure(c.files.head, 'head') + figure(c.files.difference, 'difference') : '';
    rows.push(
      `<tr class="${status}">` +
        cell(String(n), n, true) +
        `<td data-v="${rank[status]}"><span class="status ${status}">${status.toUpperCase()}</span></td>` +
        `<td class="pics" data-v="">${pics}</td>` +
        `<td data-v="${esc(img.file)}"><div class="title">${esc(img.file)}</div>${img.width ? `<div class="subtitle">${img.width}x${img.height}</div>` : ''}${notes.length ? `<ul class="notes">${notes.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}</td>` +
        cell(c?.class?.label ?? c?.target?.label ?? '', c?.class?.label ?? c?.target?.label) +
        cell(c?.method ?? '', c?.method) +
        cell(fmt(c?.correlation, 4), c?.correlation, true) +
        cell(fmt(c?.iou), c?.iou, true) +
        cell(c?.peakShift ? fmt(c.peakShift.px, 1) : '', c?.peakShift?.px, true) +
        cell(c?.peakShift ? `${(c.peakShift.share * 100).toFixed(1)}%` : '', c?.peakShift?.share, true) +
        cell(c ? `${c.probabilityChange >= 0 ? '+' : ''}${fmt(c.probabilityChange)}` : '', c?.probabilityChange, true) +
        cell(bt ? `${bt.label} ${(bt.probability * 100).toFixed(1)}%` : '', bt?.label) +
        cell(ht ? `${ht.label} ${(ht.probability * 100).toFixed(1)}%` : '', ht?.label) +
        cell(img.flipped ? 'yes' : img.status === 'error' ? '' : 'no', img.status === 'error' ? null : img.flipped ? 1 : 0) +
        '</tr>',
    );
  };
  for (const img of worstFirst(report.images)) {
    if (img.status === 'error' || !img.comparisons?.length) row(img, null);
    else for (const c of img.comparisons) row(img, c);
  }
  const summary = `${s.images} image${s.images === 1 ? '' : 's'}: ${s.passed} passed, ${s.failed} failed${s.errors ? `, ${s.errors} errors` : ''}; correlation min ${fmt(s.minCorrelation, 4)}, mean ${fmt(s.meanCorrelation, 4)}; ${s.flips} top-1 flip${s.flips === 1 ? '' : 's'}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">${meta.map(([k, v]) => `<span><b>${esc(k)}:</b> ${esc(v)}</span>`).join('')}</p>
<p class="summary">${esc(summary)}</p>
${(report.notes ?? []).map((x) => `<p class="legend">note: ${esc(x)}</p>`).join('\n')}
<p class="legend">difference = head map - base map on the image: <i style="background:rgb(220,20,20)"></i>the head looks more <i style="background:rgb(20,70,230)"></i>the head looks less; grey: no change. Click a column header to sort.</p>
<table class="diff">
<thead><tr>${heads.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** A thumbnail of an overlay file as a data: URI (aspect kept, never enlarged); null when it cannot be read. */
async function thumbnail(file: string, size: number): Promise<DiffThumb | null> {
  try {
    const buf = await fsp.readFile(file);
    const img = sharp(buf);
    const meta = await img.metadata();
    const small = Math.max(meta.width, meta.height) < 96;
    const fitted = img.resize(size, size, { fit: 'inside', withoutEnlargement: true });
    const png = await fitted.clone().png({ compressionLevel: 9 }).toBuffer();
    if (small) return { uri: `data:image/png;base64,${png.toString('base64')}`, small };
    const jpg = await fitted.clone().jpeg({ quality: 80 }).toBuffer();
    return jpg.length * 4 < png.length ? { uri: `data:image/jpeg;base64,${jpg.toString('base64')}`, small } : { uri: `data:image/png;base64,${png.toString('base64')}`, small };
  } catch {
    return null;
  }
}

/** Writes the page at `file`, its overlays' thumbnails embedded (paths in the report are relative to report.output.dir). */
export async function writeDiffHtml(file: string, report: DiffReport): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const thumbs = new Map<string, DiffThumb>();
  const base = report.output.dir ?? dir;
  for (const img of report.images) {
    for (const c of img.comparisons ?? []) {
      if (!c.files) continue;
      for (const rel of [c.files.base, c.files.head, c.files.difference]) {
        const t = await thumbnail(path.resolve(base, rel), 128);
        if (t) thumbs.set(rel, t);
      }
    }
  }
  await makeDirs(dir);
  await writeFileAtomic(file, renderDiffHtml(report, thumbs), { overwrite: true });
}
