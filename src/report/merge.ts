/**
 * `tfjs-cam merge`: the output folders of `explain --shard K/N` runs -> one output folder as a single run over the
 * whole input would have made it: the same report.json apart from timings (images in the same order, the same
 * summary, the same file names: shards name their files from the whole list) and the same files, copied. The shard
 * folders are only read. Shards that do not make one whole run (one missing or given twice, another input list,
 * other settings, an unfinished shard) are refused before anything is written, with one line naming the folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ExplainReport, REPORT_SCHEMA } from './schema';
import { copyFileAtomic, ensureDir, makeDirs, OutputExistsError, removeStrayTempFiles, writeFileAtomic } from './files';
import { lockHolder, lockOutputDir } from './lock';
import { differences, filesOf, JOURNAL_NAME, REPORT_NAME, runSettings, same } from '../pipeline/resume';
import { UsageError } from '../util/errors';

export interface ShardRun {
  /** The shard's output folder (as given). */
  dir: string;
  report: ExplainReport;
}

type ShardedReport = ExplainReport & { shard: NonNullable<ExplainReport['shard']> };

const round1 = (v: number) => Math.round(v * 10) / 10;

/** Reads a shard's report.json, refusing a folder that is not a finished shard. */
export function readShard(dir: string): ShardRun {
  const file = path.join(dir, REPORT_NAME);
  const holder = lockHolder(dir);
  if (holder != null) throw new UsageError(`${dir}: a tfjs-cam run (pid ${holder}) is still writing there; merge once it has finished`);
  if (fs.existsSync(path.join(dir, JOURNAL_NAME))) throw new UsageError(`${dir}: holds an unfinished run (${JOURNAL_NAME}); finish it with explain --resume and the same --shard`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${dir}: no ${REPORT_NAME} (not an explain output folder, or its run did not finish)` : `${file}: cannot read it (${code ?? String(e)})`);
  }
  let report: ExplainReport;
  try {
    report = JSON.parse(text) as ExplainReport;
  } catch {
    throw new UsageError(`${file}: not valid JSON`);
  }
  if (report?.schema !== REPORT_SCHEMA || !Array.isArray(report.images)) throw new UsageError(`${file}: not a ${REPORT_SCHEMA} report`);
  const s = report.shard;
  if (!s) throw new UsageError(`${file}: not a shard's report (made without --shard K/N)`);
  const valid = Number.isInteger(s.index) && Number.isInteger(s.count) && s.index >= 0 && s.index < s.count && Number.isInteger(s.inputs) && typeof s.listSha256 === 'string' && Array.isArray(s.positions) && (s.cwd === undefined || typeof s.cwd === 'string');
  if (!valid || s.positions.length !== report.images.length) throw new UsageError(`${file}: its shard record is damaged (shard, positions)`);
  return { dir, report };
}

/**
 * The settings that must agree between shards: those --resume compares, and what a report states once for all:
 * what each image was asked for (-k, --class, --target) and every output setting (--heatmap, --save-raw,
 * --save-input, --render, the sheet, and any recorded later: `output` is compared whole, but for its folder).
 */
function sharedSettings(r: ExplainReport): Record<string, unknown> {
  const { shard: _s, output: _o, ...settings } = runSettings(r);
  const { dir: _d, ...output } = r.output ?? ({} as ExplainReport['output']);
  const s = r.shard!;
  return { ...settings, explained: r.explained ?? null, output, backend: r.backend, tool: r.tool, shards: { count: s.count, inputs: s.inputs, listSha256: s.listSha256 } };
}

/**
 * The report a single run would have written into outDir (absolute, or null), from every shard's. Pure: throws a
 * UsageError naming the folder when the shards do not make one whole run.
 */
export function mergeReports(shards: ShardRun[], outDir: string | null): ExplainReport {
  if (!shards.length) throw new UsageError('merge: no shard folders given');
  const seenDirs = new Map<string, string>();
  for (const s of shards) {
    const key = path.resolve(s.dir);
    if (seenDirs.has(key)) throw new UsageError(`${s.dir}: given twice`);
    seenDirs.set(key, s.dir);
  }
  const ref = shards[0];
  const refSettings = sharedSettings(ref.report);
  const byIndex = new Map<number, ShardRun>();
  for (const s of shards) {
    const settings = sharedSettings(s.report);
    if (!same(settings, refSettings)) {
      const why = differences(settings, refSettings).map((d) => d.replace(/ now, /, ' there, ').replace(/ then$/, ` in ${ref.dir}`));
      throw new UsageError(`${s.dir}: not a shard of the same run as ${ref.dir} (${why.join('; ')})`);
    }
    const { index, count } = s.report.shard!;
    const other = byIndex.get(index);
    if (other) throw new UsageError(`${s.dir}: shard ${index}/${count} again (also in ${other.dir})`);
    byIndex.set(index, s);
  }
  const { count, inputs } = ref.report.shard!;
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !byIndex.has(k));
  if (missing.length) {
    const have = [...byIndex.keys()].sort((a, b) => a - b);
    throw new UsageError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${count}`).join(', ')} missing: ${shards.map((s) => s.dir).join(', ')} hold${shards.length > 1 ? '' : 's'} shard${have.length > 1 ? 's' : ''} ${have.join(', ')} of ${count}`);
  }
  // Every entry of the whole list once, from exactly one shard: then the positions give a single run's order.
  const slots: (ExplainReport['images'][number] | undefined)[] = new Array(inputs);
  for (const s of shards) {
    const r = s.report as ShardedReport;
    r.shard.positions.forEach((at, i) => {
      const where = path.join(s.dir, REPORT_NAME);
      if (!Number.isInteger(at) || at < 0 || at >= inputs) throw new UsageError(`${where}: ${r.images[i]?.file} is not in the input list of this run (was the shard resumed over another list?)`);
      if (slots[at]) throw new UsageError(`${where}: ${r.images[i].file} is also reported by another shard`);
      slots[at] = r.images[i];
    });
  }
  const gap = slots.findIndex((e) => !e);
  if (gap >= 0 || slots.length !== inputs) throw new UsageError(`${ref.dir}: the shards report ${slots.filter(Boolean).length} of the run's ${inputs} inputs (entry ${gap} is missing)`);
  const images = slots as ExplainReport['images'];
  const ok = images.filter((i) => i.status === 'ok').length;

  // The report's own fields from the first shard, in its key order; the notes of all (said once each).
  const { shard: _shard, timings: _timings, ...rest } = ref.report;
  const notes = [...new Set(shards.flatMap((s) => s.report.notes ?? []))];
  const merged: ExplainReport = {
    ...rest,
    output: { ...rest.output, dir: outDir },
    ...(notes.length ? { notes } : {}),
    images,
    summary: { images: images.length, succeeded: ok, failed: images.length - ok },
  };
  // Timings of a run spread over machines: loading and wall time of the slowest shard (shards run side by side),
  // and per image the machine time after loading, summed over the shards. Left out unless every shard kept them.
  const timed = shards.map((s) => s.report.timings);
  if (timed.every((t) => t)) {
    const t = timed as NonNullable<ExplainReport['timings']>[];
    const work = t.reduce((a, x) => a + Math.max(0, x.totalMs - x.loadMs), 0);
    merged.timings = { loadMs: Math.max(...t.map((x) => x.loadMs)), totalMs: Math.max(...t.map((x) => x.totalMs)), perImageMs: round1(images.length ? work / images.length : 0) };
  } else {
    merged.images = images.map(({ timings: _t, ...img }) => img);
  }
  return merged;
}

export interface MergeOptions {
  out: string;
  force?: boolean;
  /** Write index.html; default: when every shard has one (the shards ran with --html). */
  html?: boolean;
  /** Files copied at once. */
  concurrency?: number;
}

export interface MergeResult {
  report: ExplainReport;
  files: number;
  html: boolean;
}

/** Reads the shard folders, checks them, copies their files into opts.out and writes the merged report there. */
export async function mergeShards(dirs: string[], opts: MergeOptions): Promise<MergeResult> {
  const outDir = path.resolve(opts.out);
  for (const d of dirs) {
    const abs = path.resolve(d);
    if (outDir === abs || outDir.startsWith(abs + path.sep)) throw new UsageError(`${opts.out}: the output folder is (inside) the shard folder ${d}; shard folders are only read, choose another -o`);
  }
  const shards = dirs.map(readShard);
  const report = mergeReports(shards, outDir);

  // Every file each shard's report names, checked before anything is written.
  const copies: { src: string; dst: string }[] = [];
  const owner = new Map<string, string>();
  for (const s of shards) {
    for (const img of s.report.images) {
      for (const rel of filesOf(img)) {
        const norm = path.normalize(rel);
        if (path.isAbsolute(norm) || norm === '..' || norm.startsWith('..' + path.sep)) throw new UsageError(`${path.join(s.dir, REPORT_NAME)}: file '${rel}' lies outside the shard's folder`);
        const src = path.join(s.dir, norm);
        const dst = path.join(outDir, norm);
        if (dirs.some((d) => dst.startsWith(path.resolve(d) + path.sep))) throw new UsageError(`${dst}: would be written inside a shard folder; choose another -o`);
        const before = owner.get(dst);
        if (before) throw new UsageError(`${s.dir}: ${rel} is also an output of ${before}`);
        owner.set(dst, s.dir);
        let st: fs.Stats;
        try {
          st = fs.statSync(src);
        } catch {
          throw new UsageError(`${src}: listed in ${path.join(s.dir, REPORT_NAME)} but missing`);
        }
        if (!st.isFile()) throw new UsageError(`${src}: listed in ${path.join(s.dir, REPORT_NAME)} but not a file`);
        copies.push({ src, dst });
      }
    }
  }
  const html = opts.html ?? dirs.every((d) => fs.existsSync(path.join(d, 'index.html')));
  await ensureDir(outDir);
  const lock = lockOutputDir(outDir);
  try {
    removeStrayTempFiles(outDir);
    if (!opts.force) {
      // Nothing is replaced without --force, and a refusal comes before the first file is copied.
      for (const f of [path.join(outDir, REPORT_NAME), ...(html ? [path.join(outDir, 'index.html')] : []), ...copies.map((c) => c.dst)]) {
        if (fs.existsSync(f)) throw new OutputExistsError(f);
      }
    }
    let next = 0;
    const worker = async () => {
      for (let c = copies[next++]; c; c = copies[next++]) {
        await makeDirs(path.dirname(c.dst));
        await copyFileAtomic(c.src, c.dst, { overwrite: !!opts.force });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
    // The report last, as explain writes it: a report.json in the folder means its files are all there.
    await writeFileAtomic(path.join(outDir, REPORT_NAME), JSON.stringify(report, null, 2) + '\n', { overwrite: !!opts.force });
    if (html) {
      const { writeHtmlReport, explainHtml } = await import('./html');
      // Image paths are as each shard was given them, relative to the folder it ran in, not to merge's: the links
      // to the originals go from there (shard 0's, shards from older versions: this folder).
      const first = [...shards].sort((a, b) => a.report.shard!.index - b.report.shard!.index)[0];
      await writeHtmlReport(path.join(outDir, 'index.html'), explainHtml(report, undefined, first.report.shard!.cwd ?? process.cwd()), { overwrite: !!opts.force });
    }
  } finally {
    lock.release();
  }
  return { report, files: copies.length, html };
}
