/**
 * What explain() takes and gives back, and one image's rendered outcome: types only, shared by the pipeline
 * (./explain.ts) and the worker pool (../batch/pool.ts) that runs images for it, so neither imports the other.
 */
import type { SessionOptions } from './session';
import type { ColormapName, DivergingName } from '../render/colormap';
import type { RenderMode } from '../render/gradient';
import type { LayerAggregation, MethodOptions } from '../methods';
import type { Interpolation } from '../image/resize';
import type { Target } from '../capture/targets';
import type { ImageFormat } from '../render/overlay';
import type { ExplainReport, ReportImage } from '../report/schema';
import type { Shard } from '../batch/shard';

export interface ExplainOptions extends SessionOptions {
  /** Output folder; null writes no files (library use). Default './cam-out'. */
  out?: string | null;
  /**
   * Explain the n highest-scoring classes of each image (default 3, or all classes of a model with fewer; an explicit
   * topK above the class count: all of them, with a note).
   */
  topK?: number;
  /** Classes by index or label; overrides topK. */
  classes?: (number | string)[];
  /**
   * What to explain beyond classes: `class:<c>`, `logit-diff:<c1>,<c2>`, `sum:<c1>,<c2>,...` (classes by index or
   * label), or Target objects, including `{kind: 'function', name, score: (logits) => scores}`. After --class's
   * classes; together they override topK. Function targets run in this thread (no worker threads).
   *
   * Two more read another output than the class scores (never with CAM, whose weights are the classes'):
   * `seg:<c>` (a segmentation model's: the sum of class c's logits over the pixels where it is predicted) or
   * `seg:<c>@<mask.png>` (over a given mask, white inside), and `similar-to:<image>` (any model: the cosine similarity
   * between the embedding at `embeddingLayer` and the given image's). Such runs stay in this thread.
   */
  targets?: (string | Target)[];
  /**
   * The layer whose output is the embedding of `similar-to:` targets (default: the model's last global pooling
   * layer); any layer after the target layers.
   */
  embeddingLayer?: string;
  /**
   * Colour map of the heatmaps: 'jet' (default, OpenCV's, as pytorch-grad-cam), 'turbo', 'viridis', 'inferno'; each
   * map scaled on its own, 0 = its minimum, 1 = its maximum.
   */
  colormap?: ColormapName;
  /** Heatmap opacity in the overlay, 0..1 (default 0.5). */
  alpha?: number;
  /**
   * How the pixel-level methods (saliency, SmoothGrad, Integrated Gradients, guided backprop, Guided Grad-CAM) are
   * drawn (see render/drawing.ts): 'auto' (default) and 'signed': their signed attribution, summed over channels,
   * on a diverging colour map centred on zero and clipped; 'heatmap': the magnitude map as a heatmap; 'gradient':
   * the papers' grey-centred RGB gradient images. Class activation maps are always heatmaps.
   */
  render?: RenderMode;
  /** Diverging colour map of signed maps (default bwr: blue negative, white zero, red positive). */
  signedColormap?: DivergingName;
  /** Signed maps: the share (%) of the total |attribution| that saturates at the colour map's ends (default 2, as Captum). */
  outlierPercent?: number;
  /** 'below': a colour-scale strip under every overlay, heatmap and gradient image (default: none). */
  legend?: 'below' | 'none';
  /** Also write the heatmap alone as PNG. */
  heatmap?: boolean;
  /** Also write each raw low-resolution map (before normalisation) as float32 `.npy`. */
  saveRaw?: boolean;
  /** Also write the exact preprocessed model input as float32 `.npy` `[1, h, w, c]`. */
  saveInput?: boolean;
  /** Overwrite existing outputs. */
  force?: boolean;
  /**
   * Finish an interrupted run (or add images to a finished one) in the same output folder: images recorded as
   * done there whose files are all present are skipped, the rest redone, report.json merged (see resume.ts).
   */
  resume?: boolean;
  /** Keep timings in the report (default true). */
  timings?: boolean;
  /**
   * Finer-CAM: the classes each class is compared with, by index or label (resolved as `classes` are; default: the 3
   * classes whose logits are closest to the explained class's). Overrides methodOptions.finerCompare.
   */
  finerCompare?: (number | string)[];
  /** Options of the methods (batch size, channels, noise, eigen smoothing, FEM's k, KPCA-CAM's kernel, Finer-CAM's alpha and base). */
  methodOptions?: Partial<MethodOptions>;
  /** Resampling to the model input (default: the sidecar's, else bilinear = tf.image.resizeBilinear). */
  interpolation?: Interpolation;
  /** With bilinear or nearest: tf's alignCorners (default: the sidecar's, else false). */
  alignCorners?: boolean;
  /** Test-time augmentation smoothing. */
  augSmooth?: boolean;
  /**
   * With several target layers: how their maps (each normalised and resized to the input) become one: 'mean'
   * (default, as pytorch-grad-cam) or 'product' (RefineCAM's aggregation, for any method). RefineCAM always multiplies.
   */
  aggregate?: LayerAggregation;
  /** Integrated Gradients: baseline image file, fitted and preprocessed like the inputs (default: black). */
  baselineImage?: string;
  /** A comparison sheet PNG per image (default: when several methods run). */
  sheet?: boolean;
  /** Overlays, heatmaps and sheets: format (default png) and quality (jpeg/webp, default 90). */
  format?: ImageFormat;
  /** 1..100, with format 'jpeg' or 'webp' (default 90). */
  quality?: number;
  /**
   * Longest side of overlays, heatmaps and sheets in pixels (default 2048; 0 = the image's own size). The model
   * input, the report's numbers and its coordinates (peaks, in the original image's pixels) do not depend on it.
   */
  maxSize?: number;
  /**
   * Run long per-image work (Score-CAM, Ablation-CAM, Smooth Grad-CAM++, many classes) in a worker thread even for
   * one image, so that this thread stays free to answer Ctrl-C at once (the methods are synchronous and can run for
   * minutes). The CLI sets it; library callers keep the work in their own thread unless they ask.
   */
  isolateLongWork?: boolean;
  /** Set for a worker that runs one image at a time: threads for Score-CAM's/Ablation-CAM's channels. */
  channelThreads?: number;
  /**
   * Backends for a folder (default 1: this thread only). A number: up to that many at once (this thread and
   * n - 1 workers). 'auto': up to the number of cores, as many as pay for themselves (see explainRun).
   */
  jobs?: number | 'auto';
  /** Return each image's maps as arrays in the result. */
  returnMaps?: boolean;
  /** After each image, in input order; `resumed`: done by an earlier run and skipped (--resume). */
  onImage?: (done: number, total: number, image: ReportImage, resumed?: boolean) => void;
  /** Stop after the image in flight when aborted. */
  signal?: AbortSignal;
  /** Explain only this shard of the inputs (--shard K/N, see batch/shard.ts); the report records it for `merge`. */
  shard?: Shard;
}

export interface ImageMaps {
  file: string;
  /** Maps at the model's input resolution, row-major, values in [0, 1]. */
  /** `label`: the class's, or the target's ('cat - dog'); `target`: its spec ('class:3', 'logit-diff:3,5'). */
  maps: { method: string; classIndex: number; label: string; target: string; map: Float32Array; width: number; height: number; flat: boolean }[];
}

export interface ExplainResult {
  report: ExplainReport;
  maps?: ImageMaps[];
}

/** One image's outcome before writing: the report entry and the files to write (paths relative to --out). */
export interface RenderedImage {
  entry: ReportImage;
  files: { rel: string; data: Uint8Array }[];
  maps?: ImageMaps;
}

// In their own Node-free module so that the browser page names its downloads as explain names its files.
