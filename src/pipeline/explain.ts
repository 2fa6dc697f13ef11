/**
 * explain: images and folders in, overlays + report out. Each image is decoded, fitted to the model input,
 * explained (explain-tensor.ts) and rendered; one bad image is recorded as failed and the rest go on.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { decodeImage, DecodedImage } from '../image/decode';
import { placement, toSource, Placement } from '../image/geometry';
import { resizeForModel } from '../image/resize';
import { renderOverlay } from '../render/overlay';
import { ColormapName } from '../render/colormap';
import { comparisonSheet, SheetCell } from '../render/sheet';
import { MethodOptions } from '../methods';
import { encodeNpy } from '../report/npy';
import { ensureDir, writeFileAtomic } from '../report/files';
import { ExplainReport, REPORT_SCHEMA, ReportImage, ReportMap } from '../report/schema';
import { toInputTensor } from '../model/preprocess';
import { collectImages, ImageJob } from '../batch/walk';
import { explainTensor, ClassMap } from './explain-tensor';
import { peakOf, topMassShare } from './maps';
import { openSession, Session, SessionOptions } from './session';
import { errorMessage, UserError } from '../util/errors';
import { TOOL_VERSION } from '../version';

export interface ExplainOptions extends SessionOptions {
  /** Output folder; null writes no files (library use). Default './cam-out'. */
  out?: string | null;
  topK?: number;
  /** Classes by index or label; overrides topK. */
  classes?: (number | string)[];
  colormap?: ColormapName;
  alpha?: number;
  /** Also write the heatmap alone as PNG. */
  heatmap?: boolean;
  saveRaw?: boolean;
  saveInput?: boolean;
  /** Overwrite existing outputs. */
  force?: boolean;
  /** Keep timings in the report (default true). */
  timings?: boolean;
  /** Options of the longer methods (batch size, channels, noise, eigen smoothing). */
  methodOptions?: Partial<MethodOptions>;
  /** Test-time augmentation smoothing. */
  augSmooth?: boolean;
  /** With several methods or classes: a comparison sheet PNG per image (default: when several methods run). */
  sheet?: boolean;
  /** Return each image's maps as arrays in the result. */
  returnMaps?: boolean;
  onImage?: (done: number, total: number, image: ReportImage) => void;
  /** Stop after the image in flight when aborted. */
  signal?: AbortSignal;
}

export interface ImageMaps {
  file: string;
  /** Maps at the model's input resolution, row-major, values in [0, 1]. */
  maps: { method: string; classIndex: number; label: string; map: Float32Array; width: number; height: number; flat: boolean }[];
}

export interface ExplainResult {
  report: ExplainReport;
  maps?: ImageMaps[];
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'class';
}

function stemOf(rel: string): string {
  return rel.slice(0, rel.length - path.extname(rel).length);
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

export async function prepareInput(session: Session, img: DecodedImage): Promise<{ x: tf.Tensor4D; place: Placement; pixels: Uint8Array }> {
  const [h, w, c] = session.model.classifier.inputShape;
  const place = placement(img.width, img.height, w, h, session.preprocess.resize);
  const pixels = await resizeForModel(img, place, { grayscale: session.grayscale });
  return { x: toInputTensor(pixels, h, w, c, session.preprocess), place, pixels };
}

async function explainOne(session: Session, job: ImageJob, opts: ExplainOptions, classes: number[] | undefined, outDir: string | null): Promise<{ entry: ReportImage; maps?: ImageMaps }> {
  const t0 = performance.now();
  const img = await decodeImage(job.file);
  const decodeMs = performance.now() - t0;
  const [inputH, inputW] = session.model.classifier.inputShape;
  const { x, place } = await prepareInput(session, img);
  let ex;
  try {
    ex = explainTensor(session.model.classifier, x, {
      methods: session.methods,
      layers: session.layers,
      classes,
      topK: opts.topK ?? 3,
      score: session.score,
      methodOptions: opts.methodOptions,
      augSmooth: opts.augSmooth,
    });
  } finally {
    x.dispose();
  }
  const t1 = performance.now();
  const stem = stemOf(job.rel);
  const write = async (rel: string, data: Buffer) => {
    await ensureDir(path.dirname(path.join(outDir!, rel)));
    await writeFileAtomic(path.join(outDir!, rel), data, { overwrite: !!opts.force });
    return rel;
  };
  const entry: ReportImage = {
    file: job.file,
    status: 'ok',
    width: img.width,
    height: img.height,
    source: { format: img.info.format, pages: img.info.pages, hadAlpha: img.info.hadAlpha, ...(img.info.orientation ? { orientation: img.info.orientation } : {}) },
    top: ex.top.map((p) => ({ index: p.index, label: session.labels[p.index], logit: round(p.logit, 4), probability: round(p.probability, 4) })),
    maps: [],
  };
  if (outDir && opts.saveInput) {
    const [h, w, c] = session.model.classifier.inputShape;
    const again = await prepareInput(session, img);
    const data = again.x.dataSync() as Float32Array;
    again.x.dispose();
    entry.files = { input: await write(`${stem}.input.npy`, encodeNpy(data, [1, h, w, c])) };
  }
  const wantSheet = outDir && (opts.sheet ?? session.methods.length > 1);
  const sheetCells: SheetCell[] | null = wantSheet ? [] : null;
  for (const m of ex.maps as ClassMap[]) {
    const label = session.labels[m.classIndex];
    const base = `${stem}.${m.method.replace(/\+/g, 'pp')}.${m.classIndex}-${slug(label)}`;
    const peakIn = peakOf(m.map, inputW);
    const peak = toSource(place, peakIn.x, peakIn.y);
    const rm: ReportMap = {
      class: { index: m.classIndex, label },
      method: m.method,
      layers: session.layers,
      files: {},
      peak: { x: round(peak.x, 1), y: round(peak.y, 1) },
      topMassShare: round(topMassShare(m.map), 4),
      flat: m.flat,
    };
    if (outDir) {
      const rendered = await renderOverlay(img, m.map, inputW, inputH, place, { colormap: opts.colormap ?? 'jet', alpha: opts.alpha ?? 0.5 });
      rm.files.overlay = await write(`${base}.png`, rendered.overlay);
      if (sheetCells) sheetCells.push({ image: rendered.overlay, row: session.methods.find((x) => x.name === m.method)!.title, col: label });
      if (opts.heatmap) rm.files.heatmap = await write(`${base}.heatmap.png`, rendered.heatmap);
      if (opts.saveRaw) {
        rm.files.raw = [];
        for (const r of m.raw) {
          const suffix = m.raw.length > 1 ? `.${slug(r.layer)}` : '';
          rm.files.raw.push(await write(`${base}${suffix}.raw.npy`, encodeNpy(r.data, [r.height, r.width])));
        }
      }
    }
    entry.maps!.push(rm);
  }
  if (sheetCells && sheetCells.length) {
    // rows: methods in the order run; columns: classes
    const rows = session.methods.map((meth) => sheetCells.filter((c) => c.row === meth.title));
    entry.files = { ...entry.files, sheet: await write(`${stem}.sheet.png`, await comparisonSheet(rows)) };
  }
  const renderMs = performance.now() - t1;
  entry.timings = {
    decodeMs: round(decodeMs, 1),
    forwardMs: round(ex.timings.forwardMs, 1),
    backwardMs: round(ex.timings.backwardMs, 1),
    methodMs: round(ex.timings.methodMs, 1),
    renderMs: round(renderMs, 1),
    totalMs: round(performance.now() - t0, 1),
  };
  const maps = opts.returnMaps
    ? { file: job.file, maps: ex.maps.map((m) => ({ method: m.method, classIndex: m.classIndex, label: session.labels[m.classIndex], map: m.map, width: inputW, height: inputH, flat: m.flat })) }
    : undefined;
  return { entry, maps };
}

export function baseReport(session: Session, opts: ExplainOptions, outDir: string | null): ExplainReport {
  const c = session.model.classifier;
  return {
    schema: REPORT_SCHEMA,
    tool: { name: 'tfjs-cam', version: TOOL_VERSION },
    model: { source: session.model.source, sha256: session.model.sha256, format: c.format, inputSize: c.inputShape, classes: c.numClasses, softmaxSteppedOver: c.softmaxSteppedOver },
    backend: session.backend,
    method: session.methods.map((m) => m.name).join(','),
    methods: session.methods.map((m) => m.name),
    ...(opts.augSmooth ? { augSmooth: true } : {}),
    ...(opts.methodOptions?.eigenSmooth ? { eigenSmooth: true } : {}),
    layers: session.layers,
    score: session.score,
    preprocessing: { ...session.preprocess, grayscale: session.grayscale },
    output: { dir: outDir, colormap: opts.colormap ?? 'jet', alpha: opts.alpha ?? 0.5 },
    images: [],
    summary: { images: 0, succeeded: 0, failed: 0 },
  };
}

/** Explains every image found in `inputs` (files or folders, recursively). */
export async function explain(inputs: string[], opts: ExplainOptions): Promise<ExplainResult> {
  const t0 = performance.now();
  const session = await openSession(opts);
  try {
    const outDir = opts.out === null ? null : path.resolve(opts.out ?? 'cam-out');
    const classes = opts.classes?.length ? opts.classes.map((c) => session.classIndex(c)) : undefined;
    const { jobs, problems } = collectImages(inputs);
    const report = baseReport(session, opts, outDir);
    const mapsOut: ImageMaps[] = [];
    for (const p of problems) report.images.push({ file: p.input, status: 'error', error: p.message });
    if (outDir && jobs.length) await ensureDir(outDir);
    const total = jobs.length + problems.length;
    for (const job of jobs) {
      if (opts.signal?.aborted) break;
      let entry: ReportImage;
      try {
        const r = await explainOne(session, job, opts, classes, outDir);
        entry = r.entry;
        if (r.maps) mapsOut.push(r.maps);
      } catch (e) {
        if (!(e instanceof UserError) && !(e instanceof Error && e.name === 'ImageError') && !(e instanceof Error && e.name === 'OutputExistsError')) {
          if (process.env.TFJS_CAM_DEBUG) console.error(e);
        }
        // A model-level problem (CAM impossible, bad layer) is the same for every image: stop there.
        if (e instanceof UserError && e.name === 'ModelError') throw e;
        entry = { file: job.file, status: 'error', error: errorMessage(e) };
      }
      report.images.push(entry);
      opts.onImage?.(report.images.length, total, entry);
    }
    const ok = report.images.filter((i) => i.status === 'ok');
    report.summary = { images: report.images.length, succeeded: ok.length, failed: report.images.length - ok.length };
    if (opts.timings !== false) {
      const totalMs = performance.now() - t0;
      report.timings = { loadMs: round(session.loadMs, 1), totalMs: round(totalMs, 1), perImageMs: round(ok.length ? ok.reduce((a, i) => a + (i.timings?.totalMs ?? 0), 0) / ok.length : 0, 1) };
    } else {
      for (const i of report.images) delete i.timings;
    }
    if (outDir && jobs.length) await writeFileAtomic(path.join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n', { overwrite: !!opts.force });
    return { report, maps: opts.returnMaps ? mapsOut : undefined };
  } finally {
    if (typeof opts.model === 'string') session.model.dispose();
  }
}
