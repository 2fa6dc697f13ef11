/**
 * Running a check spec: for each case and image, the library's own steps (openSession, decode, prepareInput,
 * explainTensor) give the class's probability, rank and map; the map is measured against the expected region in
 * model-input coordinates (region.ts) and judged. Failing images (all images, when asked) get an overlay with the
 * expected region drawn on it.
 */
import * as path from 'path';
import { BackendChoice, BackendName, initBackend } from '../backend';
import { decodeImage, DecodedImage } from '../image/decode';
import { toSource } from '../image/geometry';
import { LoadedModel } from '../model/load';
import { baselineOf, methodSlug, prepareInput, targetSlug } from '../pipeline/explain';
import { onlyClassScores, parseTarget, Target, targetClasses, targetLabel, targetSpec } from '../capture/targets';
import { explainTensor, topIndices } from '../pipeline/explain-tensor';
import { peakOf } from '../pipeline/maps';
import { openSession, Session } from '../pipeline/session';
import { colormapLut, ColormapName } from '../render/colormap';
import { DEFAULT_MAX_SIZE, encodePng, mapToImage, overlayMap, shrinkForOutput } from '../render/overlay';
import { ensureDir, writeFileAtomic } from '../report/files';
import { loadModelFrom } from '../model/load';
import { errorMessage, UsageError, UserError } from '../util/errors';
import { TOOL_VERSION } from '../version';
import { Box } from '../metrics/localisation';
import { CheckCase, CheckSpec, loadCheckSpec, shownPath, SpecError } from './spec';
import { Baseline, CheckDiff, compareWithBaseline, openBaseline } from '../diff/check';
import { ImageRegion, markPoint, measureRegion, outline, paint, regionAtInput, regionForImage, regionMask, strokeBox } from './region';

export const CHECK_REPORT_SCHEMA = 'tfjs-cam/check-report@1';

/** Colours drawn on check overlays. */
export const REGION_COLOR: [number, number, number] = [255, 0, 255];
export const THRESHOLD_BOX_COLOR: [number, number, number] = [255, 255, 255];
export const PEAK_COLOR: [number, number, number] = [255, 255, 255];

export interface CheckOptions {
  backend?: BackendChoice;
  /** WASM: threads for one image's kernels (default 1). */
  threads?: number;
  /** Folder for overlays; null writes none. Default './cam-check'. */
  out?: string | null;
  /** Which images get an overlay: 'failed' (default), 'all' or 'none'. */
  overlays?: 'failed' | 'all' | 'none';
  colormap?: ColormapName;
  alpha?: number;
  /**
   * Explain this target in every case instead of the case's class or target: a `--target` string (class:,
   * logit-diff:, sum:). A class it names that a case's model lacks is a usage error.
   */
  target?: string;
  /** Keep timings in the report (default true). */
  timings?: boolean;
  onResult?: (done: number, total: number, result: CheckResult) => void;
  signal?: AbortSignal;
}

export type CheckStatus = 'pass' | 'fail' | 'error';

export interface CheckFailure {
  /** The expectation: topK, minProbability, pointingGame, minInside, maxInside, maxOutside, minIou, or 'map' (flat map / region unseen). */
  check: string;
  expected: string;
  actual: string;
  /** One line for people. */
  message: string;
}

export interface CheckResult {
  /** Index of the case in the spec. */
  case: number;
  caseName: string;
  /** Image path relative to the spec's folder. */
  file: string;
  method: string;
  status: CheckStatus;
  /** For 'error': what went wrong (unreadable image, ...). */
  error?: string;
  width?: number;
  height?: number;
  /** The class explained (absent for another target: see `target`). */
  class?: { index: number; label: string };
  /** What was explained when it is not one class (logit-diff:, sum:), with its label ('cat - dog'). */
  target?: { spec: string; label: string };
  /** The class's probability; for a target, its score on probabilities (p(c1) - p(c2), or the sum). */
  probability?: number;
  /** The class's logit, or the target's score on logits. */
  logit?: number;
  /** 1 = the model's top class. For a target: c1's rank (logit-diff), the best of its classes' (sum). */
  rank?: number;
  top?: { index: number; label: string; probability: number }[];
  /** The map's maximum, in original-image pixels (pixel centres at +0.5). */
  peak?: { x: number; y: number };
  flat?: boolean;
  /** Present when the case has a region; measured at the model's input resolution. */
  region?: {
    pointingHit: boolean;
    inside: number;
    outside: number;
    iou: number;
    /** The thresholded map's box, in original-image pixels. */
    thresholdBox: Box | null;
  };
  /** With a `diff` baseline: the map compared with the baseline's on the image's grid. */
  diff?: CheckDiff;
  failures: CheckFailure[];
  /** Overlay written for this image, relative to the output folder. */
  overlay?: string;
  ms?: number;
}

export interface CheckReport {
  schema: typeof CHECK_REPORT_SCHEMA;
  tool: { name: 'tfjs-cam'; version: string };
  spec: string;
  backend: BackendName;
  /** Where maps are measured: the model's input, regions carried there through each image's placement. */
  coordinates: 'model-input';
  /** colormap: of the overlays (per-map scale: 0 = the map's minimum, 1 = its maximum). */
  output: { dir: string | null; colormap?: string };
  cases: { name: string; model: string; methods: string[]; layers: string[]; images: number; passed: number; failed: number; errors: number }[];
  results: CheckResult[];
  summary: { cases: number; checks: number; passed: number; failed: number; errors: number };
  timings?: { totalMs: number };
}

const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;
const fmt = (v: number) => v.toFixed(3).replace(/\.?0+$/, '') || '0';

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'case';
}

/**
 * Why the model sees none of a region: it lies outside the image itself (whatever the resize mode), or, under
 * `crop`, outside the part of the image that the crop keeps. (A region outside the image under `stretch` used to
 * be blamed on a crop.)
 */
function whyUnseen(region: ImageRegion, width: number, height: number, resize: string): string {
  if (region.kind === 'mask') {
    if (!region.mask.some((v) => v)) return 'the region (mask) is empty: no pixel of it is inside';
  } else {
    const inImage = region.boxes.some((b) => Math.min(width, b.x + b.width) > Math.max(0, b.x) && Math.min(height, b.y + b.height) > Math.max(0, b.y));
    if (!inImage) return `the region lies outside the image (${width}x${height} pixels)`;
  }
  return resize === 'crop' ? 'the region lies outside the part of the image the model sees (resize: crop)' : `the model sees none of the region (resize: ${resize})`;
}

/** Expectations against measures: the failures, each in a line. */
function judge(c: CheckCase, r: CheckResult, regionUnseen: string | null): CheckFailure[] {
  const e = c.expect;
  const f: CheckFailure[] = [];
  const add = (check: string, expected: string, actual: string, message: string) => f.push({ check, expected, actual, message });
  const what = r.class ? `class ${r.class.label}` : `target ${r.target!.label}`;
  if (e.topK !== undefined && r.rank! > e.topK) add('topK', `rank <= ${e.topK}`, `rank ${r.rank}`, `${what} is ranked ${r.rank}, not in the top ${e.topK} (top: ${r.top![0].label})`);
  if (e.minProbability !== undefined && !(r.probability! >= e.minProbability)) {
    add('minProbability', `>= ${e.minProbability}`, fmt(r.probability!), `probability ${fmt(r.probability!)} < ${e.minProbability}`);
  }
  if (!e.region) return f;
  const regionChecks = [e.pointingGame, e.minInside, e.maxInside, e.maxOutside, e.minIou].some((v) => v !== undefined);
  if (regionChecks && regionUnseen) {
    add('map', 'region seen by the model', 'region outside the model input', regionUnseen);
    return f;
  }
  if (regionChecks && r.flat) {
    add('map', 'a map with contrast', 'flat map', 'the map is flat (no contrast): nothing to measure against the region');
    return f;
  }
  const m = r.region!;
  if (e.pointingGame !== undefined && m.pointingHit !== e.pointingGame) {
    add('pointingGame', e.pointingGame ? 'peak inside' : 'peak outside', m.pointingHit ? 'peak inside' : 'peak outside', `the map's peak (${fmt(r.peak!.x)}, ${fmt(r.peak!.y)}) is ${m.pointingHit ? 'inside' : 'outside'} the region`);
  }
  if (e.minInside !== undefined && !(m.inside >= e.minInside)) add('minInside', `>= ${e.minInside}`, fmt(m.inside), `share of the map inside the region ${fmt(m.inside)} < ${e.minInside}`);
  if (e.maxInside !== undefined && !(m.inside <= e.maxInside)) add('maxInside', `<= ${e.maxInside}`, fmt(m.inside), `share of the map inside the region ${fmt(m.inside)} > ${e.maxInside}`);
  if (e.maxOutside !== undefined && !(m.outside <= e.maxOutside)) add('maxOutside', `<= ${e.maxOutside}`, fmt(m.outside), `share of the map outside the region ${fmt(m.outside)} > ${e.maxOutside}`);
  if (e.minIou !== undefined && !(m.iou >= e.minIou)) add('minIou', `>= ${e.minIou}`, fmt(m.iou), `IoU of the map's box (threshold ${e.boxThreshold}) with the region ${fmt(m.iou)} < ${e.minIou}`);
  return f;
}

/**
 * The overlay as `explain` draws it (at most explain's default size: a big photo is scaled down, its region, box and
 * peak with it), plus the expected region (magenta outline), the threshold box (dashed white) and the peak (white +).
 */
async function drawOverlay(img: DecodedImage, map: Float32Array, inputW: number, inputH: number, place: Parameters<typeof mapToImage>[4], region: ImageRegion | null, tbox: Box | null, peak: { x: number; y: number }, opts: CheckOptions): Promise<Buffer> {
  const shown = await shrinkForOutput(img, place, DEFAULT_MAX_SIZE);
  const { width: w, height: h } = shown.img;
  const fx = w / img.width;
  const fy = h / img.height;
  const rgb = overlayMap(shown.img, map, inputW, inputH, shown.place, colormapLut(opts.colormap ?? 'jet'), opts.alpha ?? 0.5).overlay;
  const t = Math.max(1, Math.round(Math.min(w, h) / 128));
  if (tbox) {
    const a = toSource(shown.place, tbox.x, tbox.y);
    const b = toSource(shown.place, tbox.x + tbox.width, tbox.y + tbox.height);
    strokeBox(rgb, w, h, { x: a.x, y: a.y, width: b.x - a.x, height: b.y - a.y }, t, THRESHOLD_BOX_COLOR, true);
  }
  if (region) paint(rgb, outline(regionMask(scaleRegion(region, img.width, fx, fy, w, h), w, h), w, h, t), REGION_COLOR);
  markPoint(rgb, w, h, peak.x * fx, peak.y * fy, t, PEAK_COLOR);
  return encodePng(rgb, w, h);
}

/** A region in an image's pixels carried to the image scaled by (fx, fy) to w x h: boxes scaled, a mask sampled (nearest). */
function scaleRegion(r: ImageRegion, srcWidth: number, fx: number, fy: number, w: number, h: number): ImageRegion {
  if (fx === 1 && fy === 1) return r;
  if (r.kind === 'boxes') return { kind: 'boxes', boxes: r.boxes.map((b) => ({ x: b.x * fx, y: b.y * fy, width: b.width * fx, height: b.height * fy })) };
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = Math.min(r.height - 1, Math.floor((y + 0.5) / fy)) * srcWidth;
    for (let x = 0; x < w; x++) mask[y * w + x] = r.mask[row + Math.min(r.width - 1, Math.floor((x + 0.5) / fx))];
  }
  return { kind: 'mask', mask, width: w, height: h };
}

/** Runs every case of a spec (a file path or a loaded spec). Spec and model problems throw (exit code 2). */
export async function check(specOrFile: string | CheckSpec, opts: CheckOptions = {}): Promise<CheckReport> {
  const t0 = performance.now();
  const spec = typeof specOrFile === 'string' ? loadCheckSpec(specOrFile) : specOrFile;
  const outDir = opts.out === null || opts.overlays === 'none' ? null : path.resolve(opts.out ?? 'cam-check');
  const which = opts.overlays ?? 'failed';
  const backend = await initBackend(opts.backend ?? 'auto', { threads: opts.threads });
  const models = new Map<string, LoadedModel>();
  const report: CheckReport = {
    schema: CHECK_REPORT_SCHEMA,
    tool: { name: 'tfjs-cam', version: TOOL_VERSION },
    spec: path.relative(process.cwd(), spec.file) || spec.file,
    backend,
    coordinates: 'model-input',
    output: { dir: outDir, colormap: opts.colormap ?? 'jet' },
    cases: [],
    results: [],
    summary: { cases: spec.cases.length, checks: 0, passed: 0, failed: 0, errors: 0 },
  };
  // A problem with a case's model, method, layer or class is a spec problem: name the field and its line.
  const located = (where: string, e: unknown): never => {
    if (e instanceof UserError) throw new SpecError([{ ...parseWhere(where), message: errorMessage(e) }]);
    throw e;
  };
  try {
    // Every case's model, session and class first: a spec problem stops the run before any image is checked.
    const sessions: Session[] = [];
    const targets: (Target | undefined)[] = [];
    const baselines: (Baseline | undefined)[] = [];
    for (const c of spec.cases) {
      let model = models.get(c.model);
      if (!model) {
        model = await loadModelFrom(c.model).catch((e) => located(c.where.model, e));
        models.set(c.model, model);
      }
      const session = await openSession({ model, backend, method: c.method, layers: c.layers }).catch((e) =>
        located(/layer/.test(errorMessage(e)) ? c.where.layer : /method/.test(errorMessage(e)) ? c.where.method : c.where.model, e),
      );
      if (c.class !== undefined && !opts.target) {
        try {
          session.classIndex(c.class);
        } catch (e) {
          located(c.where.class, e);
        }
      }
      // --target wins over the spec's class and target; its problems are the flag's, the spec's are located.
      let target: Target | undefined;
      if (opts.target) {
        try {
          target = onlyClassScores(parseTarget(opts.target, (t) => session.classIndex(t)), 'check');
        } catch (e) {
          throw new UsageError(`--target '${opts.target}' for case '${c.name}' (model ${shownModel(spec, c.model)}): ${errorMessage(e)}`);
        }
      } else if (c.target !== undefined) {
        try {
          target = onlyClassScores(parseTarget(c.target, (t) => session.classIndex(t)), 'check');
        } catch (e) {
          located(c.where.target, e);
        }
      }
      targets.push(target);
      sessions.push(session);
      // A baseline to compare with (diff): loaded once per model, opened with the case's methods.
      let baseline: Baseline | undefined;
      if (c.diff) {
        let bm = models.get(c.diff.baseline);
        if (!bm) {
          bm = await loadModelFrom(c.diff.baseline).catch((e) => located(c.where.diff, e));
          models.set(c.diff.baseline, bm);
        }
        baseline = await openBaseline(bm, session, backend, c.diff.layers, shownModel(spec, c.diff.baseline)).catch((e) => located(c.where.diff, e));
      }
      baselines.push(baseline);
    }
    const total = spec.cases.reduce((a, c, i) => a + c.images.length * sessions[i].methods.length, 0);
    for (const c of spec.cases) {
      const session = sessions[c.index];
      const model = session.model;
      const [inputH, inputW] = model.classifier.inputShape;
      const caseDir = outDir ? path.join(outDir, `${c.index + 1}-${slug(c.name)}`) : null;
      const used = new Set<string>();
      const summary = { name: c.name, model: shownModel(spec, c.model), methods: session.methods.map((m) => m.name), layers: session.layers, images: c.images.length, passed: 0, failed: 0, errors: 0 };
      report.cases.push(summary);
      for (const file of c.images) {
        if (opts.signal?.aborted) break;
        const ti = performance.now();
        const base = { case: c.index, caseName: c.name, file: shownPath(spec, file) };
        const results: CheckResult[] = [];
        try {
          const img = await decodeImage(file);
          // Class: the case's, else the one the annotations give for this image, else the model's top class.
          const region = c.expect.region;
          const annotated = region?.kind === 'annotations' ? region.entries.get(file) : undefined;
          // A target (--target, the case's or the spec's) replaces the class.
          const target = targets[c.index];
          let classIndex: number | undefined;
          try {
            if (target) classIndex = undefined;
            else if (c.class !== undefined) classIndex = session.classIndex(c.class);
            else if (annotated?.class !== undefined) classIndex = session.classIndex(annotated.class);
            else if (annotated?.label !== undefined) classIndex = session.classIndex(annotated.label);
          } catch (e) {
            located(c.class !== undefined ? c.where.class : c.where.case, e);
          }
          const { x, place } = await prepareInput(session, img);
          // Integrated Gradients' baseline: the black image, preprocessed.
          const methodOptions = session.methods.some((m) => m.name === 'integrated-gradients') ? { baseline: await baselineOf(session, {}) } : undefined;
          let ex;
          try {
            ex = explainTensor(model.classifier, x, { methods: session.methods, layers: session.layers, classes: classIndex === undefined ? undefined : [classIndex], ...(target ? { targets: [target] } : {}), topK: 1, reportTop: Math.max(3, c.expect.topK ?? 0), score: session.score, methodOptions });
          } catch (e) {
            if (e instanceof UserError) located(c.where.method, e);
            throw e;
          } finally {
            x.dispose();
          }
          const imageRegion: ImageRegion | null = region ? await regionForImage(region, file, img.width, img.height) : null;
          const atInput = imageRegion ? regionAtInput(imageRegion, place) : null;
          const order = topIndices(ex.logits, ex.logits.length);
          const e = c.expect;
          const baseline = baselines[c.index];
          const diffs = baseline ? await compareWithBaseline(baseline, session, img, place, ex, { minCorrelation: e.minCorrelation, maxPeakShift: e.maxPeakShift, maxPeakShiftPx: e.maxPeakShiftPx, maxProbabilityDrop: e.maxProbabilityDrop }) : null;
          // One result per method (a case may name several); the class and its scores are the same for all.
          for (const m of ex.maps) {
            const r: CheckResult = { ...base, method: m.method, status: 'pass', failures: [], width: img.width, height: img.height };
            const ci = m.classIndex;
            const t = m.target;
            if (t.kind === 'class') {
              r.class = { index: ci, label: session.labels[ci] };
              r.probability = round(ex.probabilities[ci]);
              r.logit = round(ex.logits[ci]);
              r.rank = order.indexOf(ci) + 1;
            } else {
              // A linear target's scores are the same combination of the classes' probabilities and logits.
              const cs = targetClasses(t);
              const combine = (v: Float32Array) => (t.kind === 'logit-diff' ? v[cs[0]] - v[cs[1]] : cs.reduce((a, k) => a + v[k], 0));
              r.target = { spec: targetSpec(t), label: targetLabel(t, session.labels) };
              r.probability = round(combine(ex.probabilities));
              r.logit = round(combine(ex.logits));
              r.rank = t.kind === 'logit-diff' ? order.indexOf(cs[0]) + 1 : Math.min(...cs.map((k) => order.indexOf(k) + 1));
            }
            r.top = order.slice(0, Math.max(3, c.expect.topK ?? 0)).map((i) => ({ index: i, label: session.labels[i], probability: round(ex.probabilities[i]) }));
            r.flat = m.flat;
            const peakIn = peakOf(m.map, inputW);
            const peak = toSource(place, peakIn.x, peakIn.y);
            r.peak = { x: round(peak.x, 1), y: round(peak.y, 1) };
            let tboxIn: Box | null = null;
            if (atInput) {
              const measures = measureRegion(m.map, inputW, inputH, atInput, c.expect.boxThreshold);
              tboxIn = measures.thresholdBox;
              let tbox: Box | null = null;
              if (tboxIn) {
                const a = toSource(place, tboxIn.x, tboxIn.y);
                const b = toSource(place, tboxIn.x + tboxIn.width, tboxIn.y + tboxIn.height);
                tbox = { x: round(a.x, 1), y: round(a.y, 1), width: round(b.x - a.x, 1), height: round(b.y - a.y, 1) };
              }
              r.region = { pointingHit: measures.pointingHit, inside: round(measures.inside), outside: round(measures.outside), iou: round(measures.iou), thresholdBox: tbox };
            }
            r.failures.push(...judge(c, r, atInput && !atInput.bbox ? whyUnseen(imageRegion!, img.width, img.height, session.preprocess.resize) : null));
            const d = diffs?.[ex.maps.indexOf(m)];
            if (d) {
              r.diff = d.diff;
              r.failures.push(...d.failures);
            }
            r.status = r.failures.length ? 'fail' : 'pass';
            if (caseDir && (which === 'all' || r.status === 'fail')) {
              const png = await drawOverlay(img, m.map, inputW, inputH, place, imageRegion, c.expect.minIou !== undefined ? tboxIn : null, peak, opts);
              const stem = path.basename(file, path.extname(file));
              const tail = `${methodSlug(m.method)}.${t.kind === 'class' ? `${ci}-${slug(session.labels[ci])}` : targetSlug(t, session.labels)}.png`;
              let name = `${stem}.${tail}`;
              for (let k = 2; used.has(name); k++) name = `${stem}-${k}.${tail}`;
              used.add(name);
              await ensureDir(caseDir);
              await writeFileAtomic(path.join(caseDir, name), png, { overwrite: true });
              r.overlay = path.relative(outDir!, path.join(caseDir, name)).split(path.sep).join('/');
            }
            results.push(r);
          }
        } catch (e) {
          if (e instanceof SpecError || (e instanceof UserError && e.name === 'ModelError')) throw e;
          if (process.env.TFJS_CAM_DEBUG) console.error(e);
          // The image could not be checked (unreadable, ...): one error result for each of the case's methods.
          results.length = 0;
          for (const method of session.methods) results.push({ ...base, method: method.name, status: 'error', error: errorMessage(e), failures: [] });
        }
        const ms = round((performance.now() - ti) / results.length, 1);
        for (const r of results) {
          if (opts.timings !== false) r.ms = ms;
          report.results.push(r);
          summary[r.status === 'pass' ? 'passed' : r.status === 'fail' ? 'failed' : 'errors']++;
          opts.onResult?.(report.results.length, total, r);
        }
      }
      // maxFlips counts the case's images whose top-1 class is not the baseline's: past it, each such image fails.
      const maxFlips = c.expect.maxFlips;
      const mine = report.results.filter((r) => r.case === c.index && r.diff);
      const flipped = new Set(mine.filter((r) => r.diff!.flipped).map((r) => r.file));
      if (maxFlips !== undefined && flipped.size > maxFlips) {
        for (const r of mine.filter((x) => x.diff!.flipped)) {
          const was = r.diff!.baselineTop?.label;
          r.failures.push({ check: 'maxFlips', expected: `<= ${maxFlips} flips`, actual: `${flipped.size} flips`, message: `top-1 flipped: '${was}' under the baseline, '${r.top?.[0]?.label}' now (${flipped.size} image${flipped.size === 1 ? '' : 's'} flipped, at most ${maxFlips} allowed)` });
          if (r.status === 'pass') {
            r.status = 'fail';
            summary.passed--;
            summary.failed++;
          }
        }
      }
    }
  } finally {
    for (const m of models.values()) m.dispose();
  }
  const s = report.summary;
  s.checks = report.results.length;
  s.passed = report.results.filter((r) => r.status === 'pass').length;
  s.failed = report.results.filter((r) => r.status === 'fail').length;
  s.errors = report.results.filter((r) => r.status === 'error').length;
  if (opts.timings !== false) report.timings = { totalMs: round(performance.now() - t0, 1) };
  return report;
}

function shownModel(spec: CheckSpec, model: string): string {
  return /^https?:\/\//i.test(model) ? model : path.relative(spec.dir, model).split(path.sep).join('/') || '.';
}

/** "file:line:col: field" (CheckCase.where) back into an issue's place. */
function parseWhere(where: string): { file: string; line: number; col: number; field: string } {
  const m = /^(.*):(\d+):(\d+): (.*)$/.exec(where);
  return m ? { file: m[1], line: Number(m[2]), col: Number(m[3]), field: m[4] } : { file: where, line: 1, col: 1, field: '' };
}
