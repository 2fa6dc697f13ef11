/**
 * A model made ready for explaining: backend chosen, model loaded, sidecar and options merged into one
 * resolved setting (preprocessing, labels, layers, method, classes). Shared by explain, inspect and evaluate.
 */
import * as path from 'path';
import { BackendChoice, BackendName, initBackend } from '../backend';
import { loadModelFrom, LoadedModel } from '../model/load';
import { Preprocessing, PreprocessingSources, readLabels, resolvePreprocessing, SIDECAR_NAME } from '../model/config';
import { ModelMetadata, readModelMetadata } from '../model/model-metadata';
import { CamMethod, LeftOutMethod, selectMethods } from '../methods';
import { methodSupport } from './method-support';
import { ScoreKind } from '../capture/gradients';
import { ModelError, UsageError } from '../util/errors';
import { closestNames } from '../util/suggest';

export interface SessionOptions {
  model: string | LoadedModel;
  backend?: BackendChoice;
  /** WASM: threads for one image's kernels (default 1; see backend/wasm-threads.ts). */
  threads?: number;
  /** A method name, several separated by commas, or 'all'. */
  method?: string;
  /** Target layers; default: the sidecar's, else found automatically. */
  layers?: string[];
  /** Labels file (JSON array or one per line) or the labels themselves. */
  labels?: string | string[];
  preprocess?: Partial<Preprocessing>;
  score?: ScoreKind;
}

export interface Session {
  model: LoadedModel;
  backend: BackendName;
  /** Methods to run, in order (one forward and one backward pass serve all of them). */
  methods: CamMethod[];
  /** Methods that 'all' left out because the model does not allow them, and why. */
  methodsLeftOut: LeftOutMethod[];
  layers: string[];
  labels: string[];
  /** Where the labels came from: a file, the sidecar, Teachable Machine's metadata.json, or 'indices'. */
  labelsSource: string;
  /** The settings, and per setting where it came from (flags, sidecar, model metadata, default). */
  preprocess: Preprocessing & { sources: PreprocessingSources };
  grayscale: boolean;
  score: ScoreKind;
  loadMs: number;
  /** Turns a class given by index or label into an index. */
  classIndex(c: number | string): number;
}

/**
 * The labels, from the first place that has them: --labels (a file or a list), the sidecar, Teachable Machine's
 * metadata.json or a labels file beside the model (used only when it fits the model), else class indices.
 * A binary (one sigmoid unit) model takes one label, its positive class, or two.
 */
function resolveLabels(flag: string | string[] | undefined, side: string | string[] | undefined, baseDir: string, metadata: ModelMetadata, numClasses: number, binary: boolean): { labels: string[]; source: string } {
  const fit = (labels: string[]) => (binary && labels.length === 1 ? [`not ${labels[0]}`, labels[0]] : labels);
  const check = (labels: string[], where: string) => {
    if (labels.length !== numClasses) {
      throw new UsageError(`${where}: the labels list has ${labels.length} entries but the model has ${numClasses} classes${binary ? ' (one sigmoid unit: give 1 label, the positive class, or 2)' : ''}`);
    }
    return labels;
  };
  if (flag != null) {
    if (Array.isArray(flag)) return { labels: check(fit(flag), '--labels'), source: '--labels' };
    return { labels: check(fit(readLabels(flag)), flag), source: flag };
  }
  if (side != null) {
    if (Array.isArray(side)) return { labels: check(fit(side), path.join(baseDir, SIDECAR_NAME)), source: SIDECAR_NAME };
    const file = path.resolve(baseDir, side);
    return { labels: check(fit(readLabels(file)), file), source: file };
  }
  if (metadata.labels) {
    const labels = fit(metadata.labels.labels);
    // A labels file found by its name alone is only a guess: used when it fits, else indices.
    if (labels.length === numClasses) return { labels, source: metadata.labels.what };
  }
  return { labels: Array.from({ length: numClasses }, (_, i) => String(i)), source: 'indices' };
}

export async function openSession(opts: SessionOptions): Promise<Session> {
  const t0 = performance.now();
  const backend = await initBackend(opts.backend ?? 'auto', { threads: opts.threads });
  const model = typeof opts.model === 'string' ? await loadModelFrom(opts.model) : opts.model;
  const c = model.classifier;
  const sidecar = model.sidecar;
  const sideLayers = sidecar?.layer == null ? undefined : Array.isArray(sidecar.layer) ? sidecar.layer : [sidecar.layer];
  // Names as the user wrote them (qualified, short or a unique suffix) become the names layers() shows.
  const layers = (opts.layers?.length ? opts.layers : sideLayers ?? [c.defaultTargetLayer()]).map((l) => c.resolveLayer(l));
  const known = new Map(c.layers().map((l) => [l.name, l]));
  for (const l of layers) {
    const info = known.get(l)!;
    if (!info.spatial) throw new ModelError(`layer '${l}' has output shape [${info.outputShape.join(', ')}], not a spatial map (height x width x channels)`);
  }
  // 'all' includes CAM only where the model's head allows it at every target layer, and says what it left out.
  const { methods, leftOut: methodsLeftOut } = selectMethods(opts.method ?? sidecar?.method ?? 'gradcam', methodSupport(c, layers));
  const metadata = /^https?:/i.test(model.baseDir) ? {} : readModelMetadata(model.baseDir);
  const { labels, source: labelsSource } = resolveLabels(opts.labels, sidecar?.labels, model.baseDir, metadata, c.numClasses, c.head.binary);
  const preprocess = resolvePreprocessing(sidecar, opts.preprocess ?? {}, metadata.preprocess);
  const channels = c.inputShape[2];
  if (channels !== 1 && channels !== 3) throw new ModelError(`the model takes ${channels}-channel images; only 1 (grayscale) and 3 (RGB) are supported`);
  const classIndex = (cls: number | string): number => {
    if (typeof cls === 'number' || /^\d+$/.test(cls)) {
      const i = Number(cls);
      if (i < 0 || i >= c.numClasses) throw new UsageError(`class ${i} is out of range: the model has ${c.numClasses} classes (0..${c.numClasses - 1})`);
      return i;
    }
    // A label shared by several classes (ImageNet has two 'crane's and two 'maillot's) is refused with every
    // index, rather than one of them picked silently.
    const pick = (found: number[]): number | null => {
      if (found.length === 1) return found[0];
      if (found.length > 1) throw new UsageError(`class '${cls}' is ambiguous: ${found.length} classes have that label (${found.map((i) => `${i} '${labels[i]}'`).join(', ')}); give the index instead`);
      return null;
    };
    const exact = pick(labels.flatMap((l, i) => (l === cls ? [i] : [])));
    if (exact != null) return exact;
    const lower = cls.toLowerCase();
    const loose = pick(labels.flatMap((l, i) => (l.toLowerCase() === lower || l.toLowerCase().split(/,\s*/).includes(lower) ? [i] : [])));
    if (loose != null) return loose;
    const near = closestNames(cls, labels);
    throw new UsageError(`no class labelled '${cls}'${near.length ? ` (did you mean ${near.map((n) => `'${n}'`).join(', ')}?)` : ''}`);
  };
  return {
    model,
    backend,
    methods,
    methodsLeftOut,
    layers,
    labels,
    labelsSource,
    preprocess,
    grayscale: channels === 1,
    score: opts.score ?? 'logit',
    loadMs: performance.now() - t0,
    classIndex,
  };
}
