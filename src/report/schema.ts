/**
 * The JSON report written as report.json (and printed by --json). Versioned: a change that removes or
 * changes a field bumps REPORT_SCHEMA; adding fields does not. Documented in docs/outputs.md.
 */
import type { MethodSettings } from '../pipeline/method-settings';
export const REPORT_SCHEMA = 'tfjs-cam/explain-report@1';

/** One model input channel: which image channel feeds it ('R', 'G', 'B', or 'grey'), and the mean and std applied to it. */
export interface AppliedChannel {
  channel: string;
  mean: number;
  std: number;
}

export interface ReportClass {
  index: number;
  label: string;
  logit: number;
  probability: number;
}

export interface ReportMap {
  /** The class explained (absent for another target: see `target`). */
  class?: { index: number; label: string };
  /** A target other than a class: its spec ('logit-diff:3,5', 'sum:1,2', 'fn:<name>') and label ('cat - dog'). */
  target?: { spec: string; label: string };
  method: string;
  layers: string[];
  /** Files written for this map, relative to the output folder. */
  files: { overlay?: string; heatmap?: string; raw?: string[] };
  /** Position of the map's maximum in original-image pixels (x right, y down, pixel centres at +0.5); null for a flat map. */
  peak: { x: number; y: number } | null;
  /** Share of the map's total mass in its 20% highest pixels (0.2 = spread evenly, 1 = one spot). */
  topMassShare: number;
  /** True when the map has no contrast (all equal, e.g. all zero): nothing to show. */
  flat: boolean;
  /** Integrated Gradients: sum(attribution) - (f(image) - f(baseline)), f the class score (logit or probability); near 0 when the steps suffice. */
  completenessError?: number;
  /** Finer-CAM: the classes this class was compared with (the most similar ones unless --finer-compare named them). */
  comparedWith?: { index: number; label: string }[];
}

export interface ReportImage {
  file: string;
  status: 'ok' | 'error';
  error?: string;
  width?: number;
  height?: number;
  /** Decoder's notes: format, frames (only the first is used), alpha flattened, EXIF orientation applied. */
  source?: { format: string; pages: number; hadAlpha: boolean; orientation?: number };
  top?: ReportClass[];
  maps?: ReportMap[];
  files?: { input?: string; sheet?: string };
  timings?: { decodeMs: number; forwardMs: number; backwardMs: number; methodMs: number; renderMs: number; totalMs: number };
  /** Things the user should know about an image that was still explained (e.g. the model's scores are NaN). */
  warnings?: string[];
}

export interface ExplainReport {
  schema: typeof REPORT_SCHEMA;
  tool: { name: 'tfjs-cam'; version: string };
  model: {
    source: string;
    sha256: string;
    format: string;
    inputSize: [number, number, number];
    classes: number;
    softmaxSteppedOver: boolean;
    /** What the model applies to its logits: probabilities are computed the same way (softmax, element-wise sigmoid; softmax for linear). */
    head: 'softmax' | 'sigmoid' | 'linear';
    /** One sigmoid unit shown as two classes: 0 = negative (logit -z), 1 = positive (logit z). */
    binary?: boolean;
    /** The final activation stepped over, e.g. "'dense_5' (activation softmax)". */
    headActivation?: string;
  };
  /** Where the labels came from: a labels file, the sidecar, 'Teachable Machine metadata.json', a labels file beside the model, or 'indices'. */
  labelsSource: string;
  backend: string;
  /** The methods run, comma-separated (see `methods`). */
  method: string;
  methods: string[];
  augSmooth?: boolean;
  eigenSmooth?: boolean;
  /**
   * Options that change a method's maps, only where a method that reads them ran: noiseSamples, noiseLevel, seed
   * (smoothgrad, smoothgradcam++), igSteps and baselineSha256 (integrated-gradients), maxChannels (scorecam,
   * ablationcam), femK (fem), kpcaKernel and kpcaGamma
   * (kpca-cam; gamma null = 1 / channels), finerAlpha, finerBase, finerCompare (finercam; null = the 3 most similar
   * classes per image), aggregate ('product' with several layers and --aggregate product).
   */
  methodSettings?: MethodSettings;
  layers: string[];
  score: 'logit' | 'probability';
  /**
   * `sources`: where each setting came from ('flags', 'tfjs-cam.json', 'Teachable Machine metadata.json', 'model',
   * 'default'); 'model' for `scale`: the model's own first layers or ops rescale its input, described by
   * `inputRangeFrom`. `gray`: how a 1-channel model's grey is made (absent in older reports: luma). `channels`: the
   * mean and std as applied to each of the model's input channels, in its order (B, G, R under `bgr`).
   */
  preprocessing: {
    scale: [number, number];
    mean: number[];
    std: number[];
    bgr: boolean;
    resize: string;
    gray?: string;
    grayscale: boolean;
    interpolation?: string;
    alignCorners?: boolean;
    sources?: Record<string, string>;
    inputRangeFrom?: string;
    channels?: AppliedChannel[];
  };
  /**
   * render: how pixel-level methods were drawn (auto, heatmap, signed, gradient); absent in reports before it existed
   * (all heatmaps). maxSize: longest side of the pictures, null = the image's own size. heatmap, saveRaw, saveInput,
   * sheet: which files each image got besides its overlays (--heatmap, --save-raw, --save-input, the comparison
   * sheet); absent in reports before they were recorded. signedColormap and outlierPercent: only where some map was
   * drawn signed; legend: only with --legend.
   */
  output: { dir: string | null; colormap: string; alpha: number; format?: string; quality?: number; maxSize?: number | null; render?: string; heatmap?: boolean; saveRaw?: boolean; saveInput?: boolean; sheet?: boolean; signedColormap?: string; outlierPercent?: number; legend?: string };
  /**
   * What was explained in each image: the top k classes (--top-k), or these targets (--class / --target, as specs:
   * 'class:3', 'logit-diff:3,5'), in order. Absent in reports before it was recorded.
   */
  explained?: { topK: number } | { targets: string[] };
  /** Things the user should know about the run as a whole (e.g. --top-k clamped to the class count). */
  notes?: string[];
  images: ReportImage[];
  /**
   * Only in a `--shard K/N` run's report (`tfjs-cam merge` removes it): K (0-based) and N, the entries of the whole
   * input list and its SHA-256 (equal in every shard of one run), each of `images`' place in the whole list, and
   * the working folder of the run (image paths given relative are relative to it: merge links them from there).
   */
  shard?: { index: number; count: number; inputs: number; listSha256: string; positions: number[]; cwd?: string };
  summary: { images: number; succeeded: number; failed: number };
  timings?: { loadMs: number; totalMs: number; perImageMs: number };
}
