/**
 * The run journal and --resume. While a run writes into an output folder, `.tfjs-cam-journal.jsonl` there gets
 * one line per image whose outputs are all written (after the files, so a line means "complete"). A run that
 * ends normally writes report.json and removes the journal; an interrupted one (Ctrl-C, a full disk, a crash)
 * leaves it. `--resume` then skips every image that the journal or an earlier report.json records as done
 * *and* whose files are all still there, as this run asks for them (the same classes, heatmaps, raw maps,
 * inputs), redoes the rest (replacing their leftovers), and writes one merged report.json.
 *
 * Two runs may share an output folder only with the same settings (model, methods, layers, score,
 * preprocessing, colours): --resume refuses anything else and says what differs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ExplainReport, REPORT_SCHEMA, ReportImage } from '../report/schema';
import { drawnAsGradient, RenderMode } from '../render/gradient';
import { OutputError, UsageError } from '../util/errors';

export const JOURNAL_NAME = '.tfjs-cam-journal.jsonl';
export const REPORT_NAME = 'report.json';
const JOURNAL_SCHEMA = 'tfjs-cam/journal@1';

/** What this run asks for per image, to tell whether an earlier image's outputs are complete. */
export interface WantedOutputs {
  methods: string[];
  /** Explicit classes, or undefined for the top k. */
  classes?: number[];
  /** Explicit targets as specs ('class:3', 'logit-diff:3,5'), when not all are classes. */
  targets?: string[];
  topK: number;
  numClasses: number;
  heatmap: boolean;
  saveRaw: boolean;
  saveInput: boolean;
}

/**
 * The settings that decide the content of an image's outputs, from a report: everything at the top level
 * except what differs between identical runs (timings, images, the tool's path to the model, the backend).
 */
export function runSettings(report: ExplainReport): Record<string, unknown> {
  // Where labels and preprocessing came from is provenance, not content: the values themselves are compared.
  // What each image was asked for (classes, extra files) is not compared: --resume redoes the images it does not fit
  // (see RunJournal.done), so a run may be resumed with another -k or --heatmap.
  // Notes are derived from the settings and the results (the input-scale warning comes after the last image).
  const { images: _i, summary: _s, timings: _t, backend: _b, model, output, labelsSource: _l, preprocessing, shard, explained: _e, notes: _n, ...rest } = report;
  // `channels` restates mean, std and bgr; `inputRangeFrom` is provenance; reports before --gray made grey as luma.
  const { sources: _p, channels: _c, inputRangeFrom: _r, ...settings } = preprocessing ?? ({} as ExplainReport['preprocessing']);
  if (settings.grayscale && settings.gray == null) settings.gray = 'luma';
  // Format, quality and size of the images decide their files too (absent in reports older than these options).
  // --render changes the pictures of some methods only: what counts is which methods were drawn as gradient images
  // (reports from before --render drew every map as a heatmap).
  const mode = (output?.render ?? 'heatmap') as RenderMode;
  const gradientImages = (report.methods ?? []).filter((m) => drawnAsGradient(m, mode));
  // Signed maps' colours and clipping, and legend strips, are recorded only where they change a picture (reports
  // from before them drew no signed maps and no legends).
  const look = {
    format: output?.format ?? 'png',
    quality: output?.quality ?? null,
    maxSize: output?.maxSize ?? null,
    gradientImages,
    signedColormap: output?.signedColormap ?? null,
    outlierPercent: output?.outlierPercent ?? null,
    legend: output?.legend ?? null,
  };
  // A shard's folder holds that shard only (its list's size and order may change between a run and its --resume).
  const part = shard ? { shard: { index: shard.index, count: shard.count } } : {};
  return { ...rest, ...part, preprocessing: settings, model: { sha256: model?.sha256, inputSize: model?.inputSize }, output: { colormap: output?.colormap, alpha: output?.alpha, ...look } };
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
  return v;
}

export const same = (a: unknown, b: unknown) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** `output.colormap "viridis" now, "jet" then; ...` for the settings that differ. */
export function differences(now: unknown, before: unknown, at = ''): string[] {
  if (same(now, before)) return [];
  if (isObject(now) && isObject(before)) {
    return [...new Set([...Object.keys(now), ...Object.keys(before)])].flatMap((k) => differences(now[k], before[k], at ? `${at}.${k}` : k));
  }
  return [`${at || 'settings'} ${JSON.stringify(now) ?? 'unset'} now, ${JSON.stringify(before) ?? 'unset'} then`];
}

/** Every file an entry names (any string under a `files` object, at any depth), relative to the output folder. */
export function filesOf(entry: unknown, inFiles = false, out: string[] = []): string[] {
  if (typeof entry === 'string') {
    if (inFiles) out.push(entry);
  } else if (Array.isArray(entry)) {
    for (const v of entry) filesOf(v, inFiles, out);
  } else if (entry && typeof entry === 'object') {
    for (const [k, v] of Object.entries(entry)) filesOf(v, inFiles || k === 'files', out);
  }
  return out;
}

export class RunJournal {
  private constructor(
    readonly outDir: string,
    private readonly settings: Record<string, unknown>,
    /** Earlier complete-looking entries by absolute image path, in the order first seen. */
    private readonly earlier: Map<string, ReportImage>,
  ) {}

  /** Images recorded by this run; whether this run made the journal file. */
  private recorded = 0;
  private created = false;

  get journalPath(): string {
    return path.join(this.outDir, JOURNAL_NAME);
  }

  /**
   * Opens the journal of a run about to write into outDir (which exists). Without --resume or --force, an
   * earlier report.json or unfinished journal there stops the run before any image (never silently replaced).
   */
  static open(outDir: string, base: ExplainReport, opts: { resume?: boolean; force?: boolean }): RunJournal {
    const reportPath = path.join(outDir, REPORT_NAME);
    const journalPath = path.join(outDir, JOURNAL_NAME);
    const settings = runSettings(base);
    const earlier = new Map<string, ReportImage>();
    if (!opts.resume) {
      if (!opts.force && fs.existsSync(reportPath)) throw new UsageError(`${reportPath} exists (use --force to overwrite); --resume finishes or extends that run`);
      if (!opts.force && fs.existsSync(journalPath)) throw new UsageError(`${outDir} holds an unfinished run (${JOURNAL_NAME}): use --resume to finish it, or --force to start again`);
    } else {
      if (fs.existsSync(reportPath)) {
        let report: ExplainReport;
        try {
          report = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as ExplainReport;
        } catch (e) {
          throw new UsageError(`${reportPath}: cannot resume from it: ${e instanceof SyntaxError ? 'not valid JSON' : (e as Error).message} (use --force to start again)`);
        }
        if (report?.schema !== REPORT_SCHEMA || !Array.isArray(report.images)) throw new UsageError(`${reportPath}: cannot resume from it: not a ${REPORT_SCHEMA} report (use --force to start again)`);
        const before = runSettings(report);
        if (!same(settings, before)) throw new UsageError(`--resume: ${reportPath} was made with other settings (${differences(settings, before).join('; ')}); use another --out, or --force to start again`);
        for (const e of report.images) if (e?.status === 'ok' && typeof e.file === 'string') earlier.set(path.resolve(e.file), e);
      }
      for (const e of readJournal(journalPath, settings)) earlier.set(path.resolve(e.file), e);
    }
    const journal = new RunJournal(outDir, settings, earlier);
    // A fresh journal for a fresh run; a resumed run appends to the one it resumes.
    if (!opts.resume || !fs.existsSync(journalPath)) {
      journal.write(JSON.stringify({ journal: JOURNAL_SCHEMA, settings }) + '\n', 'w');
      journal.created = true;
    }
    return journal;
  }

  /** The earlier entry for this image if its outputs are all there as this run asks for them; else null. */
  done(file: string, want: WantedOutputs): ReportImage | null {
    const e = this.earlier.get(path.resolve(file));
    if (!e || e.status !== 'ok' || !Array.isArray(e.maps) || e.maps.length === 0) return null;
    const methods = new Set(e.maps.map((m) => m.method));
    if (!same([...methods].sort(), [...want.methods].sort())) return null;
    const keys = [...new Set(e.maps.map((m) => m.target?.spec ?? `class:${m.class?.index}`))].sort();
    const wanted = want.targets ?? want.classes?.map((c) => `class:${c}`);
    if (wanted ? !same(keys, [...new Set(wanted)].sort()) : keys.length !== Math.min(want.topK, want.numClasses)) return null;
    if (want.heatmap && e.maps.some((m) => !m.files?.heatmap)) return null;
    if (want.saveRaw && e.maps.some((m) => !m.files?.raw?.length)) return null;
    if (want.saveInput && !e.files?.input) return null;
    for (const rel of filesOf(e)) {
      try {
        if (!fs.statSync(path.join(this.outDir, rel)).isFile()) return null;
      } catch {
        return null;
      }
    }
    return e;
  }

  /** Earlier complete entries of images this run was not given (kept in the merged report). */
  others(files: Set<string>, want: WantedOutputs): ReportImage[] {
    const resolved = new Set([...files].map((f) => path.resolve(f)));
    return [...this.earlier.values()].filter((e) => !resolved.has(path.resolve(e.file)) && this.done(e.file, want));
  }

  /** Records an image whose outputs are all written. One write of one line: an interruption leaves whole lines. */
  record(entry: ReportImage): void {
    this.write(JSON.stringify(entry) + '\n', 'a');
    this.recorded++;
  }

  /** The run stopped with an error: a journal this run made and never used would only block the next run. */
  abandon(): void {
    if (this.created && this.recorded === 0) fs.rmSync(this.journalPath, { force: true });
  }

  /** The run finished and report.json is written: the journal has served. */
  finish(): void {
    fs.rmSync(this.journalPath, { force: true });
  }

  private write(text: string, flag: 'w' | 'a'): void {
    try {
      fs.writeFileSync(this.journalPath, text, { flag });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      // Without its journal a run could not be resumed: stop like any other failed write to the output folder.
      throw new OutputError(`cannot write ${this.journalPath}: ${code}`, true);
    }
  }
}

/** The complete entries of a journal made with `settings`; a line cut short by a crash is ignored. */
function readJournal(file: string, settings: Record<string, unknown>): ReportImage[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: ReportImage[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return; // the last line of an interrupted append
    }
    const o = v as Record<string, unknown>;
    if (i === 0 || 'journal' in o) {
      if (o.journal !== JOURNAL_SCHEMA) throw new UsageError(`${file}: not a ${JOURNAL_SCHEMA} journal (use --force to start again)`);
      const before = o.settings as Record<string, unknown>;
      if (!same(settings, before)) throw new UsageError(`--resume: the unfinished run in ${path.dirname(file)} had other settings (${differences(settings, before).join('; ')}); use another --out, or --force to start again`);
      return;
    }
    if (o.status === 'ok' && typeof o.file === 'string') out.push(o as unknown as ReportImage);
  });
  return out;
}
