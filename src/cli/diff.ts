/** `tfjs-cam diff`: flags -> diff() -> table (worst first), JSON, JUnit, HTML; exit 0 all hold, 1 any fails, 2 usage. */
import * as path from 'path';
// TensorFlow.js, sharp and the models load only once the flags are read: a usage error answers at once.
import type { DiffOptions } from '../pipeline/diff';
import type { DiffImage, DiffReport, DiffThresholds } from '../diff/report';
import { checkThresholds, hasThresholds, parsePeakShift, worstFirst } from '../diff/verdict';
import { ensureDir, writeFileAtomic } from '../report/files';
import type { ColormapName } from '../render/colormap';
import { parseShard } from '../batch/shard';
import { UsageError } from '../util/errors';
import { out, err, Progress } from './output';
import { EXIT } from './exit-codes';
import { exitCleanlyOnInterrupt, reportError } from './errors';

function parseIntFlag(v: unknown, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be a whole number >= ${min} (got '${v}')`);
  return n;
}

const FLAG: Record<keyof DiffThresholds, string> = {
  minCorrelation: '--min-correlation',
  maxPeakShift: '--max-peak-shift',
  maxPeakShiftPx: '--max-peak-shift',
  maxFlips: '--max-flips',
  maxProbabilityDrop: '--max-probability-drop',
};

/** The thresholds from the flags, each checked (out of range: one line, exit 2). */
export function thresholdsFromFlags(o: Record<string, unknown>): DiffThresholds {
  const number = (v: unknown, flag: string, what: string) => {
    const s = String(v).trim();
    const n = s === '' ? NaN : Number(s);
    if (!Number.isFinite(n)) throw new UsageError(`${flag} must be ${what} (got '${String(v)}')`);
    return n;
  };
  const t: DiffThresholds = {};
  if (o.minCorrelation != null) t.minCorrelation = number(o.minCorrelation, '--min-correlation', 'a number from -1 to 1');
  if (o.maxPeakShift != null) Object.assign(t, parsePeakShift(String(o.maxPeakShift)));
  if (o.maxFlips != null) t.maxFlips = number(o.maxFlips, '--max-flips', 'a whole number >= 0');
  if (o.maxProbabilityDrop != null) t.maxProbabilityDrop = number(o.maxProbabilityDrop, '--max-probability-drop', 'a number from 0 to 1');
  return checkThresholds(t, (k) => FLAG[k]);
}

const num = (v: number | null | undefined, d = 3) => (v == null ? '' : v.toFixed(d));
/** +0.012, -0.250, and 0.000 for what rounds to zero (never '-0.000'). */
const signed = (v: number) => (Math.abs(v) < 0.0005 ? '0.000' : `${v > 0 ? '+' : ''}${v.toFixed(3)}`);

/** The comparisons as an aligned text table, worst image first, failure reasons indented under their row. */
export function formatDiffTable(report: DiffReport, opts: { quiet?: boolean; color?: typeof out } = {}): string {
  const c = opts.color ?? out;
  const head = ['STATUS', 'IMAGE', 'CLASS', 'METHOD', 'CORR', 'IOU', 'SHIFT', 'DPROB', 'TOP-1 BASE -> HEAD'];
  const shown = worstFirst(report.images).filter((i) => !opts.quiet || i.status !== 'pass');
  if (!shown.length) return '';
  const rows: { img: DiffImage; cells: string[]; reasons: string[] }[] = [];
  const rel = (f: string) => (path.isAbsolute(f) ? path.relative(process.cwd(), f) || f : f);
  for (const img of shown) {
    if (img.status === 'error' || !img.comparisons?.length) {
      rows.push({ img, cells: ['ERROR', rel(img.file), '', '', '', '', '', '', ''], reasons: [img.error ?? 'error'] });
      continue;
    }
    const bt = img.base?.top[0];
    const ht = img.head?.top[0];
    const top1 = bt && ht ? (img.flipped ? `${bt.label} -> ${ht.label} (flip)` : bt.label) : '';
    img.comparisons.forEach((cmp, k) => {
      const failing = cmp.status === 'fail' || (k === 0 && (img.failures?.length ?? 0) > 0);
      rows.push({
        img,
        cells: [
          failing ? 'FAIL' : 'PASS',
          rel(img.file),
          cmp.class?.label ?? cmp.target?.label ?? '',
          cmp.method,
          num(cmp.correlation, 4),
          num(cmp.iou),
          cmp.peakShift ? `${cmp.peakShift.px.toFixed(1)}px ${(cmp.peakShift.share * 100).toFixed(1)}%` : cmp.base.flat || cmp.head.flat ? 'flat' : '',
          signed(cmp.probabilityChange),
          top1,
        ],
        reasons: [...cmp.failures.map((f) => f.message), ...(k === 0 ? (img.failures ?? []).map((f) => f.message) : [])],
      });
    });
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i].length)));
  const line = (cells: string[]) => cells.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  const lines = [line(head)];
  for (const r of rows) {
    const text = line(r.cells);
    const status = r.cells[0];
    const paint = status === 'PASS' ? c.green : status === 'FAIL' ? c.red : c.yellow;
    lines.push(paint(text.slice(0, widths[0])) + text.slice(widths[0]));
    for (const why of r.reasons) lines.push(`        - ${why}`);
  }
  return lines.join('\n') + '\n';
}

export async function runDiff(images: string[], o: Record<string, unknown>): Promise<number> {
  const debug = !!process.env.TFJS_CAM_DEBUG;
  const stopHandling = exitCleanlyOnInterrupt('', EXIT.INTERRUPTED);
  try {
    const alpha = Number(o.alpha ?? 0.5);
    if (!(alpha >= 0 && alpha <= 1)) throw new UsageError(`--alpha must be between 0 and 1 (got '${o.alpha}')`);
    const thresholds = thresholdsFromFlags(o);
    const json = !!o.json;
    const html = !!o.html;
    const outDir = path.resolve(String(o.out ?? 'cam-diff'));
    let progress: Progress | null = null;
    const opts: DiffOptions = {
      base: String(o.base),
      head: String(o.head),
      backend: o.backend as DiffOptions['backend'],
      threads: o.threads == null ? undefined : parseIntFlag(o.threads, '--threads', 1),
      method: o.method as string | undefined,
      layers: o.layer as string[] | undefined,
      baseLayers: o.baseLayer as string[] | undefined,
      headLayers: o.headLayer as string[] | undefined,
      classes: o.class as string[] | undefined,
      targets: o.target as string[] | undefined,
      topK: parseIntFlag(o.topK ?? 3, '--top-k', 1),
      score: o.score as DiffOptions['score'],
      thresholds,
      out: html ? outDir : null,
      overlays: html,
      colormap: (o.colormap as ColormapName | undefined) ?? 'jet',
      alpha,
      jobs: o.jobs == null ? 1 : parseIntFlag(o.jobs, '--jobs', 1),
      shard: o.shard == null ? undefined : parseShard(String(o.shard)),
      timings: o.timings !== false,
      onImage: (done, total, img) => {
        progress ??= new Progress(total);
        progress.tick(done, img.file);
      },
    };
    const { diff } = await import('../pipeline/diff');
    const report = await diff(images, opts);
    (progress as Progress | null)?.done();
    if (o.junit) {
      const file = path.resolve(String(o.junit));
      await ensureDir(path.dirname(file));
      const { diffToJUnit } = await import('../diff/junit');
      await writeFileAtomic(file, diffToJUnit(report), { overwrite: true });
    }
    let htmlFile: string | null = null;
    if (html) {
      const { writeDiffHtml } = await import('../diff/html');
      await ensureDir(outDir);
      htmlFile = path.join(outDir, 'index.html');
      await writeDiffHtml(htmlFile, report);
    }
    if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(formatDiffTable(report, { quiet: !!o.quiet }));
    for (const note of report.notes ?? []) process.stderr.write(`note: ${note}\n`);
    const s = report.summary;
    const judged = hasThresholds(thresholds);
    const secs = report.timings ? ` in ${(report.timings.totalMs / 1000).toFixed(1)} s` : '';
    const wrote = [htmlFile ? `report ${path.relative(process.cwd(), htmlFile)}` : '', o.junit ? `JUnit ${String(o.junit)}` : ''].filter(Boolean);
    const corr = s.meanCorrelation == null ? '' : `; correlation min ${num(s.minCorrelation, 4)}, mean ${num(s.meanCorrelation, 4)}`;
    const verdict = judged ? `${s.passed} passed, ${s.failed} failed` : `${s.compared} compared (no thresholds: nothing judged)`;
    const part = report.shard ? ` (shard ${report.shard.index}/${report.shard.count} of ${report.shard.inputs})` : '';
    const line = `${s.images} image${s.images === 1 ? '' : 's'}${part}: ${verdict}${s.errors ? `, ${s.errors} error${s.errors === 1 ? '' : 's'}` : ''}${corr}; ${s.flips} top-1 flip${s.flips === 1 ? '' : 's'}${secs} (${report.methods.join(', ')} on ${report.backend})${wrote.length ? `; ${wrote.join(', ')}` : ''}`;
    const failing = s.failed + s.errors;
    const stream = json ? process.stderr : process.stdout;
    const color = json ? err : out;
    stream.write((failing ? color.red(line) : color.green(line)) + '\n');
    if (s.images === 0) return EXIT.FAILED;
    return failing ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    return reportError(e, debug);
  } finally {
    stopHandling();
  }
}
