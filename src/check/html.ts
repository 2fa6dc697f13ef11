/** A check report as rows of the shared HTML report (src/report/html.ts). */
import type { HtmlReport } from '../report/html';
import type { CheckReport } from './run';
import { heatmapLegend } from '../render/legend';
import { COLORMAPS, type ColormapName } from '../render/colormap';

/**
 * Probabilities and shares as check shows them, in the console table and the HTML alike: three decimals always
 * (`1.000` beside `0.921`, never `1` beside `0.921`); empty where nothing was measured.
 */
export const checkNumber = (v: number | undefined | null): string => (v == null ? '' : v.toFixed(3));

export function checkHtml(report: CheckReport, title = 'tfjs-cam check'): HtmlReport {
  const s = report.summary;
  const colormap = (COLORMAPS as string[]).includes(report.output.colormap ?? '') ? (report.output.colormap as ColormapName) : 'jet';
  return {
    title,
    // The overlays' colour scale, whether or not any overlay was written (the checks measure the same maps).
    legends: [heatmapLegend(colormap)],
    meta: [
      ['spec', report.spec],
      ['backend', report.backend],
      ['measured in', 'model-input coordinates'],
    ],
    summary: `${s.checks} check${s.checks === 1 ? '' : 's'} in ${s.cases} case${s.cases === 1 ? '' : 's'}: ${s.passed} passed, ${s.failed} failed${s.errors ? `, ${s.errors} errors` : ''}`,
    columns: ['method', 'class', 'probability', 'rank', 'pointing', 'inside', 'IoU'],
    rows: report.results.map((r) => {
      return {
        title: r.file,
        subtitle: r.caseName,
        status: r.status,
        images: r.overlay ? [{ src: r.overlay, caption: r.class || r.target ? `${(r.class ?? r.target)!.label} ${checkNumber(r.probability ?? 0)}` : undefined, alt: `overlay for ${r.file}` }] : [],
        cells: {
          method: r.method,
          class: r.class?.label ?? r.target?.label,
          probability: checkNumber(r.probability),
          rank: r.rank,
          pointing: r.region ? (r.region.pointingHit ? 'hit' : 'miss') : undefined,
          inside: checkNumber(r.region?.inside),
          IoU: checkNumber(r.region?.iou),
        },
        notes: r.status === 'error' ? [r.error ?? 'error'] : r.failures.map((f) => f.message),
      };
    }),
  };
}
