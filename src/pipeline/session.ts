/**
 * A model made ready for explaining: backend chosen, then the model loaded on it, then the model resolution
 * (src/model/resolve.ts, shared with the browser) merging options, sidecar and model metadata into one setting
 * (preprocessing, labels, layers, methods), plus class lookup. Shared by explain, evaluate and check.
 */
import { BackendChoice, BackendName, initBackend } from '../backend';
import { loadModelFrom, LoadedModel } from '../model/load';
import { Preprocessing, PreprocessingSources, readLabels } from '../model/config';
import { readModelFolder, resolveModel } from '../model/resolve';
import type { CamMethod, LeftOutMethod } from '../methods';
import { ScoreKind } from '../capture/gradients';
import { UsageError } from '../util/errors';
import { closestNames } from '../util/suggest';

export interface SessionOptions {
  /** The model: a folder holding model.json, a model.json path, an http(s) URL, or a model loadModel() returned. */
  model: string | LoadedModel;
  /** Compute backend: 'auto' (default: the best one installed, see backend/index.ts), 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'. */
  backend?: BackendChoice;
  /** WASM: threads for one image's kernels (default 1; see backend/wasm-threads.ts). */
  threads?: number;
  /** A method name, several separated by commas, or 'all'. */
  method?: string;
  /** Target layers; default: the sidecar's, else found automatically. */
  layers?: string[];
  /** Labels file (JSON array or one per line) or the labels themselves. */
  labels?: string | string[];
  /** Preprocessing over the sidecar's and the model's own (scale, mean, std, bgr, resize, gray), as the CLI's flags. */
  preprocess?: Partial<Preprocessing>;
  /** What the maps explain: 'logit' (default; the class logit, a final softmax stepped over) or 'probability'. */
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
  /** What the model's own first layers or ops do to the input, when that set the input range (sources.scale 'model'). */
  inputRangeFrom?: string;
  /** What the user should know about the resolution, said once per run (a labels file that does not fit, --bgr's channel order). */
  notes: string[];
  score: ScoreKind;
  loadMs: number;
  /** Turns a class given by index or label into an index. */
  classIndex(c: number | string): number;
}

export async function openSession(opts: SessionOptions): Promise<Session> {
  const t0 = performance.now();
  const backend = await initBackend(opts.backend ?? 'auto', { threads: opts.threads });
  const model = typeof opts.model === 'string' ? await loadModelFrom(opts.model) : opts.model;
  try {
    return { model, backend, ...(await resolveSession(model, opts)), loadMs: performance.now() - t0 };
  } catch (e) {
    if (typeof opts.model === 'string') model.dispose();
    throw e;
  }
}

/** The model resolution (src/model/resolve.ts) over the files beside the model, with --labels read from disk. */
async function resolveSession(model: LoadedModel, opts: SessionOptions): Promise<Omit<Session, 'model' | 'backend' | 'loadMs'>> {
  const c = model.classifier;
  const given = opts.labels == null ? undefined : Array.isArray(opts.labels) ? { labels: opts.labels, source: '--labels', where: '--labels' } : { labels: readLabels(opts.labels), source: opts.labels, where: opts.labels };
  const folder = await readModelFolder(model.files, model.sidecar, { labelsGiven: given != null, metadata: model.metadata });
  const { labels, labelsSource, preprocess, grayscale, layers, methods, methodsLeftOut, inputRangeFrom, notes } = resolveModel(c, folder, {
    labels: given,
    preprocess: opts.preprocess,
    layers: opts.layers,
    method: opts.method,
    // Guided backprop reroutes tfjs-core's ReLUs; tfjs-converter's own copy of the ops is out of its reach.
    guided: c.format !== 'graph-model',
  });
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
  return { methods, methodsLeftOut, layers, labels, labelsSource, preprocess, grayscale, ...(inputRangeFrom ? { inputRangeFrom } : {}), notes, score: opts.score ?? 'logit', classIndex };
}
