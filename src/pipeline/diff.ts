/**
 * diff: did the head model change where it looks, compared with the base model? For every image, both models'
 * top classes and the maps of the same classes (the base's top-1 by default), put on the image's grid through each
 * model's own preprocessing geometry and compared there (src/diff/compare.ts), then judged against thresholds
 * (src/diff/verdict.ts).
 *
 * Fast on folders: both models are loaded once, each image is decoded once and fitted to each model's input, the
 * next image is decoded while this one is computed, and with --jobs the images are spread over worker threads that
 * each hold both models (src/diff/pool.ts). The pieces are explain's: openSession, prepareInput, explainTensor.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { decodeImage, DecodedImage } from '../image/decode';
import { Placement, toSource } from '../image/geometry';
import { Target, targetClasses, targetLabel, targetSpec } from '../capture/targets';
import { collectImages, ImageJob } from '../batch/walk';
import { applyShard } from '../batch/shard';
import { shrinkForOutput } from '../render/overlay';
import { ensureDir, writeImageFiles } from '../report/files';
import type { LoadedModel } from '../model/load';
import { errorMessage, UsageError, UserError } from '../util/errors';
import { methodSlug } from '../util/names';
import { TOOL_VERSION } from '../version';
import { explainTensor, TensorExplanation } from './explain-tensor';
import { baselineOf, isFatal, prepareInput, resamplingOf, resolveTargets, targetSlug } from './explain';
import { peakOf, topMassShare } from './maps';
import { openSession, Session } from './session';
import { loadModelFrom } from '../model/load';
import { withFileContext } from './error-context';
import { ClassMatch, matchClasses, targetToHead } from '../diff/classes';
import { mapDifference, pearson, peakShift, topRegionIou } from '../diff/compare';
import { GRID_MAX_SIDE, gridFor, mapOnGrid, placementOnGrid } from '../diff/grid';
import { renderDiffPictures } from '../diff/render';
import { judgeImages } from '../diff/verdict';
import { DIFF_REPORT_SCHEMA, DiffComparison, DiffImage, DiffModelInfo, DiffPrediction, DiffReport, DiffSideMap } from '../diff/report';

import type { ComparedImage, DiffOptions } from '../diff/options';
export type { ComparedImage, DiffOptions } from '../diff/options';

/** Both models made ready, and how their classes and targets correspond. */
export interface DiffSides {
  base: Session;
  head: Session;
  match: ClassMatch;
  /** The classes/targets asked for, in each model's indices; null: the base's top-1 per image. */
  targets: { base: Target[]; head: Target[] } | null;
  /** The same model with the same settings on both sides: the head's maps are the base's (computed once). */
  same: boolean;
  /** Integrated Gradients' baselines (black image preprocessed), per side. */
  baselines: { base?: Float32Array; head?: Float32Array };
  notes: string[];
  loadMs: number;
}

const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;
const shown = (m: string | LoadedModel) => (typeof m === 'string' ? m : m.source);

async function loadSide(given: string | LoadedModel, flag: string): Promise<LoadedModel> {
  if (typeof given !== 'string') return given;
  try {
    return await loadModelFrom(given);
  } catch (e) {
    const named = withFileContext(e, given);
    if (named instanceof UserError) throw new (named.constructor as new (m: string) => UserError)(`${flag} ${named.message}`);
    throw named;
  }
}

/** The resolved settings that decide a side's maps: equal settings and weights give equal maps. */
function settingsKey(s: Session): string {
  return JSON.stringify({ layers: s.layers, pre: { ...s.preprocess, sources: undefined }, gray: s.grayscale, res: resamplingOf(s), methods: s.methods.map((m) => m.name), score: s.score, shape: s.model.classifier.inputShape });
}

/** Loads both models and settles methods, layers, classes and targets. Model and usage problems throw (exit 2). */
export async function openDiffSides(opts: DiffOptions): Promise<DiffSides> {
  const t0 = performance.now();
  const backend = await initBackend(opts.backend ?? 'auto', { threads: opts.threads });
  const baseModel = await loadSide(opts.base, '--base');
  let headModel: LoadedModel;
  try {
    headModel = await loadSide(opts.head, '--head');
  } catch (e) {
    if (typeof opts.base === 'string') baseModel.dispose();
    throw e;
  }
  const dispose = () => {
    if (typeof opts.base === 'string') baseModel.dispose();
    if (typeof opts.head === 'string') headModel.dispose();
  };
  try {
    const notes: string[] = [];
    const method = opts.method ?? baseModel.sidecar?.method ?? headModel.sidecar?.method;
    const open = async (model: LoadedModel, layers: string[] | undefined, methodNames: string | undefined, flag: string) => {
      try {
        // The resolution checks the sidecar's mean/std counts against the model (src/model/resolve.ts).
        return await openSession({ model, backend, method: methodNames, layers, score: opts.score });
      } catch (e) {
        const named = withFileContext(e, model);
        const msg = errorMessage(named);
        // A layer name given for both sides that one of them lacks: say how to name each side's own.
        const hint = layers?.length && opts.layers?.length && !opts.baseLayers && !opts.headLayers && /layer/.test(msg) ? ` (--layer applies to both models; give each its own with --base-layer and --head-layer)` : '';
        const Ctor = (named instanceof UserError ? named.constructor : UsageError) as new (m: string) => UserError;
        if (named instanceof UserError) throw new Ctor(`${flag}: ${msg}${hint}`);
        throw named;
      }
    };
    const base = await open(baseModel, opts.baseLayers ?? opts.layers, method, '--base');
    const methodNames = base.methods.map((m) => m.name).join(',');
    const head = await open(headModel, opts.headLayers ?? opts.layers, methodNames, '--head');
    if (!opts.method && headModel.sidecar?.method && baseModel.sidecar?.method && headModel.sidecar.method !== baseModel.sidecar.method) {
      notes.push(`the sidecars name different methods (base ${baseModel.sidecar.method}, head ${headModel.sidecar.method}): both sides use the base's (${methodNames}); give --method to choose`);
    }
    const match = matchClasses(
      { name: `the base model (${shown(opts.base)})`, labels: base.labels, labelled: base.labelsSource !== 'indices' },
      { name: `the head model (${shown(opts.head)})`, labels: head.labels, labelled: head.labelsSource !== 'indices' },
    );
    notes.push(...match.notes);
    let targets: DiffSides['targets'] = null;
    let given: Target[] | undefined;
    try {
      given = resolveTargets(base, { classes: opts.classes, targets: opts.targets });
    } catch (e) {
      // Classes are given as the base model reads them: its words, not "the model".
      if (e instanceof UserError) throw new UsageError(errorMessage(e).replace(/\bthe model\b/, 'the base model'));
      throw e;
    }
    if (given) {
      const onHead = given.map((t) => {
        const h = targetToHead(t, match);
        if (!h) {
          const missing = targetClasses(t).filter((c) => match.toHead(c) === null).map((c) => `'${base.labels[c]}'`);
          throw new UsageError(`${targetSpec(t)}: the head model (${shown(opts.head)}) has no class labelled ${missing.join(', ')}`);
        }
        return h;
      });
      targets = { base: given, head: onHead };
    }
    const same = baseModel.sha256 === headModel.sha256 && settingsKey(base) === settingsKey(head) && base.labels.join('\n') === head.labels.join('\n');
    if (same) notes.push(`the base and head are the same model (sha256 ${baseModel.sha256.slice(0, 12)}) with the same settings: every map is compared with itself (correlation 1)`);
    else if (baseModel.sha256 === headModel.sha256) notes.push(`the base and head are the same model (sha256 ${baseModel.sha256.slice(0, 12)}) with different settings (layers, preprocessing or method)`);
    const ig = base.methods.some((m) => m.name === 'integrated-gradients');
    const baselines = ig ? { base: await baselineOf(base, {}), head: await baselineOf(head, {}) } : {};
    return { base, head, match, targets, same, baselines, notes, loadMs: performance.now() - t0 };
  } catch (e) {
    dispose();
    throw e;
  }
}

/** An image decoded once and fitted to each side's input (or what went wrong, and on which side). */
interface Prepared {
  job: ImageJob;
  img?: DecodedImage;
  x?: { base: tf.Tensor4D; head?: tf.Tensor4D };
  place?: { base: Placement; head: Placement };
  error?: string;
  ms: number;
}

/** The probability-side score of a target: the class's probability, or the same combination as its logits. */
function targetProbability(t: Target, p: Float32Array): number {
  if (t.kind === 'class') return p[t.index];
  if (t.kind === 'logit-diff') return p[t.classes[0]] - p[t.classes[1]];
  if (t.kind === 'sum') return t.classes.reduce((a, c) => a + p[c], 0);
  return NaN;
}

function stemOf(job: ImageJob): string {
  return job.stem ?? job.rel.slice(0, job.rel.length - path.extname(job.rel).length);
}

function failed(job: ImageJob, error: string): ComparedImage {
  return { entry: { file: job.file, status: 'error', error }, files: [] };
}

/** The per-image work, the same in this thread and in workers. */
export class DiffPipeline {
  constructor(
    readonly sides: DiffSides,
    readonly opts: Pick<DiffOptions, 'topK' | 'overlays' | 'colormap' | 'alpha'>,
  ) {}

  /** Decodes the image once and fits it to each side's input; a failure is the image's, named by side. */
  async prepare(job: ImageJob): Promise<Prepared> {
    const t0 = performance.now();
    const p: Prepared = { job, ms: 0 };
    try {
      p.img = await decodeImage(job.file);
    } catch (e) {
      p.error = errorMessage(e);
      return p;
    }
    let side: 'base' | 'head' = 'base';
    try {
      const b = await prepareInput(this.sides.base, p.img);
      p.x = { base: b.x };
      side = 'head';
      if (this.sides.same) p.place = { base: b.place, head: b.place };
      else {
        const h = await prepareInput(this.sides.head, p.img);
        p.x.head = h.x;
        p.place = { base: b.place, head: h.place };
      }
    } catch (e) {
      this.release(p);
      p.error = `${side} model: ${errorMessage(e)}`;
    }
    p.ms = performance.now() - t0;
    return p;
  }

  private release(p: Prepared): void {
    p.x?.base.dispose();
    p.x?.head?.dispose();
    p.x = undefined;
  }

  private explainSide(side: 'base' | 'head', x: tf.Tensor4D, targets: Target[] | undefined): TensorExplanation {
    const s = this.sides[side];
    return explainTensor(s.model.classifier, x, {
      methods: s.methods,
      layers: s.layers,
      targets,
      topK: 1,
      reportTop: this.opts.topK ?? 3,
      score: s.score,
      methodOptions: this.sides.baselines[side] ? { baseline: this.sides.baselines[side] } : undefined,
    });
  }

  /** Both sides' passes (tensors of `p` released). Model-level errors throw; the image's own are returned. */
  private explainBoth(p: Prepared): { exB: TensorExplanation; exH: TensorExplanation } | string {
    const { sides } = this;
    let side: 'base' | 'head' = 'base';
    try {
      const exB = this.explainSide('base', p.x!.base, sides.targets?.base);
      side = 'head';
      let headTargets = sides.targets?.head;
      if (!headTargets) {
        const t = targetToHead(exB.targets[0], sides.match);
        if (!t) throw new UserError(`the base's top class '${targetLabel(exB.targets[0], sides.base.labels)}' has no class with that label in the head model`);
        headTargets = [t];
      }
      const exH = sides.same ? exB : this.explainSide('head', p.x!.head!, headTargets);
      return { exB, exH };
    } catch (e) {
      if (isFatal(e)) throw withFileContext(e, sides[side].model);
      if (!(e instanceof UserError) && process.env.TFJS_CAM_DEBUG) console.error(e);
      return `${side} model: ${errorMessage(e)}`;
    } finally {
      this.release(p);
    }
  }

  /** Compares one prepared image (and renders its overlays when asked). */
  async compare(p: Prepared): Promise<ComparedImage> {
    const t0 = performance.now();
    const { job, img } = p;
    if (p.error || !img || !p.x || !p.place) {
      this.release(p);
      return failed(job, p.error ?? 'not prepared');
    }
    const place = p.place;
    const both = this.explainBoth(p);
    if (typeof both === 'string') return failed(job, both);
    const { exB, exH } = both;
    const { base: sb, head: sh, match, same } = this.sides;
    const grid = gridFor(img.width, img.height);
    const top = (ex: TensorExplanation, s: Session): DiffPrediction[] => ex.top.map((t) => ({ index: t.index, label: s.labels[t.index], probability: round(t.probability) }));
    const baseTop = exB.top[0]?.index;
    const entry: DiffImage = {
      file: job.file,
      status: 'pass',
      width: img.width,
      height: img.height,
      grid: { width: grid.width, height: grid.height },
      base: { top: top(exB, sb) },
      head: { top: top(exH, sh) },
      flipped: baseTop === undefined || match.toHead(baseTop) !== exH.top[0]?.index,
      comparisons: [],
    };
    const [bh, bw] = sb.model.classifier.inputShape;
    const [hh, hw] = sh.model.classifier.inputShape;
    const files: ComparedImage['files'] = [];
    let picture: { img: DecodedImage; place: Placement } | undefined;
    const warnings = new Set([...exB.warnings, ...(same ? [] : exH.warnings)]);
    for (let i = 0; i < exB.maps.length; i++) {
      const mB = exB.maps[i];
      const mH = exH.maps[i];
      const gB = mapOnGrid(mB.map, bw, bh, place.base, grid);
      const gH = same ? gB : mapOnGrid(mH.map, hw, hh, place.head, grid);
      const sideOf = (m: typeof mB, ex: TensorExplanation, w: number, pl: Placement, index: number | undefined): DiffSideMap & { exact: { x: number; y: number } | null } => {
        const pk = peakOf(m.map, w);
        const exact = m.flat ? null : toSource(pl, pk.x, pk.y);
        return {
          ...(index !== undefined ? { index } : {}),
          probability: round(targetProbability(m.target, ex.probabilities)),
          peak: exact ? { x: round(exact.x, 1), y: round(exact.y, 1) } : null,
          topMassShare: round(topMassShare(m.map)),
          flat: m.flat,
          exact,
        };
      };
      const isClass = mB.target.kind === 'class';
      const { exact: peakB, ...baseSide } = sideOf(mB, exB, bw, place.base, isClass ? mB.classIndex : undefined);
      const { exact: peakH, ...headSide } = sideOf(mH, exH, hw, place.head, isClass ? mH.classIndex : undefined);
      const shift = peakB && peakH ? peakShift(peakB, peakH, img.width, img.height) : null;
      const c: DiffComparison = {
        method: mB.method,
        ...(isClass ? { class: { index: mB.classIndex, label: sb.labels[mB.classIndex] } } : { target: { spec: targetSpec(mB.target), label: targetLabel(mB.target, sb.labels) } }),
        base: baseSide,
        head: headSide,
        correlation: round(pearson(gB, gH), 6),
        iou: round(topRegionIou(gB, gH)),
        peakShift: shift ? { px: round(shift.px, 1), share: round(shift.share) } : null,
        probabilityChange: round(targetProbability(mH.target, exH.probabilities) - targetProbability(mB.target, exB.probabilities)),
        status: 'pass',
        failures: [],
      };
      if (mB.flat || mH.flat) warnings.add(`the ${mB.flat && mH.flat ? 'base and head maps are' : mB.flat ? "base's map is" : "head's map is"} flat for '${c.class?.label ?? c.target?.label}' (${mB.method}): no contrast to compare`);
      if (this.opts.overlays) {
        picture ??= await shrinkForOutput(img, place.base, GRID_MAX_SIDE);
        const pics = await renderDiffPictures(
          picture.img,
          { map: mB.map, inputW: bw, inputH: bh, place: picture.place },
          { map: mH.map, inputW: hw, inputH: hh, place: placementOnGrid(place.head, grid) },
          mapDifference(gB, gH),
          { colormap: this.opts.colormap ?? 'jet', alpha: this.opts.alpha ?? 0.5 },
        );
        const stem = `${stemOf(job)}.${methodSlug(mB.method)}.${targetSlug(mB.target, sb.labels)}`;
        const add = (kind: string, data: Buffer) => {
          const rel = `${stem}.${kind}.png`;
          files.push({ rel, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
          return rel;
        };
        c.files = { base: add('base', pics.base), head: add('head', pics.head), difference: add('difference', pics.difference) };
      }
      entry.comparisons!.push(c);
    }
    if (Array.from(exB.logits).some((v) => !Number.isFinite(v))) warnings.add("the base model's scores are not finite numbers (NaN or infinity): check its weights");
    if (!same && Array.from(exH.logits).some((v) => !Number.isFinite(v))) warnings.add("the head model's scores are not finite numbers (NaN or infinity): check its weights");
    if (warnings.size) entry.warnings = [...warnings];
    entry.ms = round(p.ms + performance.now() - t0, 1);
    return { entry, files };
  }

  /**
   * Runs jobs one after another, decoding and fitting the next image while this one is computed. `next` yields
   * jobs (null: no more); `done` receives each outcome in order.
   */
  async runSequence(next: () => ImageJob | null | Promise<ImageJob | null>, done: (r: ComparedImage) => Promise<void> | void): Promise<void> {
    const load = async (): Promise<Prepared | null> => {
      const job = await next();
      return job ? this.prepare(job) : null;
    };
    let upcoming = load();
    for (let p = await upcoming; p; p = await upcoming) {
      upcoming = load(); // the next image decodes while this one computes
      try {
        await done(await this.compare(p));
      } catch (e) {
        // Whatever stops the run: the image fitted meanwhile gives back its tensors first.
        const u = await upcoming.catch(() => null);
        if (u) this.release(u);
        throw e;
      }
    }
  }
}

/** Writes one image's overlays (main thread only); a file that cannot be written fails that image. */
async function writeCompared(r: ComparedImage, outDir: string | null): Promise<DiffImage> {
  if (!outDir || !r.files.length) return r.entry;
  const error = await writeImageFiles(r.files, outDir, true);
  return error ? { file: r.entry.file, status: 'error', error } : r.entry;
}

function modelInfo(s: Session): DiffModelInfo {
  const c = s.model.classifier;
  const { sources: _sources, ...pre } = s.preprocess;
  return {
    source: s.model.source,
    sha256: s.model.sha256,
    format: c.format,
    inputSize: c.inputShape,
    classes: c.numClasses,
    labelsSource: s.labelsSource,
    layers: s.layers,
    preprocessing: { ...pre, grayscale: s.grayscale, ...resamplingOf(s) },
  };
}

/** What flipped on an image, for the --max-flips message: "'7' (95.4%) -> '1' (60.2%)". */
export function flipNote(img: DiffImage): string {
  const b = img.base?.top[0];
  const h = img.head?.top[0];
  const one = (t: DiffPrediction | undefined) => (t ? `'${t.label}' (${(t.probability * 100).toFixed(1)}%)` : '?');
  return `${one(b)} -> ${one(h)}`;
}

/** Compares every image found in `inputs` (files or folders, recursively) under both models. */
export async function diff(inputs: string[], opts: DiffOptions): Promise<DiffReport> {
  const t0 = performance.now();
  const sides = await openDiffSides(opts);
  try {
    const outDir = opts.out ? path.resolve(opts.out) : null;
    const walked = collectImages(inputs, { exclude: outDir });
    const sharded = opts.shard ? applyShard(walked, opts.shard) : null;
    const { jobs, problems } = sharded?.walk ?? walked;
    const total = jobs.length + problems.length;
    const entries: DiffImage[] = problems.map((p) => ({ file: p.input, status: 'error', error: p.message }));
    entries.forEach((e, i) => opts.onImage?.(i + 1, total, e));
    if (outDir && opts.overlays && jobs.length) await ensureDir(outDir);
    const onResult = async (r: ComparedImage) => {
      const entry = await writeCompared(r, opts.overlays ? outDir : null);
      entries.push(entry);
      opts.onImage?.(entries.length, total, entry);
    };
    const workers = Math.max(0, Math.min((opts.jobs ?? 1) - 1, jobs.length - 1));
    const pipeline = new DiffPipeline(sides, opts);
    let i = 0;
    const take = () => (opts.signal?.aborted ? null : jobs[i++] ?? null);
    if (workers > 0 && typeof opts.base === 'string' && typeof opts.head === 'string') {
      const { runDiffWorkers } = await import('../diff/pool');
      await runDiffWorkers(take, workers, opts, pipeline, onResult);
    } else {
      await pipeline.runSequence(take, onResult);
    }
    // Input order, whatever order the images finished in.
    const order = new Map<string, number>([...problems.map((p) => p.input), ...jobs.map((j) => j.file)].map((f, k) => [f, k]));
    entries.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0));
    const thresholds = opts.thresholds ?? {};
    const summary = judgeImages(entries, thresholds, flipNote);
    const report: DiffReport = {
      schema: DIFF_REPORT_SCHEMA,
      tool: { name: 'tfjs-cam', version: TOOL_VERSION },
      base: modelInfo(sides.base),
      head: modelInfo(sides.head),
      backend: sides.base.backend,
      methods: sides.base.methods.map((m) => m.name),
      score: sides.base.score,
      classMatch: sides.match.kind,
      compared: sides.targets ? { kind: 'given', targets: sides.targets.base.map(targetSpec) } : { kind: 'base-top-1' },
      coordinates: 'image',
      gridMaxSide: GRID_MAX_SIDE,
      thresholds,
      output: { dir: opts.overlays ? outDir : null },
      ...(sides.notes.length ? { notes: sides.notes } : {}),
      images: entries,
      ...(sharded ? { shard: { index: sharded.info.index, count: sharded.info.count, inputs: sharded.info.inputs } } : {}),
      summary,
    };
    if (opts.timings !== false) {
      const totalMs = performance.now() - t0;
      report.timings = { loadMs: round(sides.loadMs, 1), totalMs: round(totalMs, 1), perImageMs: round(total ? (totalMs - sides.loadMs) / total : 0, 1) };
    } else for (const e of entries) delete e.ms;
    return report;
  } finally {
    if (typeof opts.base === 'string') sides.base.model.dispose();
    if (typeof opts.head === 'string') sides.head.model.dispose();
  }
}
