/** `tfjs-cam check SPEC`: run attention checks, print a table, write JUnit / JSON / HTML; exit 0 pass, 1 fail, 2 spec error. */
import * as path from 'path';
import { check, CheckReport, CheckResult } from '../check/run';
import { SpecError, formatIssue } from '../check/spec';
import { toJUnit } from '../check/junit';
import { checkHtml, checkNumber } from '../check/html';
import { writeHtmlReport } from '../report/html';
import { ensureDir, writeFileAtomic } from '../report/files';
import { ColormapName } from '../render/colormap';
import { UsageError } from '../util/errors';
import { out, err, printable, Progress } from './output';
import { EXIT } from './exit-codes';
import { exitCleanlyOnInterrupt, reportError } from './errors';
import { parseIntFlag } from './flags';


/** The results as an aligned text table, failure reasons indented under their row. */
export function formatTable(report: CheckReport, opts: { quiet?: boolean; color?: typeof out } = {}): string {
  const c = opts.color ?? out;
  const shown = report.results.filter((r) => !opts.quiet || r.status !== 'pass');
  // A spec with a `diff` baseline adds the correlation with the baseline's map.
  const withDiff = report.results.some((r) => r.diff);
  const head = ['STATUS', 'CASE', 'IMAGE', 'METHOD', 'CLASS', 'PROB', 'RANK', 'POINT', 'INSIDE', 'IOU', ...(withDiff ? ['CORR'] : [])];
  if (!shown.length) return '';
  const rows = shown.map((r) => [
    r.status.toUpperCase(),
    printable(r.caseName),
    printable(r.file),
    r.method,
    printable(r.class?.label ?? r.target?.label ?? ''),
    checkNumber(r.probability),
    r.rank === undefined ? '' : String(r.rank),
    r.region ? (r.region.pointingHit ? 'hit' : 'miss') : '',
    checkNumber(r.region?.inside),
    checkNumber(r.region?.iou),
    ...(withDiff ? [checkNumber(r.diff?.correlation)] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  const lines = [line(head)];
  shown.forEach((r: CheckResult, i) => {
    const text = line(rows[i]);
    const paint = r.status === 'pass' ? c.green : r.status === 'fail' ? c.red : c.yellow;
    lines.push(paint(text.slice(0, widths[0])) + text.slice(widths[0]));
    for (const why of reasonsOf(r)) lines.push(`        - ${printable(why)}`);
    if (r.overlay && r.status !== 'pass' && report.output.dir) lines.push(`        overlay: ${printable(path.relative(process.cwd(), path.join(report.output.dir, r.overlay)))}`);
  });
  return lines.join('\n') + '\n';
}

const reasonsOf = (r: CheckResult) => (r.status === 'error' ? [r.error ?? 'error'] : r.failures.map((f) => f.message));

/** Under --json (the report alone on stdout): each failing or erroring check as one line for stderr. */
export function failLines(report: CheckReport, color: typeof out = err): string {
  return report.results
    .filter((r) => r.status !== 'pass')
    .map((r) => `${color.red(r.status === 'error' ? 'ERROR' : 'FAIL')} ${printable(r.caseName)} ${printable(r.file)} (${r.method}): ${reasonsOf(r).map(printable).join('; ')}\n`)
    .join('');
}

export async function runCheck(specFile: string, o: Record<string, unknown>): Promise<number> {
  const debug = !!process.env.TFJS_CAM_DEBUG;
  const stopHandling = exitCleanlyOnInterrupt('', EXIT.INTERRUPTED);
  try {
    const alpha = Number(o.alpha ?? 0.5);
    if (!(alpha >= 0 && alpha <= 1)) throw new UsageError(`--alpha must be between 0 and 1 (got '${o.alpha}')`);
    const json = !!o.json;
    const html = !!o.html;
    const outDir = path.resolve(String(o.out ?? 'cam-check'));
    const overlays = (o.overlays as 'failed' | 'all' | 'none' | undefined) ?? (html ? 'all' : 'failed');
    if (html && overlays === 'none') throw new UsageError('--html needs overlays: drop --overlays none');
    let progress: Progress | null = null;
    const report = await check(specFile, {
      backend: o.backend as never,
      threads: o.threads == null ? undefined : parseIntFlag(o.threads, '--threads', 1),
      out: outDir,
      overlays,
      colormap: (o.colormap as ColormapName | undefined) ?? 'jet',
      alpha,
      target: o.target as string | undefined,
      timings: o.timings !== false,
      onResult: (done, total, r) => {
        progress ??= new Progress(total);
        progress.tick(done, r.file);
      },
    });
    (progress as Progress | null)?.done();
    if (o.junit) {
      const file = path.resolve(String(o.junit));
      await ensureDir(path.dirname(file));
      await writeFileAtomic(file, toJUnit(report), { overwrite: true });
    }
    let htmlFile: string | null = null;
    if (html) {
      await ensureDir(outDir);
      htmlFile = path.join(outDir, 'index.html');
      await writeHtmlReport(htmlFile, checkHtml(report));
    }
    if (json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      process.stderr.write(failLines(report));
    } else process.stdout.write(formatTable(report, { quiet: !!o.quiet }));
    const s = report.summary;
    const secs = report.timings ? ` in ${(report.timings.totalMs / 1000).toFixed(1)} s` : '';
    const failing = s.failed + s.errors;
    const wrote = [
      failing && overlays !== 'none' ? `failure overlays in ${printable(path.relative(process.cwd(), outDir) || '.')}` : '',
      htmlFile ? `report ${printable(path.relative(process.cwd(), htmlFile))}` : '',
      o.junit ? `JUnit ${printable(String(o.junit))}` : '',
    ].filter(Boolean);
    const line = `${s.checks} check${s.checks === 1 ? '' : 's'} in ${s.cases} case${s.cases === 1 ? '' : 's'}: ${s.passed} passed, ${s.failed} failed${s.errors ? `, ${s.errors} errors` : ''}${secs} (${report.backend})${wrote.length ? `; ${wrote.join(', ')}` : ''}`;
    const stream = json ? process.stderr : process.stdout;
    const color = json ? err : out;
    stream.write((failing ? color.red(line) : color.green(line)) + '\n');
    if (s.checks === 0) return EXIT.FAILED;
    return failing ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    if (e instanceof SpecError) {
      for (const i of e.issues) process.stderr.write(err.red(`tfjs-cam: error: ${printable(formatIssue(i))}`) + '\n');
      return EXIT.USAGE;
    }
    return reportError(e, debug);
  } finally {
    stopHandling();
  }
}
