/**
 * The shape of evaluate's report (report.json of `tfjs-cam evaluate`): the schema the pipeline fills in and the
 * HTML report and the CLI's table read. Types only, so that report/html.ts need not import the pipeline.
 */

export const EVALUATE_SCHEMA = 'tfjs-cam/evaluate-report@1';

/** A method's scores over the images. null: nothing was measured (no image had a map of it, or --no-faithfulness). */
export interface MethodScores {
  method: string;
  images: number;
  /** Share of images whose map maximum lies in a ground-truth box. */
  pointingGame: number | null;
  /** Mean share of map mass inside the boxes. */
  energyInBox: number | null;
  /** Share of images whose thresholded map box has IoU >= 0.5 with a ground-truth box (ground-truth class). */
  localisation: number | null;
  /** The same, counted only where the top-1 prediction is also right (the CAM paper's top-1 localisation). */
  top1Localisation: number | null;
  averageDrop: number | null;
  increaseInConfidence: number | null;
  deletionAuc: number | null;
  insertionAuc: number | null;
  curves: { deletion: number[]; insertion: number[] } | null;
  /** ROAD: mean class probability over the removal levels, most relevant removed first (lower is better). */
  roadMorf: number | null;
  /** ROAD: the same, least relevant removed first (higher is better). */
  roadLerf: number | null;
  /** (roadLerf - roadMorf) / 2, pytorch-grad-cam's ROADCombined (higher is better). */
  roadCombined: number | null;
  /** Mean ROAD curves, one point per settings.road.fractions. */
  roadCurves: { morf: number[]; lerf: number[] } | null;
  /** Mean Complexity: the map's L1 norm over its size, 0..1 (lower is better). Always measured. */
  complexity: number | null;
  /** Mean Coherency, 0..1: (r + 1) / 2, r the correlation of each map with the map recomputed on image x map (higher is better). */
  coherency: number | null;
  /** Mean of the images' ADCC: harmonic mean of Coherency, 1 - Complexity and 1 - drop (higher is better). */
  adcc: number | null;
  /** Mean of the images' ARCC (with --road): harmonic mean of Coherency, 1 - Complexity and clip(2 x ROAD, 0, 1). */
  arcc: number | null;
}

/** One method's measurements on one image (a row of `perImage`). Faithfulness numbers are null with --no-faithfulness. */
export interface ImageMethodRow {
  method: string;
  /** The map's maximum lies in a ground-truth box (within the tolerance). */
  pointingHit: boolean;
  /** Share of the map's mass inside the boxes. */
  energyInBox: number;
  /** The thresholded map's box has IoU >= 0.5 with a ground-truth box. */
  localisationHit: boolean;
  /** O_c: the class probability on the image multiplied by the map. */
  maskedProbability: number | null;
  /** This image's drop in %: max(0, Y_c - O_c) / Y_c x 100 (Average Drop is its mean). */
  drop: number | null;
  /** O_c > Y_c (Increase in Confidence is the share of these). */
  increase: boolean | null;
  deletionAuc: number | null;
  insertionAuc: number | null;
  /** This image's ROAD MoRF / LeRF means (null without ROAD). */
  roadMorf: number | null;
  roadLerf: number | null;
  /** The map's Complexity (L1 over its size). */
  complexity: number;
  /** Coherency, ADCC and ARCC on this image (null where not measured: --no-arcc, --no-faithfulness, no ROAD). */
  coherency: number | null;
  adcc: number | null;
  arcc: number | null;
  /** The overlay, relative to --out (with --overlays). */
  overlay?: string;
}

export interface ImageRow {
  file: string;
  class: { index: number; label: string };
  /** Y_c: the class probability on the image. */
  probability: number;
  /** The top-1 prediction is the ground-truth class. */
  top1: boolean;
  methods: ImageMethodRow[];
  /** Boxes of its entry that the model sees none of (measured against the others); absent when none. */
  warnings?: string[];
}

export interface EvaluateReport {
  schema: typeof EVALUATE_SCHEMA;
  tool: { name: 'tfjs-cam'; version: string };
  model: { source: string; sha256: string; weightsShuffled: number | null };
  backend: string;
  layers: string[];
  boxes: string;
  settings: {
    tolerance: number;
    threshold: number;
    minIou: number;
    steps: number | null;
    /** ROAD's removal levels and noise (a fraction of each image's value range); null without ROAD. */
    road: { fractions: number[]; noise: number; seed: number } | null;
  };
  /** What the maps explained, when not each image's ground-truth class (--target). */
  target?: { spec: string; label: string };
  /** Things the user should know about the run as a whole (the methods `--method all` left out, and why). */
  notes?: string[];
  images: {
    evaluated: number;
    failed: number;
    top1Accuracy: number | null;
    errors: { file: string; error: string }[];
    /** Boxes entries whose image does not exist (or, with no image arguments, is not an image in the boxes folder). */
    missing: string[];
    /** Images found among the inputs that have no boxes entry. */
    unboxed: string[];
    /** Images whose boxes the model sees none of (outside the image, or cut off by the crop): not evaluated. */
    unusable: { file: string; reason: string }[];
  };
  methods: MethodScores[];
  /** Every evaluated image, in input order, with each method's measurements on it. */
  perImage: ImageRow[];
  files?: { curves?: string; report?: string; html?: string; overlays?: number };
}
