/**
 * explain: images and folders in, overlays + report out.
 *
 * Each image goes through four stages: prepare (decode, fit to the input), compute (explain-tensor.ts),
 * render (overlays, sheets and .npy as in-memory files plus the report entry) and write. The first three run
 * wherever the model is (this thread, or a worker with --jobs); writing always happens on the main thread,
 * which therefore knows every file in flight and can remove them on Ctrl-C. One bad image is recorded as
 * failed and the rest go on; a model-level problem (CAM impossible, unknown layer) stops the run.
 */
import * as path from 'path';
import { availableParallelism } from 'os';
import * as tf from '@tensorflow/tfjs';
import { decodeImage, DecodedImage } from '../image/decode';
import { placement, toSource, Placement } from '../image/geometry';
import { Interpolation, resizeForModel } from '../image/resize';
import { DEFAULT_MAX_SIZE, FORMAT_EXT, renderOverlay, renderSignedOverlay, shrinkForOutput } from '../render/overlay';
import { renderGradientImage } from '../render/gradient';
import { drawingOf, type Drawing } from '../render/drawing';
export { drawingOf, drawnAsGradient, GRADIENT_METHODS, RENDER_MODES, type Drawing, type RenderMode } from '../render/drawing';
import { gradientLegend, heatmapLegend, signedLegend, type Legend } from '../render/legend';
import type { ColormapName, DivergingName } from '../render/colormap';
import { DEFAULT_OUTLIER_PERCENT } from '../render/signed';
import { comparisonSheet, SheetCell } from '../render/sheet';
import { encodeNpy } from '../report/npy';
import { ensureDir, removeStrayTempFiles, writeFileAtomic, writeImageFiles } from '../report/files';
import { ExplainReport, REPORT_SCHEMA, ReportImage, ReportMap } from '../report/schema';
import { methodSlug, slug } from '../util/names';
import { preprocessPixels, toInputTensor } from '../model/preprocess';
import { appliedChannels } from '../model/sidecar';
import { scaleSuspectNote } from './scale-check';
import { collectImages, ImageJob } from '../batch/walk';
import { applyShard } from '../batch/shard';
import { ChannelPool } from '../batch/channel-pool';
import { workersToStart } from '../batch/auto-jobs';
import { backendThreads } from '../backend';
import { defaultThreads } from '../backend/wasm-threads';
import { explainTensor, INPUT_LAYER, TensorExplanation } from './explain-tensor';
import { parseTarget, Target, targetLabel, targetSpec } from '../capture/targets';
import { peakOf, topMassShare } from './maps';
import { openSession, Session } from './session';
import { leftOutNote } from '../methods';
import { checkMethodOptions, methodSettingsOf } from './method-settings';
import { errorMessage, ModelError, UsageError, UserError } from '../util/errors';
import { REPORT_NAME, RunJournal, WantedOutputs } from './resume';
import { lockOutputDir } from '../report/lock';
import { withFileContext } from './error-context';
import { resolveResampling } from '../model/resolve';
import { TOOL_VERSION } from '../version';

import type { ExplainOptions, ExplainResult, ImageMaps, RenderedImage } from './explain-options';
export type { ExplainOptions, ExplainResult, ImageMaps, RenderedImage } from './explain-options';

export { slug, methodSlug } from '../util/names';

function stemOf(rel: string): string {
  return rel.slice(0, rel.length - path.extname(rel).length);
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

export interface Resampling {
  interpolation?: Interpolation;
  alignCorners?: boolean;
}

/** The resampling to use: the options (flags), else the sidecar's `preprocess`, else bilinear without aligned corners. */
export function resamplingOf(session: Session, given: Resampling = {}): Required<Resampling> {
  return resolveResampling(session.model.sidecar, given);
}

export async function prepareInput(session: Session, img: DecodedImage, resampling?: Resampling): Promise<{ x: tf.Tensor4D; place: Placement; pixels: Uint8Array }> {
  const [h, w, c] = session.model.classifier.inputShape;
  const place = placement(img.width, img.height, w, h, session.preprocess.resize);
  const pixels = await resizeForModel(img, place, { grayscale: session.grayscale, gray: session.preprocess.gray, ...resamplingOf(session, resampling) });
  return { x: toInputTensor(pixels, h, w, c, session.preprocess), place, pixels };
}

/**
 * An image ready for the model. The full-resolution pixels are not kept: only what the report needs of them (size,
 * source), the image scaled for the output files (`shown`, when files are written) and, with --save-input, the
 * model input's values. A 48-megapixel photo's 144 MB of pixels are so freed before the model runs, and the next
 * image (decoded meanwhile) never meets them.
 */
interface Prepared {
  job: ImageJob;
  source: Pick<DecodedImage, 'width' | 'height' | 'info'>;
  shown?: { img: DecodedImage; place: Placement };
  input?: Float32Array;
  x: tf.Tensor4D;
  place: Placement;
  decodeMs: number;
  shrinkMs: number;
}

/** The longest side of output pictures: --max-size, else 2048; 0 (full resolution) as undefined. */
export function outputMaxSize(opts: { maxSize?: number }): number | undefined {
  const m = opts.maxSize ?? DEFAULT_MAX_SIZE;
  return m > 0 ? m : undefined;
}

/** The legend of each way of drawing, for the sheet and the HTML report (signed ones without a clip value). */
export function legendOf(drawing: Drawing, opts: { colormap?: ColormapName; signedColormap?: DivergingName; outlierPercent?: number }): Legend {
  if (drawing === 'signed') return signedLegend(opts.signedColormap ?? 'bwr', { outlierPercent: opts.outlierPercent ?? DEFAULT_OUTLIER_PERCENT });
  if (drawing === 'gradient') return gradientLegend();
  return heatmapLegend(opts.colormap ?? 'jet');
}

/**
 * Why a map is flat, for the image's warnings. Every method ends with a ReLU: a raw map that is zero everywhere
 * means the weighted sum of the channels was <= 0 everywhere. Score-CAM's weights (a softmax) are positive, so
 * then the target layer's activations themselves are <= 0: a layer before its activation function.
 */
export function whyFlat(m: { method: string; raw: { data: Float32Array; layer?: string }[] }, label: string): string {
  const what = `the ${m.method} map of '${label}' is flat`;
  const zero = m.raw.every((r) => r.data.every((v) => v === 0));
  if (!zero && m.method === 'refinecam' && m.raw.length > 1) return `${what}: its layers' maps have no positive position in common, so their product is 0 everywhere`;
  if (!zero) return `${what}: it has no contrast (the same value everywhere)`;
  if (m.method === 'fem') return `${what}: no activation exceeds its channel's mean + k standard deviations (every weight is 0; a smaller --fem-k finds some), or the activations so weighted are <= 0`;
  if (m.method === 'kpca-cam') return `${what}: the first kernel principal component is <= 0 everywhere (or the centred kernel matrix has no positive eigenvalue); another --kpca-kernel may find structure`;
  if (m.method === 'guided-backprop' || m.method === 'guided-gradcam') {
    return `${what}: guided backprop lets only positive gradients through the ReLUs and none reaches the input (near the logits every path lowers this class's score, e.g. all its weights there are negative)`;
  }
  if (m.raw.every((r) => r.layer === INPUT_LAYER)) {
    return `${what}: the class score's gradient with respect to the input is zero everywhere (nothing in the image changes the score locally, e.g. every ReLU on the way is off)`;
  }
  if (m.method === 'scorecam') {
    return `${what}: the weighted sum of the channels is <= 0 everywhere, so the ReLU leaves nothing; Score-CAM's weights are positive, so the target layer's activations are <= 0 there: choose a layer after its activation function (e.g. a ReLU) with --layer`;
  }
  return `${what}: the weighted sum of the channels is <= 0 everywhere, so the ReLU leaves nothing (the class has no positive evidence at this layer)`;
}

const usesBaseline = (session: Session) => session.methods.some((m) => m.name === 'integrated-gradients');

/**
 * Integrated Gradients' baseline in model-input values: the given image fitted and preprocessed like the inputs,
 * else the black image (every pixel 0) preprocessed: zeros only where the scale starts at 0 with no mean.
 */
export async function baselineOf(session: Session, opts: { baselineImage?: string } & Resampling): Promise<Float32Array> {
  const [h, w, c] = session.model.classifier.inputShape;
  if (!opts.baselineImage) return preprocessPixels(new Uint8Array(h * w * c), h, w, c, session.preprocess);
  let img: DecodedImage;
  try {
    img = await decodeImage(opts.baselineImage);
  } catch (e) {
    throw new UsageError(`--baseline ${opts.baselineImage}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { x } = await prepareInput(session, img, opts);
  try {
    return Float32Array.from(x.dataSync());
  } finally {
    x.dispose();
  }
}

/**
 * --class's classes, then --target's targets, resolved against the model's labels; a target given twice is
 * explained once. Undefined: the top-k classes.
 */
export function resolveTargets(session: Session, opts: { classes?: (number | string)[]; targets?: (string | Target)[] }): Target[] | undefined {
  const all: Target[] = [
    ...(opts.classes ?? []).map((c): Target => ({ kind: 'class', index: session.classIndex(c) })),
    ...(opts.targets ?? []).map((t) => (typeof t === 'string' ? parseTarget(t, (c) => session.classIndex(c)) : t)),
  ];
  if (!all.length) return undefined;
  const seen = new Set<string>();
  return all.filter((t) => !seen.has(targetSpec(t)) && !!seen.add(targetSpec(t)));
}

/**
 * Reads what similar-to: and seg:...@mask targets name, before any image (an unreadable file stops the run, exit
 * 2): the reference image fitted and preprocessed as model input, with the embedding layer (`embeddingLayer`, else
 * the model's last global pooling layer); the mask at the model's output resolution (nearest neighbour, marked where
 * brighter than mid-grey). A seg: target on a model without a per-pixel output is refused here.
 */
export async function resolveImageTargets(session: Session, targets: Target[] | undefined, opts: { embeddingLayer?: string } & Resampling): Promise<Target[] | undefined> {
  // Named for nothing: a mistake worth a word, not silence.
  if (opts.embeddingLayer && !targets?.some((t) => t.kind === 'similarity')) throw new UsageError(`--embedding-layer ${opts.embeddingLayer}: no similar-to: target uses it`);
  if (!targets?.some((t) => t.kind === 'similarity' || t.kind === 'segment')) return targets;
  const c = session.model.classifier;
  let layer: string | undefined;
  const embeddingLayer = () => {
    if (layer) return layer;
    if (opts.embeddingLayer) {
      try {
        return (layer = c.resolveLayer(opts.embeddingLayer));
      } catch (e) {
        throw new UsageError(`--embedding-layer ${opts.embeddingLayer}: ${errorMessage(e)}`);
      }
    }
    try {
      if (!c.defaultEmbeddingLayer) throw new ModelError('this model format has no layers to read embeddings at');
      return (layer = c.defaultEmbeddingLayer());
    } catch (e) {
      throw new UsageError(`--target similar-to: ${errorMessage(e)}; name the layer with --embedding-layer`);
    }
  };
  const out: Target[] = [];
  for (const t of targets) {
    if (t.kind === 'similarity' && !t.reference) {
      const at = embeddingLayer();
      let img: DecodedImage;
      try {
        img = await decodeImage(t.image);
      } catch (e) {
        throw new UsageError(`--target similar-to:${t.image}: ${errorMessage(e)}`);
      }
      const { x } = await prepareInput(session, img, opts);
      try {
        out.push({ ...t, layer: t.layer ?? at, reference: Float32Array.from(x.dataSync()) });
      } finally {
        x.dispose();
      }
    } else if (t.kind === 'segment') {
      const seg = c.segmentation;
      if (!seg) throw new UsageError(`--target ${targetSpec(t)}: the model's output is one vector of class scores, not a per-pixel class map: seg: targets need a segmentation model`);
      if (t.maskFile && !t.mask) out.push({ ...t, mask: await readMask(t.maskFile, seg.width, seg.height, targetSpec(t)) });
      else out.push(t);
    } else out.push(t);
  }
  return out;
}

/** A mask image at width x height (nearest neighbour, grey levels), 1 where brighter than mid-grey. */
async function readMask(file: string, width: number, height: number, spec: string): Promise<Uint8Array> {
  let img: DecodedImage;
  try {
    img = await decodeImage(file);
  } catch (e) {
    throw new UsageError(`--target ${spec}: ${errorMessage(e)}`);
  }
  const mask = new Uint8Array(width * height);
  let inside = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // The source pixel whose area holds this pixel's centre.
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / width));
      const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / height));
      const at = (sy * img.width + sx) * 3;
      inside += mask[y * width + x] = (img.data[at] + img.data[at + 1] + img.data[at + 2]) / 3 > 127 ? 1 : 0;
    }
  }
  if (!inside) throw new UsageError(`--target ${spec}: the mask marks no pixel (white marks the segment, black the rest)`);
  return mask;
}

/** A target in file names: '<index>-<label>' for a class (as always), else 'logit-diff-3-5', 'sum-1-2', 'fn-<name>'. */
export function targetSlug(t: Target, labels: string[]): string {
  if (t.kind === 'class') return `${t.index}-${slug(labels[t.index])}`;
  if (t.kind === 'function') return `fn-${slug(t.name)}`;
  if (t.kind === 'similarity') return `similar-to-${slug(path.basename(t.image, path.extname(t.image)))}`;
  if (t.kind === 'segment') return `seg-${t.index}-${slug(labels[t.index] ?? String(t.index))}${t.maskFile ? `-${slug(path.basename(t.maskFile, path.extname(t.maskFile)))}` : ''}`;
  return `${t.kind}-${t.classes.join('-')}`;
}

/** Per-run settings shared by every image: the session plus the options that shape each image's work. */
export class ImagePipeline {
  constructor(
    readonly session: Session,
    readonly opts: ExplainOptions,
    readonly targets: Target[] | undefined,
    readonly writeFiles: boolean,
    readonly channelPool: ChannelPool | null = null,
  ) {
    const [h, w, c] = session.model.classifier.inputShape;
    if (usesBaseline(session) && !opts.methodOptions?.baseline) this.black = preprocessPixels(new Uint8Array(h * w * c), h, w, c, session.preprocess);
  }

  /** Integrated Gradients' default baseline: the black image, preprocessed. */
  private readonly black?: Float32Array;

  async prepare(job: ImageJob): Promise<Prepared> {
    const t0 = performance.now();
    const img = await decodeImage(job.file);
    const { x, place } = await prepareInput(this.session, img, this.opts);
    const t1 = performance.now();
    try {
      const input = this.writeFiles && this.opts.saveInput ? Float32Array.from(x.dataSync()) : undefined;
      const shown = this.writeFiles ? await shrinkForOutput(img, place, outputMaxSize(this.opts)) : undefined;
      const source = { width: img.width, height: img.height, info: img.info };
      return { job, source, shown, input, x, place, decodeMs: t1 - t0, shrinkMs: performance.now() - t1 };
    } catch (e) {
      x.dispose();
      throw e;
    }
  }

  compute(p: Prepared): TensorExplanation {
    try {
      return explainTensor(this.session.model.classifier, p.x, {
        methods: this.session.methods,
        layers: this.session.layers,
        targets: this.targets,
        topK: this.opts.topK ?? 3,
        score: this.session.score,
        methodOptions: this.black ? { ...this.opts.methodOptions, baseline: this.black } : this.opts.methodOptions,
        augSmooth: this.opts.augSmooth,
        aggregate: this.opts.aggregate,
        channelPool: this.channelPool,
        signedFor: this.writeFiles ? this.session.methods.map((m) => m.name).filter((m) => drawingOf(m, this.opts.render) !== 'heatmap') : undefined,
      });
    } finally {
      p.x.dispose();
    }
  }

  async render(p: Prepared, ex: TensorExplanation): Promise<RenderedImage> {
    const t1 = performance.now();
    const { session, opts } = this;
    const [inputH, inputW, channels] = session.model.classifier.inputShape;
    const stem = p.job.stem ?? stemOf(p.job.rel);
    const files: RenderedImage['files'] = [];
    const file = (rel: string, data: Uint8Array) => (files.push({ rel, data }), rel);
    const img = p.source;
    const entry: ReportImage = {
      file: p.job.file,
      status: 'ok',
      width: img.width,
      height: img.height,
      source: { format: img.info.format, pages: img.info.pages, hadAlpha: img.info.hadAlpha, ...(img.info.orientation ? { orientation: img.info.orientation } : {}) },
      top: ex.top.map((t) => ({ index: t.index, label: session.labels[t.index], logit: round(t.logit, 4), probability: round(t.probability, 4) })),
      maps: [],
    };
    // NaN or infinite scores (broken weights, an overflow) make every map flat and the report's scores null (JSON
    // has no NaN): say why rather than leave an empty picture unexplained.
    if (Array.from(ex.logits).some((v) => !Number.isFinite(v))) {
      entry.warnings = ["the model's scores are not finite numbers (NaN or infinity): check its weights; the maps are empty"];
    }
    if (this.writeFiles && opts.saveInput && p.input) {
      entry.files = { input: file(`${stem}.input.npy`, encodeNpy(p.input, [1, inputH, inputW, channels])) };
    }
    const sheetCells: SheetCell[] | null = this.writeFiles && (opts.sheet ?? session.methods.length > 1) ? [] : null;
    let flatWarnings: string[] | undefined;
    const format = opts.format ?? 'png';
    const ext = FORMAT_EXT[format];
    const shown = p.shown;
    const legends = opts.legend === 'below';
    const heatmapLegendStrip = legends ? heatmapLegend(opts.colormap ?? 'jet') : undefined;
    // A full-resolution picture of a big photo is hundreds of MB while it is made and encoded: one at a time then.
    const oneAtATime = !!shown && shown.img.width * shown.img.height > BIG_PICTURE_PIXELS;
    const drawings = new Set<Drawing>();
    // Each map's pixels are made here in turn and its encoding runs on sharp's threads while the next map is
    // made; the files are added in map order once all are encoded (the encodings are what takes time).
    const writes: (() => Promise<void>)[] = [];
    for (const m of ex.maps) {
      const isClass = m.target.kind === 'class';
      const label = isClass ? session.labels[m.classIndex] : targetLabel(m.target, session.labels);
      const base = `${stem}.${methodSlug(m.method)}.${targetSlug(m.target, session.labels)}`;
      const peakIn = peakOf(m.map, inputW);
      const peak = toSource(p.place, peakIn.x, peakIn.y);
      const rm: ReportMap = {
        // A class target names its class; any other target says what it is instead.
        ...(isClass ? { class: { index: m.classIndex, label } } : { target: { spec: targetSpec(m.target), label } }),
        method: m.method,
        // A pixel-level method uses no target layer.
        layers: m.raw.every((r) => r.layer === INPUT_LAYER) ? [] : session.layers,
        files: {},
        // A flat map has no maximum: any pixel would do, so none is reported.
        peak: m.flat ? null : { x: round(peak.x, 1), y: round(peak.y, 1) },
        topMassShare: round(topMassShare(m.map), 4),
        flat: m.flat,
        ...(m.completenessError !== undefined ? { completenessError: round(m.completenessError, 6) } : {}),
        ...(m.comparedWith ? { comparedWith: m.comparedWith.map((i) => ({ index: i, label: session.labels[i] ?? String(i) })) } : {}),
      };
      if (shown) {
        // Without the signed attribution (not kept for this method), a signed method is drawn as a heatmap.
        const drawing = m.signed ? drawingOf(m.method, opts.render) : 'heatmap';
        drawings.add(drawing);
        const look = { alpha: opts.alpha ?? 0.5, format, quality: opts.quality, heatmap: !!opts.heatmap };
        // A signed map and its heatmap on the diverging scale; a gradient image takes the overlay's place (and
        // name), --heatmap still writing the magnitude's heatmap beside it; else the heatmap overlay.
        const rendering =
          drawing === 'signed'
            ? renderSignedOverlay(shown.img, m.signed!, inputW, inputH, channels, shown.place, { ...look, colormap: opts.signedColormap, outlierPercent: opts.outlierPercent, legend: legends })
            : drawing === 'heatmap' || opts.heatmap
              ? renderOverlay(shown.img, m.map, inputW, inputH, shown.place, { ...look, colormap: opts.colormap ?? 'jet', legend: heatmapLegendStrip })
              : null;
        const gradient = drawing === 'gradient' ? renderGradientImage(shown.img, m.signed!, inputW, inputH, channels, shown.place, { bgr: session.preprocess.bgr, format, quality: opts.quality, legend: legends ? gradientLegend() : undefined }) : null;
        // Settled now and read below, so a failure is never an unhandled rejection meanwhile.
        rendering?.catch(() => undefined);
        gradient?.catch(() => undefined);
        if (oneAtATime) await Promise.allSettled([rendering, gradient]);
        writes.push(async () => {
          const rendered = rendering ? await rendering : null;
          const picture = gradient ? await gradient : rendered!.overlay;
          rm.files.overlay = file(`${base}.${ext}`, picture);
          sheetCells?.push({ image: picture, row: session.methods.find((x) => x.name === m.method)!.title, col: label });
          if (opts.heatmap && rendered?.heatmap) rm.files.heatmap = file(`${base}.heatmap.${ext}`, rendered.heatmap);
          if (opts.saveRaw) {
            rm.files.raw = m.raw.map((r) => file(`${base}${m.raw.length > 1 ? `.${slug(r.layer)}` : ''}.raw.npy`, encodeNpy(r.data, [r.height, r.width])));
          }
        });
      }
      entry.maps!.push(rm);
      if (m.flat && !entry.warnings) (flatWarnings ??= []).push(whyFlat(m, label));
    }
    for (const w of writes) await w();
    if (flatWarnings) entry.warnings = [...(entry.warnings ?? []), ...flatWarnings];
    if (ex.warnings.length) entry.warnings = [...(entry.warnings ?? []), ...ex.warnings];
    if (sheetCells?.length) {
      // rows: methods in the order run; columns: classes
      const rows = session.methods.map((meth) => sheetCells.filter((c) => c.row === meth.title));
      // The colour scale of every way the cells are drawn, under the grid.
      const scales = (['heatmap', 'signed', 'gradient'] as Drawing[]).filter((d) => drawings.has(d)).map((d) => legendOf(d, opts));
      entry.files = { ...entry.files, sheet: file(`${stem}.sheet.${ext}`, await comparisonSheet(rows, { format, quality: opts.quality, legends: scales, maxSide: outputMaxSize(opts) })) };
    }
    entry.timings = {
      decodeMs: round(p.decodeMs, 1),
      forwardMs: round(ex.timings.forwardMs, 1),
      backwardMs: round(ex.timings.backwardMs, 1),
      methodMs: round(ex.timings.methodMs, 1),
      renderMs: round(performance.now() - t1 + p.shrinkMs, 1),
      totalMs: 0,
    };
    const maps = opts.returnMaps
      ? { file: p.job.file, maps: ex.maps.map((m) => ({ method: m.method, classIndex: m.classIndex, label: m.target.kind === 'class' ? session.labels[m.classIndex] : targetLabel(m.target, session.labels), target: targetSpec(m.target), map: m.map, width: inputW, height: inputH, flat: m.flat })) }
      : undefined;
    return { entry, files, maps };
  }

  /**
   * Runs jobs one after another, decoding the next image while this one is computed and rendering this one
   * while the next is computed (sharp works on its own threads). `next` yields jobs (null: no more);
   * `done` receives each outcome in order.
   */
  async runSequence(next: () => Promise<ImageJob | null>, done: (r: RenderedImage) => Promise<void> | void): Promise<void> {
    type Loaded = { job: ImageJob; p?: Prepared; e?: unknown };
    const load = async (): Promise<Loaded | null> => {
      const job = await next();
      if (!job) return null;
      try {
        return { job, p: await this.prepare(job) };
      } catch (e) {
        return { job, e };
      }
    };
    let got = await load();
    let rendering: Promise<void> | null = null;
    while (got) {
      const started = performance.now();
      const upcoming = load(); // the next image decodes while this one computes
      let outcome: Promise<RenderedImage>;
      if (!got.p) outcome = Promise.resolve(failed(got.job, got.e));
      else {
        const { job, p } = got;
        try {
          const ex = this.compute(p);
          outcome = this.render(p, ex).catch((e: unknown) => failed(job, e));
        } catch (e) {
          if (isFatal(e)) throw e;
          outcome = Promise.resolve(failed(job, e));
        }
      }
      if (rendering) await rendering;
      rendering = outcome.then((r) => {
        if (r.entry.timings) r.entry.timings.totalMs = round(performance.now() - started + r.entry.timings.decodeMs, 1);
        return done(r);
      });
      got = await upcoming;
    }
    if (rendering) await rendering;
  }
}

/** Pictures larger than this (pixels) are made one at a time: 16 MP, i.e. --max-size 0 on a big photo. */
const BIG_PICTURE_PIXELS = 16e6;

/** More classes than this per image make a long backward pass and many overlays: isolated like Score-CAM. */
const LONG_CLASS_COUNT = 16;

/** Model-level errors are the same for every image: they stop the run instead of failing each image. */
export function isFatal(e: unknown): boolean {
  return e instanceof UserError && e.name === 'ModelError';
}

export function failed(job: ImageJob, e: unknown): RenderedImage {
  if (!(e instanceof Error && ['UserError', 'ModelError', 'UsageError', 'ImageError', 'OutputExistsError'].includes(e.name)) && process.env.TFJS_CAM_DEBUG) console.error(e);
  return { entry: { file: job.file, status: 'error', error: errorMessage(e) }, files: [] };
}

/** `targets`: what resolveTargets made of --class and --target (undefined: the top k). */
export function baseReport(session: Session, opts: ExplainOptions, outDir: string | null, targets?: Target[]): ExplainReport {
  const c = session.model.classifier;
  return {
    schema: REPORT_SCHEMA,
    tool: { name: 'tfjs-cam', version: TOOL_VERSION },
    model: {
      source: session.model.source,
      sha256: session.model.sha256,
      format: c.format,
      inputSize: c.inputShape,
      classes: c.numClasses,
      softmaxSteppedOver: c.softmaxSteppedOver,
      head: c.head.kind,
      ...(c.head.binary ? { binary: true } : {}),
      ...(c.head.activationAt ? { headActivation: c.head.activationAt } : {}),
    },
    labelsSource: session.labelsSource,
    backend: session.backend,
    method: session.methods.map((m) => m.name).join(','),
    methods: session.methods.map((m) => m.name),
    ...(opts.augSmooth ? { augSmooth: true } : {}),
    ...(opts.methodOptions?.eigenSmooth ? { eigenSmooth: true } : {}),
    ...methodSettingsOf(session.methods, session.layers, opts.methodOptions, opts.aggregate),
    layers: session.layers,
    score: session.score,
    preprocessing: { ...session.preprocess, grayscale: session.grayscale, ...resamplingOf(session, opts), ...(session.inputRangeFrom ? { inputRangeFrom: session.inputRangeFrom } : {}), channels: appliedChannels(session.preprocess, c.inputShape[2]) },
    output: {
      dir: outDir,
      colormap: opts.colormap ?? 'jet',
      alpha: opts.alpha ?? 0.5,
      format: opts.format ?? 'png',
      ...(opts.format && opts.format !== 'png' ? { quality: opts.quality ?? 90 } : {}),
      // null: the image's own size (--max-size 0)
      maxSize: outputMaxSize(opts) ?? null,
      render: opts.render ?? 'auto',
      // Which files each image gets: shards that disagree on them are not one run (merge compares `output` whole).
      heatmap: !!opts.heatmap,
      saveRaw: !!opts.saveRaw,
      saveInput: !!opts.saveInput,
      sheet: opts.sheet ?? session.methods.length > 1,
      // Recorded only where they change a picture, so that --resume compares them only then.
      ...(session.methods.some((m) => drawingOf(m.name, opts.render) === 'signed') ? { signedColormap: opts.signedColormap ?? 'bwr', outlierPercent: opts.outlierPercent ?? DEFAULT_OUTLIER_PERCENT } : {}),
      ...(opts.legend === 'below' ? { legend: 'below' } : {}),
    },
    explained: targets ? { targets: targets.map(targetSpec) } : { topK: opts.topK ?? 3 },
    ...runNotes(session, opts),
    images: [],
    summary: { images: 0, succeeded: 0, failed: 0 },
  };
}

/**
 * What the user should know about the run as a whole, said once, in the report and on stderr: the methods
 * `--method all` left out, and an explicit -k above the class count, which is clamped rather than refused (a script
 * may pass -k 5 to any model). Without -k the default of 3 quietly becomes the class count of a smaller model.
 */
function runNotes(session: Session, opts: ExplainOptions): { notes?: string[] } {
  const notes: string[] = [...session.notes];
  const leftOut = leftOutNote(session.methodsLeftOut);
  if (leftOut) notes.push(leftOut);
  const n = session.model.classifier.numClasses;
  if (!opts.classes?.length && opts.topK != null && opts.topK > n) notes.push(`--top-k ${opts.topK} is more than the model's ${n} classes: all ${n} are explained`);
  return notes.length ? { notes } : {};
}

/** Writes an image's files (main thread only); a file that cannot be written fails that image. */
async function writeRendered(r: RenderedImage, outDir: string | null, force: boolean): Promise<ReportImage> {
  if (!outDir || r.entry.status !== 'ok') return r.entry;
  const error = await writeImageFiles(r.files, outDir, force);
  return error ? { file: r.entry.file, status: 'error', error } : r.entry;
}

/**
 * `--out` equal to an input folder that holds images would mix outputs with the images (and a second run would
 * explain its own overlays): refused. An output folder inside an input folder is skipped by the walk instead.
 */
function refuseOutputAsInput(inputs: string[], outDir: string): void {
  for (const input of inputs) {
    if (path.resolve(input) !== outDir) continue;
    if (collectImages([input], { exclude: null }).jobs.length) {
      throw new UsageError(`${outDir}: the output folder is an input folder that holds images; choose another --out (e.g. ${path.join(input, 'cam-out')})`);
    }
  }
}

/** The options that shape the pictures, checked before any work (the CLI checks its flags the same way). */
function checkPictureOptions(opts: ExplainOptions): void {
  const { maxSize, outlierPercent } = opts;
  if (maxSize !== undefined && maxSize !== 0 && !(Number.isInteger(maxSize) && maxSize >= 16)) {
    throw new UsageError(`maxSize must be 0 (the image's own size) or a whole number >= 16, got ${maxSize}`);
  }
  if (outlierPercent !== undefined && !(outlierPercent >= 0 && outlierPercent < 100)) {
    throw new UsageError(`outlierPercent must be a number from 0 up to (not including) 100, got ${outlierPercent}`);
  }
}

/** Explains every image found in `inputs` (files or folders, recursively). */
export async function explain(inputs: string[], opts: ExplainOptions): Promise<ExplainResult> {
  try {
    return await explainRun(inputs, opts);
  } catch (e) {
    throw withFileContext(e, opts.model, opts.labels);
  }
}

async function explainRun(inputs: string[], given: ExplainOptions): Promise<ExplainResult> {
  const t0 = performance.now();
  checkPictureOptions(given);
  const session = await openSession(given);
  // A baseline image is read once, before any image (an unreadable one stops the run), and travels to the workers.
  const baseline = given.baselineImage && usesBaseline(session) ? await baselineOf(session, given) : undefined;
  const withBaseline: ExplainOptions = baseline ? { ...given, methodOptions: { ...given.methodOptions, baseline } } : given;
  // Method options checked (a bad one stops the run before any image) and Finer-CAM's classes resolved.
  const opts: ExplainOptions = { ...withBaseline, methodOptions: checkMethodOptions(withBaseline.methodOptions, given.finerCompare, (c) => session.classIndex(c), resolveTargets(session, withBaseline), session.methods) };
  let openJournal: RunJournal | null = null;
  let lock: { release(): void } | null = null;
  try {
    const outDir = opts.out === null ? null : path.resolve(opts.out ?? 'cam-out');
    // The same class asked for twice (by index and by label) is explained once: one file per (image, method, class).
    const targets = await resolveImageTargets(session, resolveTargets(session, opts), opts);
    const classes = targets?.every((t) => t.kind === 'class') ? targets.map((t) => (t as { index: number }).index) : undefined;
    // A function target cannot travel to a worker thread, nor can a similar-to:/seg: target's images (kept as
    // arrays): such a run stays in this thread.
    const local = !!targets?.some((t) => t.kind === 'function' || t.kind === 'similarity' || t.kind === 'segment');
    if (outDir) refuseOutputAsInput(inputs, outDir);
    const walked = collectImages(inputs, { exclude: outDir });
    // A shard keeps its part of the whole list, walked in full so that output names are those of a single run.
    const sharded = opts.shard ? applyShard(walked, opts.shard) : null;
    const { jobs, problems } = sharded?.walk ?? walked;
    const report = baseReport(session, opts, outDir, targets);
    // process.cwd(): what relative inputs were resolved against, for merge to link the images from anywhere.
    if (sharded) report.shard = { ...sharded.info, positions: [], cwd: process.cwd() };
    // A shard writes its report even when its part is empty: merge needs every shard's.
    const writes = !!outDir && (jobs.length > 0 || !!sharded);
    const total = jobs.length + problems.length;
    const entries: ReportImage[] = [];
    const mapsByFile = new Map<string, ImageMaps>();
    // onImage in input order, whatever order images finish in (workers, a slow image): each outcome waits for
    // those before it, so the console lists images as they were given.
    const position = new Map(jobs.map((j, i) => [j.file, problems.length + i]));
    const waiting = new Map<number, { entry: ReportImage; resumed: boolean }>();
    let nextOut = 0;
    const record = (entry: ReportImage, resumed = false, at = position.get(entry.file) ?? -1) => {
      entries.push(entry);
      if (at < 0) return opts.onImage?.(nextOut, total, entry, resumed);
      waiting.set(at, { entry, resumed });
      for (let w = waiting.get(nextOut); w; w = waiting.get(nextOut)) {
        waiting.delete(nextOut++);
        opts.onImage?.(nextOut, total, w.entry, w.resumed);
      }
    };
    problems.forEach((p, i) => record({ file: p.input, status: 'error', error: p.message }, false, i));
    if (outDir && writes) {
      await ensureDir(outDir);
      lock = lockOutputDir(outDir);
      // What a killed run (SIGKILL, power cut) could not remove: never left to pile up, and --resume starts clean.
      removeStrayTempFiles(outDir);
    }
    // Refuses to replace an earlier run's report unless --force/--resume; with --resume, skips what is done.
    const journal = (openJournal = outDir && writes ? RunJournal.open(outDir, report, opts) : null);
    const want: WantedOutputs = { methods: report.methods, classes, targets: targets && !classes ? targets.map(targetSpec) : undefined, topK: opts.topK ?? 3, numClasses: session.model.classifier.numClasses, heatmap: !!opts.heatmap, saveRaw: !!opts.saveRaw, saveInput: !!opts.saveInput };
    const carried = journal && opts.resume ? journal.others(new Set(jobs.map((j) => j.file)), want) : [];
    const todo = journal && opts.resume ? jobs.filter((j) => {
      const earlier = journal.done(j.file, want);
      if (earlier) record({ ...earlier, file: j.file }, true);
      return !earlier;
    }) : jobs;
    // A failure that stops the run (a full disk) is kept here: no more images are started, and it is thrown once
    // those in flight are done, never left as a rejected promise that nothing awaits yet (which would crash Node).
    let stopped: { error: unknown } | null = null;
    const halt = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, halt.signal]) : halt.signal;
    const onRendered = async (r: RenderedImage) => {
      if (stopped) return;
      try {
        if (r.maps) mapsByFile.set(r.entry.file, r.maps);
        // --resume redoes unfinished images: what they left behind is replaced.
        const entry = await writeRendered(r, outDir, !!opts.force || !!opts.resume);
        if (entry.status === 'ok') journal?.record(entry);
        record(entry);
      } catch (e) {
        stopped = { error: e };
        halt.abort();
      }
    };
    const auto = opts.jobs === 'auto';
    const jobsN = opts.jobs === 'auto' ? availableParallelism() : (opts.jobs ?? 1);
    const workers = Math.min(jobsN, todo.length);
    const classCount = classes?.length ?? Math.min(opts.topK ?? 3, session.model.classifier.numClasses);
    const longWork = session.methods.some((m) => !!m.channelScores || ['smoothgradcam++', 'smoothgrad', 'integrated-gradients'].includes(m.name)) || classCount > LONG_CLASS_COUNT;
    const isolate = !!opts.isolateLongWork && longWork && todo.length > 0;
    // A threaded backend already puts every core on one image's kernels; extra backends for Score-CAM's and
    // Ablation-CAM's channels would only compete with it. Without threads, spare threads score channels.
    const threaded = backendThreads() > 1;
    const canSpawn = typeof opts.model === 'string' && !local;
    if (isolate && canSpawn) {
      const { runInWorkers } = await import('../batch/pool');
      // Long work runs off this thread (Ctrl-C stays instant); with several images, on every worker at once.
      const count = Math.max(1, workers);
      // One worker for the long work of few images: it spreads channels over the other threads itself.
      const channelThreads = count === 1 && !threaded ? Math.min(jobsN, 64) - 1 : 0;
      // Asked-for threads are shared by the backends that compute at once (the main thread's waits).
      const threads = defaultThreads(count + channelThreads, opts.threads);
      await runInWorkers(todo, count, { ...opts, classes: undefined, targets, signal, channelThreads, threads }, onRendered);
    } else if (workers > 1 && canSpawn) {
      // This thread's model is loaded already: it starts on the images at once. Workers (each starting a backend
      // and loading its own model) are started after its first image for --jobs n, and for --jobs auto only once
      // they pay for themselves (see auto-jobs.ts: decided again after each image until then). They take images
      // from the same queue; workers still starting when it runs dry are stopped, not awaited.
      const { runInWorkers } = await import('../batch/pool');
      let i = 0;
      const take = () => (signal.aborted ? null : todo[i++] ?? null);
      let mainDone!: () => void;
      const idle = new Promise<void>((r) => (mainDone = r));
      let helpers: Promise<void> | null = null;
      const started = performance.now();
      const finishedAt: number[] = [];
      const onMainRendered = async (r: RenderedImage) => {
        if (!helpers) {
          finishedAt.push(performance.now() - started);
          const left = todo.length - i;
          const count = auto ? workersToStart({ finishedAt, left, loadMs: session.loadMs, max: workers - 1 }) : Math.min(workers - 1, left);
          if (count > 0) {
            helpers = runInWorkers(take, count, { ...opts, classes: undefined, targets, signal, channelThreads: 0, threads: defaultThreads(count + 1, opts.threads) }, onRendered, idle);
            // Its rejection is read below, after this thread's share; never left unhandled meanwhile.
            helpers.catch(() => undefined);
          } else if (!auto || left === 0) helpers = Promise.resolve();
        }
        return onRendered(r);
      };
      const pipeline = new ImagePipeline(session, opts, targets, outDir !== null, null);
      try {
        await pipeline.runSequence(async () => take(), onMainRendered);
      } finally {
        mainDone();
      }
      await helpers;
    } else {
      // Fewer images than threads: spread Score-CAM's and Ablation-CAM's channels over the spare threads instead.
      const spare = threaded ? 0 : Math.min(jobsN, 64) - 1;
      const pool = spare > 0 && session.methods.some((m) => m.channelScores) ? await ChannelPool.start(spare, opts) : null;
      const pipeline = new ImagePipeline(session, opts, targets, outDir !== null, pool);
      let i = 0;
      try {
        await pipeline.runSequence(async () => (signal.aborted ? null : todo[i++] ?? null), onRendered);
      } finally {
        await pool?.close();
      }
    }
    if (stopped) throw (stopped as { error: unknown }).error;
    // Report order is input order, whatever order the images finished in.
    const order = new Map<string, number>([...problems.map((p) => p.input), ...jobs.map((j) => j.file)].map((f, i) => [f, i]));
    report.images = [...carried, ...entries.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0))];
    if (sharded && report.shard) {
      // Each entry's place in the whole list, for merge; an image carried from an earlier --resume over another
      // list has none (-1: merge refuses it). A missing path given twice is two entries: a queue per name.
      const places = new Map<string, number[]>();
      [...problems.map((p) => p.input), ...jobs.map((j) => j.file)].forEach((f, i) => places.set(f, [...(places.get(f) ?? []), sharded.positions[i]]));
      report.shard.positions = report.images.map((e) => places.get(e.file)?.shift() ?? -1);
    }
    const ok = report.images.filter((i) => i.status === 'ok');
    report.summary = { images: report.images.length, succeeded: ok.length, failed: report.images.length - ok.length };
    // Once per run, from every image's top class (workers' images included: they are all here).
    const suspect = session.preprocess.sources.scale === 'default' ? scaleSuspectNote(ok, session.preprocess.scale) : null;
    if (suspect) report.notes = [...(report.notes ?? []), suspect];
    if (opts.timings !== false) {
      const totalMs = performance.now() - t0;
      // Wall time per image of this run: images overlap (decode, compute, render; workers), so averaging their own
      // totalMs double-counted. Model loading is left out; images done by an earlier run (--resume) are not counted.
      const worked = todo.length + problems.length;
      report.timings = { loadMs: round(session.loadMs, 1), totalMs: round(totalMs, 1), perImageMs: round(worked ? (totalMs - session.loadMs) / worked : 0, 1) };
    } else {
      for (const i of report.images) delete i.timings;
    }
    if (outDir && writes) {
      await writeFileAtomic(path.join(outDir, REPORT_NAME), JSON.stringify(report, null, 2) + '\n', { overwrite: !!opts.force || !!opts.resume });
      journal?.finish();
    }
    const maps = opts.returnMaps ? jobs.map((j) => mapsByFile.get(j.file)).filter((m): m is ImageMaps => !!m) : undefined;
    return { report, maps };
  } catch (e) {
    // A run stopped before finishing any image (a model error at the first one) leaves nothing to resume.
    openJournal?.abandon();
    throw e;
  } finally {
    lock?.release();
    if (typeof opts.model === 'string') session.model.dispose();
  }
}
