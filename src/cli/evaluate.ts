/** `tfjs-cam evaluate`: flags -> evaluate() -> a table (or JSON), exit code. */
import * as path from 'path';
import { evaluate, EvaluateOptions, EvaluateReport } from '../pipeline/evaluate';
import { evaluateOnThread, EvaluateThread } from '../batch/evaluate-thread';
import { removeOwnTempFiles } from '../report/files';
import { methodOptionsFromFlags, parseIntFlag, parseNumberFlag, preprocessFromFlags } from './flags';
import { exitCleanlyOnInterrupt, reportError } from './errors';
import { err, printable, Progress } from './output';
import { EXIT } from './exit-codes';
import { UsageError } from '../util/errors';
import type { Interpolation } from '../image/fit';

/** n/a where nothing was measured (no image for the method, --no-faithfulness): never a 0.0% that reads as a score. */
const pct = (v: number | null | undefined) => (v == null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const num = (v: number | null | undefined, d = 3) => (v == null ? 'n/a' : v.toFixed(d));
const pct100 = (v: number | null | undefined) => (v == null ? 'n/a' : `${v.toFixed(1)}%`);

export function evaluationTable(r: EvaluateReport): string {
  // ARCC only where ROAD was measured: it is n/a on every row otherwise.
  const withArcc = r.settings.road != null;
  const head = ['method', 'pointing', 'energy', 'loc', 'top1-loc', 'avg drop', 'incr conf', 'deletion', 'insertion', 'road-morf', 'road-lerf', 'road', 'complexity', 'coherency', 'adcc', ...(withArcc ? ['arcc'] : [])];
  const rows = r.methods.map((m) => [
    m.method,
    pct(m.pointingGame),
    pct(m.energyInBox),
    pct(m.localisation),
    pct(m.top1Localisation),
    pct100(m.averageDrop),
    pct100(m.increaseInConfidence),
    num(m.deletionAuc),
    num(m.insertionAuc),
    num(m.roadMorf),
    num(m.roadLerf),
    num(m.roadCombined),
    num(m.complexity),
    num(m.coherency),
    num(m.adcc),
    ...(withArcc ? [num(m.arcc)] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(head), ...rows.map(fmt)].join('\n');
}

/** evaluate's --target: one target for every image (the maps of an image are measured against one score). */
function targetFlag(v: unknown): string | undefined {
  const all = (v as string[] | undefined) ?? [];
  if (all.length > 1) throw new UsageError(`evaluate takes one --target (got ${all.length}: ${all.join(' ')}): each image's maps are measured against one score`);
  return all[0];
}

export async function runEvaluate(images: string[], o: Record<string, unknown>): Promise<number> {
  // Ctrl-C: evaluate runs on a thread of its own (its passes are synchronous), so this thread answers at once: the
  // thread is stopped, what it was writing removed (finished files are whole: written by rename), exit 130.
  let thread: EvaluateThread | null = null;
  const outDir = path.resolve(String(o.out));
  const stopHandling = exitCleanlyOnInterrupt('finished outputs were kept, nothing half-written is left', EXIT.INTERRUPTED, {
    stop: async () => thread?.stop(),
    cleanup: () => void removeOwnTempFiles(outDir),
  });
  try {
    const json = !!o.json;
    let progress: Progress | null = null;
    const opts: EvaluateOptions = {
      model: String(o.model),
      backend: o.backend as 'auto',
      threads: o.threads == null ? undefined : parseIntFlag(o.threads, '--threads', 1),
      method: o.method as string | undefined,
      layers: o.layer as string[] | undefined,
      labels: o.labels as string | undefined,
      preprocess: preprocessFromFlags(o),
      interpolation: o.interpolation as Interpolation | undefined,
      alignCorners: o.alignCorners ? true : undefined,
      score: o.score as 'logit' | 'probability',
      boxes: String(o.boxes),
      tolerance: parseNumberFlag(o.tolerance, '--tolerance', 0),
      steps: parseIntFlag(o.steps, '--steps', 1),
      faithfulness: o.faithfulness !== false,
      road: o.road === true,
      arcc: o.arcc !== false,
      target: targetFlag(o.target),
      shuffleWeights: o.shuffleWeights == null ? undefined : parseIntFlag(o.shuffleWeights, '--shuffle-weights', 0),
      methodOptions: methodOptionsFromFlags(o, false),
      out: String(o.out),
      force: !!o.force,
      html: !!o.html,
      overlays: !!o.overlays,
      jobs: parseIntFlag(o.jobs, '--jobs', 1),
      onSkip: (kind, file, reason) => {
        progress?.done();
        const boxes = printable(String(o.boxes));
        const what = { missing: `has boxes in ${boxes} but there is no such image`, unboxed: `no entry in ${boxes}, not evaluated`, unusable: `${printable(reason ?? '')} (${boxes}); not evaluated` }[kind];
        process.stderr.write(`${err.yellow(kind === 'unboxed' ? 'skip' : kind)} ${printable(file)}: ${what}\n`);
      },
      onWarning: (file, message) => {
        progress?.done();
        process.stderr.write(`${err.yellow('warn')} ${printable(file)}: ${printable(message)} (${printable(String(o.boxes))})\n`);
      },
      // The bar (stderr on a TTY only, as explain's) is up from the first image and moves during its
      // faithfulness passes, which take most of the time.
      onProgress: (done, total, file, passes) => {
        progress ??= new Progress(total);
        progress.tick(done, passes ? `${file} (${passes.done}/${passes.total} passes)` : file);
      },
      onImage: (done, total, file, error) => {
        progress ??= new Progress(total);
        if (error) {
          progress.done();
          process.stderr.write(`${err.red('FAIL')} ${printable(file)}: ${printable(error)}\n`);
        }
        progress.tick(done, file);
      },
    };
    thread = evaluateOnThread(images, opts);
    const r = await (thread?.report ?? evaluate(images, opts));
    (progress as Progress | null)?.done();
    for (const note of r.notes ?? []) process.stderr.write(`note: ${note}\n`);
    if (json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      const shuffled = r.model.weightsShuffled != null ? ` (weights shuffled, seed ${r.model.weightsShuffled})` : '';
      const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
      const skipped = [
        r.images.failed ? plural(r.images.failed, 'failed', 'failed') : '',
        r.images.missing.length ? plural(r.images.missing.length, 'box entry without its image', 'box entries without their image') : '',
        r.images.unboxed.length ? plural(r.images.unboxed.length, 'image without boxes', 'images without boxes') : '',
        r.images.unusable.length ? plural(r.images.unusable.length, 'image whose boxes the model does not see', 'images whose boxes the model does not see') : '',
      ].filter(Boolean);
      const what = r.target ? `, target ${r.target.spec} (${printable(r.target.label)})` : '';
      process.stdout.write(`${printable(r.model.source)}${shuffled}${what}, layer ${printable(r.layers.join('+'))}, ${r.images.evaluated} images, top-1 accuracy ${pct(r.images.top1Accuracy)}${skipped.length ? ` (not evaluated: ${skipped.join(', ')})` : ''}\n\n`);
      process.stdout.write(evaluationTable(r) + '\n');
      if (r.files?.curves) process.stdout.write(`\ncurves: ${printable(String(o.out))}/${r.files.curves}\n`);
    }
    return r.images.failed ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    return reportError(e, !!process.env.TFJS_CAM_DEBUG);
  } finally {
    stopHandling();
  }
}
