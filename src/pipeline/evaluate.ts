/**
 * evaluate: how well each method's maps land on the object (pointing game, energy in the box, CAM-paper
 * localisation) and how faithful they are to the model (Average Drop, Increase in Confidence, deletion and
 * insertion AUC), over images with ground-truth boxes. Maps are measured at the model's input resolution,
 * with the boxes mapped there through the same placement as the image.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DecodedImage, decodeImage } from '../image/decode';
import { Placement, toModel } from '../image/geometry';
import { collectImages, ImageJob } from '../batch/walk';
import { withFileContext } from './error-context';
import { readBoxes, resolveBoxClasses } from '../metrics/boxes';
import { Box, energyInBoxes, localisationHit, pointingGameHit } from '../metrics/localisation';
import { auc, averageDropAndIncrease, faithfulnessPlan, imageFaithfulness, MapFaithfulness, ProbabilityFn, scoreRows } from '../metrics/faithfulness';
import { imageRoad, mean, roadCombined, ROAD_FRACTIONS, ROAD_NOISE } from '../metrics/road';
import { adcc, arcc, coherency, complexity } from '../metrics/arcc';
import { onlyClassScores, parseTarget, Target, targetLabel, targetScores, targetSpec } from '../capture/targets';
import { ChannelPool } from '../batch/channel-pool';
import { explainTensor, TensorExplanation } from './explain-tensor';
import { baselineOf, isFatal, methodSlug, prepareInput, slug, targetSlug } from './explain';
import { DEFAULT_MAX_SIZE, renderOverlay, shrinkForOutput } from '../render/overlay';
import type { Interpolation } from '../image/resize';
import { checkMethodOptions } from './method-settings';
import { openSession, SessionOptions } from './session';
import { backendThreads } from '../backend';
import { leftOutNote, MethodOptions } from '../methods';
import { lineCharts } from '../render/plot';
import { evaluateHtml, writeHtmlReport } from '../report/html';
import { ensureDir, writeFileAtomic } from '../report/files';
import { errorMessage, UsageError } from '../util/errors';
import { TOOL_VERSION } from '../version';
import { probabilitiesOf } from '../model/head';
import { EVALUATE_SCHEMA, EvaluateReport, ImageMethodRow, ImageRow, MethodScores } from '../report/evaluate-schema';
export { EVALUATE_SCHEMA } from '../report/evaluate-schema';
export type { EvaluateReport, ImageMethodRow, ImageRow, MethodScores } from '../report/evaluate-schema';


export interface EvaluateOptions extends SessionOptions {
  /** Ground-truth boxes file. */
  boxes: string;
  /** Pointing-game tolerance in model-input pixels (0: the maximum must be inside the box). */
  tolerance?: number;
  /** Faithfulness metrics (Average Drop, deletion/insertion); they cost 2 x steps - 1 forward passes per map, 2 per image. */
  faithfulness?: boolean;
  /** Deletion/insertion: pixels are removed or inserted in this many steps, one curve point each (default 32). */
  steps?: number;
  /**
   * ROAD (Remove And Debias, src/metrics/road.ts) MoRF and LeRF curves beside deletion/insertion (default: off;
   * needs faithfulness): 2 x 9 noisy linear imputations and forward passes per map, about as much again as the
   * rest of evaluate at 224 x 224, hence asked for. Its noise is seeded by methodOptions.seed.
   */
  road?: boolean;
  /**
   * What the maps explain instead of each image's ground-truth class: a --target string (class:, logit-diff:,
   * sum:) or a Target. Faithfulness then follows the target's probability score (the class's probability, the
   * difference or the sum of the classes' probabilities). Top-1 accuracy still compares with the boxes' class.
   */
  target?: string | Target;
  /**
   * Coherency (each map against the map the same method gives on the image multiplied by it), and with it ADCC
   * (needs faithfulness's Average Drop) and ARCC (needs ROAD): one more explanation per map, so about one more
   * backward pass (or, for Score-CAM and Ablation-CAM, their channel passes again). Default: on with faithfulness.
   * Complexity costs nothing and is always measured.
   */
  arcc?: boolean;
  /** Shuffle the model's weights with this seed first (the untrained-model sanity baseline). */
  shuffleWeights?: number;
  /** Options of the longer methods (batch size, channels, noise, seed, eigen smoothing), as explain's. */
  methodOptions?: Partial<MethodOptions>;
  /** Resampling to the model input (default: the sidecar's, else bilinear). */
  interpolation?: Interpolation;
  /** With bilinear or nearest: tf's alignCorners (default: the sidecar's, else false). */
  alignCorners?: boolean;
  /** Folder for the curves PNG and evaluation.json; null: no files. */
  out?: string | null;
  /** Overwrite an existing evaluation.json and curves in `out`. */
  force?: boolean;
  /** Also write <out>/index.html (self-contained, offline). */
  html?: boolean;
  /**
   * Threads for the faithfulness passes (default 1): the other jobs - 1 each load the model and, once loaded,
   * take chunks of every image's inputs beside this thread, which also explains the next image meanwhile. Not
   * with --shuffle-weights (their models would not be shuffled) nor a --target (its score stays in this thread).
   */
  jobs?: number;
  /** Also write each map laid over its image into --out, as explain does (`<stem>.<method>.<class>-<label>.png`). */
  overlays?: boolean;
  /** Before each image (`done` images finished so far), and during its faithfulness passes (`passes`). */
  onProgress?: (done: number, total: number, file: string, passes?: { done: number; total: number }) => void;
  /** After each image, with its error where it failed (the run goes on). */
  onImage?: (done: number, total: number, file: string, error?: string) => void;
  /**
   * Before the first image: each boxes entry whose image is missing (`missing`) and each image found without a
   * boxes entry (`unboxed`); in its turn, an image whose boxes the model sees none of (`unusable`, with the reason).
   * None of these is evaluated; all are listed in the report (images.missing, images.unboxed, images.unusable).
   */
  onSkip?: (kind: 'missing' | 'unboxed' | 'unusable', file: string, reason?: string) => void;
  /** Something about an image that was still evaluated (a box the model sees none of). */
  onWarning?: (file: string, message: string) => void;
}

export async function evaluate(inputs: string[], opts: EvaluateOptions): Promise<EvaluateReport> {
  // Outputs that would be refused at the end are refused before the (long) evaluation.
  if (opts.out && !opts.force) {
    for (const name of ['evaluation.json', 'curves.png', ...(opts.html ? ['index.html'] : [])]) {
      const file = path.join(path.resolve(opts.out), name);
      if (fs.existsSync(file)) throw new UsageError(`${file} exists (use --force to overwrite)`);
    }
  }
  try {
    return await evaluateRun(inputs, opts);
  } catch (e) {
    throw withFileContext(e, opts.model, opts.labels);
  }
}

/** An image decoded and explained, with its boxes at the model's input resolution. */
interface PreparedImage {
  cls: number;
  img: DecodedImage;
  x: tf.Tensor4D;
  place: Placement;
  ex: TensorExplanation;
  /** The boxes the model sees some of, in model-input pixels. */
  boxes: Box[];
  /** Boxes it sees none of, one line each. */
  warnings: string[];
}

/** An image whose boxes the model sees none of: not scored (every measure would be 0), listed in images.unusable. */
class UnusableBoxes extends Error {}

/**
 * The boxes (image pixels) in model-input pixels, those the model sees part of; and why each other one is unseen:
 * wholly outside the image (check says the same of such a region), or cut off by the crop.
 */
export function boxesSeen(given: Box[], width: number, height: number, place: Placement, inputW: number, inputH: number, resize: string): { boxes: Box[]; unseen: { index: number; why: string }[] } {
  const boxes: Box[] = [];
  const unseen: { index: number; why: string }[] = [];
  given.forEach((b, index) => {
    const p0 = toModel(place, b.x, b.y);
    const p1 = toModel(place, b.x + b.width, b.y + b.height);
    const seen = Math.min(inputW, p1.x) > Math.max(0, p0.x) && Math.min(inputH, p1.y) > Math.max(0, p0.y);
    const inImage = Math.min(width, b.x + b.width) > Math.max(0, b.x) && Math.min(height, b.y + b.height) > Math.max(0, b.y);
    if (seen && inImage) boxes.push({ x: p0.x, y: p0.y, width: p1.x - p0.x, height: p1.y - p0.y });
    else unseen.push({ index, why: !inImage ? `lies outside the image (${width}x${height} pixels)` : `lies outside the part of the image the model sees (resize: ${resize})` });
  });
  return { boxes, unseen };
}

async function evaluateRun(inputs: string[], opts: EvaluateOptions): Promise<EvaluateReport> {
  const session = await openSession(opts);
  // Integrated Gradients' baseline: the black image, preprocessed.
  const given = session.methods.some((m) => m.name === 'integrated-gradients') ? { ...opts.methodOptions, baseline: await baselineOf(session, {}) } : opts.methodOptions;
  // The newer methods' options checked once (a bad one is a usage error before any image); targets are per image here.
  const methodOptions = checkMethodOptions(given, undefined, (c) => session.classIndex(c), undefined, session.methods);
  let pool: ChannelPool | null = null;
  // With workers: the next image, prepared while they score this one's inputs (its failure is told in its turn).
  let ahead: Promise<PreparedImage> | null = null;
  try {
    const c = session.model.classifier;
    if (opts.shuffleWeights != null) c.randomizeWeights(opts.shuffleWeights);
    const truth = readBoxes(opts.boxes);
    // Every entry's class before any image: a class and a label that disagree, or a label the model lacks, stop here.
    const classOf = resolveBoxClasses(truth, opts.boxes, session.labels, (l) => session.classIndex(l));
    const outDir = opts.out ? path.resolve(opts.out) : null;
    // The output folder (overlays) is never read as input, as for explain.
    const { jobs, problems } = collectImages(inputs.length ? inputs : [path.dirname(path.resolve(opts.boxes))], { exclude: outDir });
    const withTruth = jobs.filter((j) => truth.has(path.resolve(j.file)));
    if (!withTruth.length) throw new UsageError(`none of the images has an entry in ${opts.boxes} (keys are paths relative to that file)`);
    // Say what is not evaluated, one line each: an entry without its image, an image without an entry. An entry
    // for an existing image that was not among the image arguments is not missing: it was not asked for.
    const found = new Set(jobs.map((j) => path.resolve(j.file)));
    const shown = (abs: string) => {
      const rel = path.relative(process.cwd(), abs);
      return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
    };
    const missing = [...truth.keys()].filter((f) => !found.has(f) && (!inputs.length || !fs.existsSync(f))).map(shown);
    const unboxed = jobs.filter((j) => !truth.has(path.resolve(j.file))).map((j) => j.file);
    for (const f of missing) opts.onSkip?.('missing', f);
    for (const f of unboxed) opts.onSkip?.('unboxed', f);
    const [inputH, inputW] = c.inputShape;
    const steps = opts.steps ?? 32;
    const faithful = opts.faithfulness !== false;
    const road = faithful && opts.road === true;
    const seed = opts.methodOptions?.seed ?? 0;
    const target: Target | null = opts.target == null ? null : onlyClassScores(typeof opts.target === 'string' ? parseTarget(opts.target, (t) => session.classIndex(t)) : opts.target, 'evaluate');
    // Average Drop is a relative drop of a probability: a difference of probabilities (logit-diff, or a function's
    // score) can be 0 or negative on the image, and the ratio then means nothing (it ran to 20000% on the digits).
    const dropDefined = !target || target.kind === 'class' || target.kind === 'sum';
    const coherent = faithful && opts.arcc !== false;
    const tolerance = opts.tolerance ?? 0;
    const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
    type Acc = { pg: number; energy: number; loc: number; top1loc: number; n: number; pairs: { y: number; o: number }[]; del: number[]; ins: number[]; morf: number[]; lerf: number[]; roads: number; complexity: number[]; coherency: number[]; adcc: number[]; arcc: number[] };
    const acc = new Map<string, Acc>(session.methods.map((m) => [m.name, { pg: 0, energy: 0, loc: 0, top1loc: 0, n: 0, pairs: [], del: [], ins: [], morf: ROAD_FRACTIONS.map(() => 0), lerf: ROAD_FRACTIONS.map(() => 0), roads: 0, complexity: [], coherency: [], adcc: [], arcc: [] }]));
    const errors = problems.map((p) => ({ file: p.input, error: p.message }));
    // --jobs: worker threads that score the faithfulness inputs beside this thread (a class's probability only: a
    // target's score stays here). They load the model in the background and join the image in progress when
    // ready: this thread never waits for them. A threaded backend already runs each pass on every core (see
    // explain.ts).
    const spare = faithful && !target && opts.shuffleWeights == null && backendThreads() === 1 ? (opts.jobs ?? 1) - 1 : 0;
    pool = spare > 0 ? ChannelPool.launch(spare, opts) : null;
    const rows: ImageRow[] = [];
    const unusable: { file: string; reason: string }[] = [];
    let overlays = 0;
    if (opts.overlays && outDir) await ensureDir(outDir);
    let correct = 0;
    let done = 0;
    // The map one method gives for the same target on x multiplied by `map` (at the input's resolution): Coherency's
    // second map. Same layers, options and score as the first.
    const remapped = (x: tf.Tensor4D, map: Float32Array, method: string, cls: number): Float32Array => {
      const xm = tf.tidy(() => tf.mul(x, tf.tensor4d(map, [1, inputH, inputW, 1])) as tf.Tensor4D);
      try {
        const m = session.methods.find((mm) => mm.name === method)!;
        return explainTensor(c, xm, { methods: [m], layers: session.layers, ...(target ? { targets: [target] } : { classes: [cls] }), topK: 1, score: session.score, methodOptions }).maps[0].map;
      } finally {
        xm.dispose();
      }
    };
    const prepare = async (job: ImageJob): Promise<PreparedImage> => {
      const gt = truth.get(path.resolve(job.file))!;
      const cls = classOf.get(path.resolve(job.file))!;
      const img = await decodeImage(job.file);
      const { x, place } = await prepareInput(session, img, opts);
      try {
        // Boxes the model sees nothing of would score 0 in silence: said, and an image left without any is not scored.
        const { boxes, unseen } = boxesSeen(gt.boxes, img.width, img.height, place, inputW, inputH, session.preprocess.resize);
        if (!boxes.length) throw new UnusableBoxes(unseen.length > 1 ? `none of its ${unseen.length} boxes is seen by the model: ${unseen[0].why}` : `its box ${unseen[0].why}`);
        const warnings = unseen.map((u) => `boxes[${u.index}] ${u.why}: measured against the other box${boxes.length > 1 ? 'es' : ''}`);
        const ex = explainTensor(c, x, { methods: session.methods, layers: session.layers, ...(target ? { targets: [target] } : { classes: [cls] }), topK: 1, score: session.score, methodOptions });
        return { cls, img, x, place, ex, boxes, warnings };
      } catch (e) {
        x.dispose();
        throw e;
      }
    };
    for (const [at, job] of withTruth.entries()) {
      opts.onProgress?.(done, withTruth.length, job.file);
      try {
        const prepared = ahead ?? prepare(job);
        ahead = null;
        const { cls, img, x, place, ex, boxes, warnings } = await prepared;
        try {
          const top1 = ex.top[0].index === cls;
          // The class's probability, or the target's score on probabilities (sum or difference of the classes').
          const probability: ProbabilityFn = target
            ? (xs) => tf.tidy(() => targetScores(c.predict(xs), [target], xs.shape[0], 'probability', c.head.kind).dataSync() as Float32Array)
            : (xs) => tf.tidy(() => probabilitiesOf(c.predict(xs), c.head.kind).slice([0, cls], [-1, 1]).dataSync() as Float32Array);
          const maps = ex.maps.map((m) => m.map);
          // Progress over this image's passes: deletion/insertion's inputs, then ROAD's imputed images.
          const faithRows = 2 + maps.length * (2 * steps - 1);
          const roadRows = road ? maps.length * 2 * ROAD_FRACTIONS.length : 0;
          const passes = (d: number) => opts.onProgress?.(done, withTruth.length, job.file, { done: d, total: faithRows + roadRows });
          // All maps' faithfulness inputs at once, batched across maps (see imageFaithfulness).
          let faith: { y: number; maps: MapFaithfulness[] } | null = null;
          if (faithful && pool) {
            // The workers take chunks of the inputs at once; this thread prepares the next image meanwhile, then
            // takes chunks too, and waits for the last ones.
            const plan = faithfulnessPlan(x.shape[1], x.shape[2], maps, steps);
            const shared = pool.rows({ id: at, x: x.dataSync() as Float32Array, xShape: x.shape, maps, steps, classIndex: cls, batch: 32 }, plan.total);
            if (at + 1 < withTruth.length) {
              ahead = prepare(withTruth[at + 1]);
              await ahead.catch(() => undefined);
            }
            shared.scoreHere((from, to, out) => scoreRows(x, plan, probability, from, to, out, 32), opts.onProgress && passes);
            faith = plan.assemble(await shared.result(opts.onProgress && passes));
          } else if (faithful) faith = imageFaithfulness(x, maps, probability, steps, 32, opts.onProgress && ((d) => passes(d)));
          const roads = road ? imageRoad(x, maps, probability, { seed, onProgress: opts.onProgress && ((d) => passes(faithRows + d)) }) : null;
          const label = session.labels[cls];
          const row: ImageRow = { file: job.file, class: { index: cls, label }, probability: r4(ex.probabilities[cls]), top1, methods: [], ...(warnings.length ? { warnings } : {}) };
          for (const w of warnings) opts.onWarning?.(job.file, w);
          const energies: number[] = [];
          const arccs: { simple: number; coh: number | null; adcc: number | null; arcc: number | null }[] = [];
          for (const [i, m] of ex.maps.entries()) {
            const energy = energyInBoxes(m.map, inputW, boxes);
            energies.push(energy);
            const f = faith?.maps[i];
            // ARCC's measures (metrics/arcc.ts): Coherency asks the same method again on the image times the map.
            const simple = complexity(m.map);
            const coh = coherent ? coherency(m.map, remapped(x, m.map, m.method, cls)) : null;
            const drop = f && dropDefined ? averageDropAndIncrease([{ y: faith!.y, o: f.masked }]).averageDrop / 100 : null;
            const adccScore = coh != null && drop != null ? adcc(coh, simple, drop) : null;
            const arccScore = coh != null && roads ? arcc(coh, simple, roadCombined(roads[i])) : null;
            row.methods.push({
              method: m.method,
              pointingHit: pointingGameHit(m.map, inputW, boxes, tolerance),
              energyInBox: r4(energy),
              localisationHit: localisationHit(m.map, inputW, inputH, boxes).hit,
              maskedProbability: f ? r4(f.masked) : null,
              drop: f && dropDefined ? r4(averageDropAndIncrease([{ y: faith!.y, o: f.masked }]).averageDrop) : null,
              increase: f ? f.masked > faith!.y : null,
              deletionAuc: f ? r4(auc(f.deletion)) : null,
              insertionAuc: f ? r4(auc(f.insertion)) : null,
              roadMorf: roads ? r4(mean(roads[i].morf)) : null,
              roadLerf: roads ? r4(mean(roads[i].lerf)) : null,
              complexity: r4(simple),
              coherency: coh == null ? null : r4(coh),
              adcc: adccScore == null ? null : r4(adccScore),
              arcc: arccScore == null ? null : r4(arccScore),
            });
            arccs.push({ simple, coh, adcc: adccScore, arcc: arccScore });
          }
          if (opts.overlays && outDir) {
            // explain's overlays under explain's names: <stem>.<method>.<class>-<label>.png in --out
            const stem = job.stem ?? job.rel.slice(0, job.rel.length - path.extname(job.rel).length);
            // At most explain's default size: a 48 MP photo's full-size overlays would take seconds and hundreds of MB.
            const shown = await shrinkForOutput(img, place, DEFAULT_MAX_SIZE);
            for (const [i, m] of ex.maps.entries()) {
              const name = `${stem}.${methodSlug(m.method)}.${target ? targetSlug(target, session.labels) : `${cls}-${slug(label)}`}.png`;
              const { overlay } = await renderOverlay(shown.img, m.map, inputW, inputH, shown.place, { colormap: 'jet', alpha: 0.5, heatmap: false });
              await ensureDir(path.dirname(path.join(outDir, name)));
              await writeFileAtomic(path.join(outDir, name), overlay, { overwrite: !!opts.force });
              row.methods[i].overlay = name.split(path.sep).join('/');
              overlays++;
            }
          }
          // The image counts only once everything about it is done (a failed overlay write fails the image).
          if (top1) correct++;
          for (const [i, mr] of row.methods.entries()) {
            const a = acc.get(mr.method)!;
            a.n++;
            if (mr.pointingHit) a.pg++;
            a.energy += energies[i];
            const q = arccs[i];
            a.complexity.push(q.simple);
            if (q.coh != null) a.coherency.push(q.coh);
            if (q.adcc != null) a.adcc.push(q.adcc);
            if (q.arcc != null) a.arcc.push(q.arcc);
            if (mr.localisationHit) {
              a.loc++;
              if (top1) a.top1loc++;
            }
            if (faith) {
              const curves = faith.maps[i];
              a.pairs.push({ y: faith.y, o: curves.masked });
              if (!a.del.length) {
                a.del = new Array(curves.deletion.length).fill(0);
                a.ins = new Array(curves.insertion.length).fill(0);
              }
              curves.deletion.forEach((v, k) => (a.del[k] += v));
              curves.insertion.forEach((v, k) => (a.ins[k] += v));
            }
            if (roads) {
              roads[i].morf.forEach((v, k) => (a.morf[k] += v));
              roads[i].lerf.forEach((v, k) => (a.lerf[k] += v));
              a.roads++;
            }
          }
          rows.push(row);
        } finally {
          x.dispose();
        }
        opts.onImage?.(++done, withTruth.length, job.file);
      } catch (e) {
        if (isFatal(e)) throw e;
        if (e instanceof UnusableBoxes) {
          // Not the image's failure: its boxes entry cannot be measured against (counted apart, as check does).
          unusable.push({ file: job.file, reason: e.message });
          opts.onSkip?.('unusable', job.file, e.message);
          opts.onImage?.(++done, withTruth.length, job.file);
          continue;
        }
        errors.push({ file: job.file, error: errorMessage(e) });
        opts.onImage?.(++done, withTruth.length, job.file, errorMessage(e));
      }
    }
    const methods: MethodScores[] = session.methods.map((m) => {
      const a = acc.get(m.name)!;
      // Nothing measured is null (n/a), never a 0 that reads as a result.
      const share = (v: number) => (a.n ? r4(v / a.n) : null);
      const s: MethodScores = {
        method: m.name,
        images: a.n,
        pointingGame: share(a.pg),
        energyInBox: share(a.energy),
        localisation: share(a.loc),
        top1Localisation: share(a.top1loc),
        averageDrop: null,
        increaseInConfidence: null,
        deletionAuc: null,
        insertionAuc: null,
        curves: null,
        roadMorf: null,
        roadLerf: null,
        roadCombined: null,
        roadCurves: null,
        complexity: a.complexity.length ? r4(mean(a.complexity)) : null,
        coherency: a.coherency.length ? r4(mean(a.coherency)) : null,
        adcc: a.adcc.length ? r4(mean(a.adcc)) : null,
        arcc: a.arcc.length ? r4(mean(a.arcc)) : null,
      };
      if (faithful && a.pairs.length) {
        const ad = averageDropAndIncrease(a.pairs);
        const del = a.del.map((v) => v / a.pairs.length);
        const ins = a.ins.map((v) => v / a.pairs.length);
        Object.assign(s, { averageDrop: dropDefined ? r4(ad.averageDrop) : null, increaseInConfidence: r4(ad.increaseInConfidence), deletionAuc: r4(auc(del)), insertionAuc: r4(auc(ins)), curves: { deletion: del.map(r4), insertion: ins.map(r4) } });
      }
      if (a.roads) {
        const morf = a.morf.map((v) => v / a.roads);
        const lerf = a.lerf.map((v) => v / a.roads);
        Object.assign(s, { roadMorf: r4(mean(morf)), roadLerf: r4(mean(lerf)), roadCombined: r4((mean(lerf) - mean(morf)) / 2), roadCurves: { morf: morf.map(r4), lerf: lerf.map(r4) } });
      }
      return s;
    });
    const evaluated = withTruth.length - errors.filter((e) => withTruth.some((j) => j.file === e.file)).length - unusable.length;
    const leftOut = leftOutNote(session.methodsLeftOut);
    const report: EvaluateReport = {
      schema: EVALUATE_SCHEMA,
      tool: { name: 'tfjs-cam', version: TOOL_VERSION },
      model: { source: session.model.source, sha256: session.model.sha256, weightsShuffled: opts.shuffleWeights ?? null },
      backend: session.backend,
      layers: session.layers,
      boxes: opts.boxes,
      settings: { tolerance, threshold: 0.2, minIou: 0.5, steps: faithful ? steps : null, road: road ? { fractions: [...ROAD_FRACTIONS], noise: ROAD_NOISE, seed } : null },
      ...(target ? { target: { spec: targetSpec(target), label: targetLabel(target, session.labels) } } : {}),
      images: { evaluated, failed: errors.length, top1Accuracy: evaluated ? r4(correct / evaluated) : null, errors, missing, unboxed, unusable },
      ...(leftOut || session.notes.length ? { notes: [...session.notes, ...(leftOut ? [leftOut] : [])] } : {}),
      methods,
      perImage: rows,
    };
    if (outDir) {
      const dir = outDir;
      await ensureDir(dir);
      report.files = {};
      if (overlays) report.files.overlays = overlays;
      const measured = methods.filter((m) => m.curves);
      if (measured.length) {
        const png = await lineCharts(
          [
            { title: 'Deletion (lower is better)', series: measured.map((m) => ({ name: `${m.method} ${m.deletionAuc!.toFixed(3)}`, ys: m.curves!.deletion })) },
            { title: 'Insertion (higher is better)', series: measured.map((m) => ({ name: `${m.method} ${m.insertionAuc!.toFixed(3)}`, ys: m.curves!.insertion })) },
            // ROAD's curves at their removal levels (10% .. 90%), labelled with their means.
            ...(measured.some((m) => m.roadCurves)
              ? [
                  { title: 'ROAD MoRF (lower is better)', series: measured.map((m) => ({ name: `${m.method} ${m.roadMorf!.toFixed(3)}`, ys: m.roadCurves!.morf, xs: [...ROAD_FRACTIONS] })) },
                  { title: 'ROAD LeRF (higher is better)', series: measured.map((m) => ({ name: `${m.method} ${m.roadLerf!.toFixed(3)}`, ys: m.roadCurves!.lerf, xs: [...ROAD_FRACTIONS] })) },
                ]
              : []),
          ],
          { xLabel: 'share of pixels removed / inserted', yLabel: 'class probability' },
        );
        await writeFileAtomic(path.join(dir, 'curves.png'), png, { overwrite: !!opts.force });
        report.files.curves = 'curves.png';
      }
      report.files.report = 'evaluation.json';
      if (opts.html) {
        await writeHtmlReport(path.join(dir, 'index.html'), evaluateHtml(report), { overwrite: !!opts.force });
        report.files.html = 'index.html';
      }
      await writeFileAtomic(path.join(dir, 'evaluation.json'), JSON.stringify(report, null, 2) + '\n', { overwrite: !!opts.force });
    }
    return report;
  } finally {
    // Left over when a fatal error ended the loop.
    ahead?.then((p) => p.x.dispose(), () => undefined);
    await pool?.close();
    if (typeof opts.model === 'string') session.model.dispose();
  }
}
