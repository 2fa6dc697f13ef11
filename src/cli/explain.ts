/** `tfjs-cam explain`: flags -> explain() -> lines, summary, exit code. */
import * as path from 'path';
import { explain, ExplainOptions } from '../pipeline/explain';
import { UsageError } from '../util/errors';
import { out, err, printable, Progress } from './output';
import { finerCompareFlag, methodOptionsFromFlags, parseIntFlag, preprocessFromFlags } from './flags';
import { EXIT } from './exit-codes';
import { ColormapName } from '../render/colormap';
import { exitCleanlyOnInterrupt, reportError } from './errors';
import { ReportImage } from '../report/schema';
import { parseShard } from '../batch/shard';

function qualityFlag(v: unknown, format: unknown): number {
  if (format !== 'jpeg' && format !== 'webp') throw new UsageError('--quality applies to --format jpeg or webp');
  const q = parseIntFlag(v, '--quality', 1);
  if (q > 100) throw new UsageError(`--quality must be a whole number from 1 to 100 (got '${v}')`);
  return q;
}

/** --max-size: 0 (the image's own size) or at least 16 pixels. */
function maxSizeFlag(v: unknown): number {
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isInteger(n) || (n !== 0 && n < 16)) throw new UsageError(`--max-size must be 0 (the image's own size) or a whole number >= 16 (got '${v}')`);
  return n;
}

/** --outlier-percent: 0 <= p < 100 (100 would saturate everything). */
function outlierPercentFlag(v: unknown): number | undefined {
  if (v == null) return undefined;
  const n = Number(v);
  if (String(v).trim() === '' || !(n >= 0 && n < 100)) throw new UsageError(`--outlier-percent must be a number from 0 up to (not including) 100 (got '${v}')`);
  return n;
}

/** `ok   file: dog (54.1%), cat (12.0%) [flat scorecam map]`: each class once, whatever the number of methods. */
function describe(img: ReportImage): string {
  if (img.status === 'error') return `${err.red('FAIL')} ${printable(img.file)}: ${printable(img.error ?? 'error')}`;
  const maps = img.maps ?? [];
  const key = (m: (typeof maps)[number]) => m.target?.spec ?? `class:${m.class?.index}`;
  const order = [...new Set(maps.map(key))];
  const classes = order.map((k) => {
    const mine = maps.filter((m) => key(m) === k);
    const index = mine[0].class?.index;
    const p = index === undefined ? undefined : img.top?.find((t) => t.index === index)?.probability;
    const flat = mine.filter((m) => m.flat).map((m) => ` [flat ${m.method} map]`).join('');
    return `${printable(String(mine[0].class?.label ?? mine[0].target?.label))}${p != null && Number.isFinite(p) ? ` (${(p * 100).toFixed(1)}%)` : ''}${flat}`;
  });
  return `${out.green('ok')}   ${printable(img.file)}: ${classes.join(', ')}${(img.warnings ?? []).map((w) => ` [${printable(w)}]`).join('')}`;
}

export async function runExplain(images: string[], o: Record<string, unknown>): Promise<number> {
  const debug = !!process.env.TFJS_CAM_DEBUG;
  // Ctrl-C: stop at once. Finished outputs are whole (written by rename); files being written are removed.
  const stopHandling = exitCleanlyOnInterrupt('finished outputs were kept, nothing half-written is left', EXIT.INTERRUPTED);
  try {
    const alpha = Number(o.alpha);
    if (!(alpha >= 0 && alpha <= 1)) throw new UsageError(`--alpha must be between 0 and 1 (got '${o.alpha}')`);
    const json = !!o.json;
    const quiet = !!o.quiet;
    let progress: Progress | null = null;
    const opts: ExplainOptions = {
      model: String(o.model),
      backend: o.backend as ExplainOptions['backend'],
      threads: o.threads == null ? undefined : parseIntFlag(o.threads, '--threads', 1),
      method: o.method as string | undefined,
      layers: o.layer as string[] | undefined,
      topK: o.topK == null ? undefined : parseIntFlag(o.topK, '--top-k', 1),
      classes: o.class as string[] | undefined,
      targets: o.target as string[] | undefined,
      embeddingLayer: o.embeddingLayer as string | undefined,
      score: o.score as ExplainOptions['score'],
      labels: o.labels as string | undefined,
      preprocess: preprocessFromFlags(o),
      interpolation: o.interpolation as ExplainOptions['interpolation'],
      alignCorners: o.alignCorners ? true : undefined,
      out: String(o.out),
      colormap: o.colormap as ColormapName,
      alpha,
      heatmap: !!o.heatmap,
      render: o.render as ExplainOptions['render'],
      signedColormap: o.signedColormap as ExplainOptions['signedColormap'],
      outlierPercent: outlierPercentFlag(o.outlierPercent),
      legend: o.legend === 'below' ? 'below' : undefined,
      format: o.format as ExplainOptions['format'],
      quality: o.quality == null ? undefined : qualityFlag(o.quality, o.format),
      maxSize: o.maxSize == null ? undefined : maxSizeFlag(o.maxSize),
      saveRaw: !!o.saveRaw,
      saveInput: !!o.saveInput,
      force: !!o.force,
      resume: !!o.resume,
      shard: o.shard == null ? undefined : parseShard(String(o.shard)),
      jobs: o.jobs === 'auto' || o.jobs == null ? 'auto' : parseIntFlag(o.jobs, '--jobs', 1),
      augSmooth: !!o.augSmooth,
      aggregate: o.aggregate === 'product' ? 'product' : undefined,
      finerCompare: o.finerCompare == null ? undefined : finerCompareFlag(String(o.finerCompare)),
      baselineImage: typeof o.baseline === 'string' ? path.resolve(o.baseline) : undefined,
      sheet: o.sheet === false ? false : undefined,
      methodOptions: methodOptionsFromFlags(o, process.stderr.isTTY && !json),
      // Ctrl-C must stop a long Score-CAM at once: its synchronous work runs in a worker, this thread listens.
      isolateLongWork: true,
      timings: o.timings !== false,
      onImage: (done, total, img, resumed) => {
        progress ??= new Progress(total);
        progress.done();
        if (resumed) {
          if (!json && !quiet) process.stdout.write(`done ${printable(img.file)}: outputs from the earlier run kept\n`);
        } else if (img.status === 'error') {
          // A failure is one FAIL line on stderr in every mode: under --json too (stdout is the report's alone).
          process.stderr.write(describe(img) + '\n');
        } else if (!json && !quiet) process.stdout.write(describe(img) + '\n');
        progress.tick(done, img.file, !!resumed);
      },
    };
    const { report } = await explain(images, opts);
    (progress as Progress | null)?.done();
    if (o.html && report.output.dir) {
      const { writeHtmlReport, explainHtml } = await import('../report/html');
      await writeHtmlReport(path.join(report.output.dir, 'index.html'), explainHtml(report), { overwrite: !!o.force || !!o.resume });
    }
    if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    for (const note of report.notes ?? []) process.stderr.write(`note: ${printable(note)}\n`);
    const s = report.summary;
    const secs = report.timings ? ` in ${(report.timings.totalMs / 1000).toFixed(1)} s` : '';
    const where = report.output.dir && s.succeeded ? `; outputs in ${printable(report.output.dir)}` : '';
    const part = report.shard ? ` (shard ${report.shard.index}/${report.shard.count} of ${report.shard.inputs})` : '';
    const line = `${s.images} image${s.images === 1 ? '' : 's'}${part}: ${s.succeeded} explained, ${s.failed} failed${secs} (${report.methods.join(', ')} on ${report.backend})${where}`;
    (json ? process.stderr : process.stdout).write((s.failed ? err.yellow(line) : line) + '\n');
    return s.failed ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    return reportError(e, debug);
  } finally {
    stopHandling();
  }
}
