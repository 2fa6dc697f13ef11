/**
 * The JSON report of `tfjs-cam diff` (printed by --json, written as diff.json with --out). Versioned: a change that
 * removes or changes a field bumps DIFF_REPORT_SCHEMA; adding fields does not. Its JSON Schema is
 * schema/diff-report.schema.json; docs/diff.md describes each field.
 */
export const DIFF_REPORT_SCHEMA = 'tfjs-cam/diff-report@1';

/** Thresholds of the verdict; an absent one is not judged. */
export interface DiffThresholds {
  /** Every compared map's correlation with the base's is at least this (-1..1). */
  minCorrelation?: number;
  /** The peak moves at most this share of the image's diagonal (0..1). */
  maxPeakShift?: number;
  /** The peak moves at most this many of the image's pixels. */
  maxPeakShiftPx?: number;
  /** At most this many images have another top-1 class under the head model. */
  maxFlips?: number;
  /** The compared class's probability falls by at most this much (base - head, 0..1). */
  maxProbabilityDrop?: number;
}

export interface DiffFailure {
  /** Which threshold: minCorrelation, maxPeakShift, maxPeakShiftPx, maxFlips, maxProbabilityDrop, or 'map' (a flat map). */
  check: string;
  expected: string;
  actual: string;
  /** One line for people. */
  message: string;
}

export interface DiffPrediction {
  index: number;
  label: string;
  probability: number;
}

/** One side's view of a compared class or target on one image. */
export interface DiffSideMap {
  /** The class's index in this model (labels matched when the models order classes differently). */
  index?: number;
  probability: number;
  /** The map's maximum in the image's pixels (pixel centres at +0.5); null for a flat map. */
  peak: { x: number; y: number } | null;
  /** Share of the map's mass in its 20% highest pixels (as explain reports it). */
  topMassShare: number;
  flat: boolean;
}

/** The two maps of one class (or target) and method on one image, compared on the image's grid. */
export interface DiffComparison {
  method: string;
  /** The class compared, by the base's index and label (absent for another target: see `target`). */
  class?: { index: number; label: string };
  /** A target other than a class (logit-diff:, sum:), as the base model reads it. */
  target?: { spec: string; label: string };
  base: DiffSideMap;
  head: DiffSideMap;
  /** Pearson correlation of the two maps on the grid (-1..1; two flat maps 1, one flat map 0). */
  correlation: number;
  /** IoU of the two maps' top regions (each map's 20% highest pixels on the grid). */
  iou: number;
  /** How far the peak moved: image pixels and share of the diagonal; null when either map is flat. */
  peakShift: { px: number; share: number } | null;
  /** head probability - base probability (negative: the head is less sure). */
  probabilityChange: number;
  status: 'pass' | 'fail';
  failures: DiffFailure[];
  /** Overlays written for this comparison (relative to the output folder): base, head and their difference. */
  files?: { base: string; head: string; difference: string };
}

export interface DiffImage {
  file: string;
  /** 'error': the image could not be compared (unreadable, or one side failed on it: `error` says which). */
  status: 'pass' | 'fail' | 'error';
  error?: string;
  width?: number;
  height?: number;
  /** The grid the maps were compared on (the image's size, or scaled down to 512 px on its longest side). */
  grid?: { width: number; height: number };
  base?: { top: DiffPrediction[] };
  head?: { top: DiffPrediction[] };
  /** The head's top-1 class is not the base's (classes matched by label when the models have labels). */
  flipped?: boolean;
  comparisons?: DiffComparison[];
  /** Run-level failures that fall on this image (a top-1 flip past --max-flips). */
  failures?: DiffFailure[];
  warnings?: string[];
  ms?: number;
}

export interface DiffModelInfo {
  source: string;
  sha256: string;
  format: string;
  inputSize: [number, number, number];
  classes: number;
  labelsSource: string;
  layers: string[];
  preprocessing: { scale: [number, number]; mean: number[]; std: number[]; bgr: boolean; resize: string; grayscale: boolean; interpolation: string; alignCorners: boolean };
}

export interface DiffReport {
  schema: typeof DIFF_REPORT_SCHEMA;
  tool: { name: 'tfjs-cam'; version: string };
  base: DiffModelInfo;
  head: DiffModelInfo;
  backend: string;
  methods: string[];
  score: 'logit' | 'probability';
  /** How classes of the two models are matched: by index (same count, no labels on one side) or by label. */
  classMatch: 'index' | 'label';
  /** Which classes were compared: the base's top-1 on each image, or the classes and targets asked for. */
  compared: { kind: 'base-top-1' } | { kind: 'given'; targets: string[] };
  /** Where maps are compared: the image's grid (its pixels, at most gridMaxSide on the longest side). */
  coordinates: 'image';
  gridMaxSide: number;
  thresholds: DiffThresholds;
  output: { dir: string | null };
  notes?: string[];
  /** Input order. */
  images: DiffImage[];
  /** Only in a `--shard K/N` run: which shard, of how many, and the whole input list's size. */
  shard?: { index: number; count: number; inputs: number };
  summary: {
    images: number;
    compared: number;
    passed: number;
    failed: number;
    errors: number;
    /** Images whose top-1 class flipped. */
    flips: number;
    /** Over every comparison: the lowest and the mean correlation, the largest peak shift (share) and probability drop. */
    minCorrelation: number | null;
    meanCorrelation: number | null;
    maxPeakShift: number | null;
    maxProbabilityDrop: number | null;
  };
  timings?: { loadMs: number; totalMs: number; perImageMs: number };
}
