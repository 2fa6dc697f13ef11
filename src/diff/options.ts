/**
 * What diff() takes, and one image's outcome before the verdict: types only, shared by the pipeline
 * (../pipeline/diff.ts) and the worker pool (./pool.ts) that runs images for it, so neither imports the other.
 */
import type { LoadedModel } from '../model/load';
import type { BackendChoice } from '../backend';
import type { ScoreKind } from '../capture/gradients';
import type { ColormapName } from '../render/colormap';
import type { Shard } from '../batch/shard';
import type { DiffImage, DiffThresholds } from './report';
import type { ImageJob } from '../batch/walk';

export interface DiffOptions {
  /** The reference model: folder, model.json path or URL, or a model already loaded. */
  base: string | LoadedModel;
  /** The model under test. */
  head: string | LoadedModel;
  backend?: BackendChoice;
  threads?: number;
  /** Method(s), as explain's --method; default: the base's sidecar, else the head's, else gradcam. Both sides run the same. */
  method?: string;
  /** Target layers for both sides; baseLayers / headLayers for one side (they win). Default: each side's sidecar, else found. */
  layers?: string[];
  baseLayers?: string[];
  headLayers?: string[];
  /** Classes to compare, by index or label as the base model reads them; default: the base's top-1 on each image. */
  classes?: (number | string)[];
  /** Targets to compare (class:, logit-diff:, sum:), as the base model reads them. */
  targets?: string[];
  /** Top classes listed per side and image (default 3). */
  topK?: number;
  score?: ScoreKind;
  thresholds?: DiffThresholds;
  /** Folder for the overlays (base, head, difference); null or absent: none written. */
  out?: string | null;
  /** Write the three overlays of every comparison into `out` (the HTML report shows them). */
  overlays?: boolean;
  colormap?: ColormapName;
  alpha?: number;
  /** This thread plus jobs - 1 worker threads, each with both models (default 1). */
  jobs?: number;
  /** Compare only this shard of the inputs (--shard K/N, as explain's). */
  shard?: Shard;
  /** Keep timings in the report (default true). */
  timings?: boolean;
  /** After each image, in input order. */
  onImage?: (done: number, total: number, image: DiffImage) => void;
  signal?: AbortSignal;
}

/** One image's outcome before the verdict: its entry and the overlay files (paths relative to --out). */
export interface ComparedImage {
  entry: DiffImage;
  files: { rel: string; data: Uint8Array }[];
}

/** What the worker pool needs of the pipeline: running images one after another in this thread. */
export interface DiffSequence {
  runSequence(take: () => ImageJob | null, onResult: (r: ComparedImage) => Promise<void>): Promise<void>;
}
