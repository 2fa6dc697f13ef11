/**
 * What a map explains: a class (the default), the difference of two logits ("why c1 and not c2"), the sum of a
 * group of classes, or, from the library, any differentiable function of the logits. Every method that uses a
 * score uses the target's: gradients, input gradients, Score-CAM's and Ablation-CAM's scores, CAM's weights.
 *
 * Class, logit-diff and sum targets are linear: a row t of weights over the classes, score = t . s with s the
 * logits (or, with --score probability, the probabilities). A function target gets the logits [n, classes] and
 * returns [n] scores (whatever --score says).
 *
 * Two targets read another output of the network than its class scores, and are scored on a view of it
 * (Classifier.outputView; explain-tensor.ts): `similarity` (similar-to:<image>), the cosine similarity between the
 * embedding at a layer and a reference image's (pytorch-grad-cam's SimilarityToConceptTarget), and `segment`
 * (seg:<c>[@mask]), the sum of class c's logits over its mask, predicted or given, in a segmentation model's
 * per-pixel map (pytorch-grad-cam's SemanticSegmentationTarget).
 */
import * as tf from '@tensorflow/tfjs';
import { HeadKind, probabilitiesOf } from '../model/head';
import { UsageError } from '../util/errors';

export type Target =
  | { kind: 'class'; index: number }
  | { kind: 'logit-diff'; classes: [number, number] }
  | { kind: 'sum'; classes: number[] }
  | { kind: 'function'; name: string; score: (logits: tf.Tensor2D) => tf.Tensor1D }
  | SimilarityTarget
  | SegmentTarget;

/** similar-to:<image>: how close the embedding at `layer` is to the reference image's (cosine similarity). */
export interface SimilarityTarget {
  kind: 'similarity';
  /** The reference image as given (file or name), for the spec and labels. */
  image: string;
  /** The reference image as model input, [height * width * channels] (fitted and preprocessed like the inputs). */
  reference?: Float32Array;
  /** The embedding layer (default: the model's last global pooling layer). */
  layer?: string;
}

/** seg:<c>[@mask]: the sum of class c's logits over a mask of a segmentation model's output pixels. */
export interface SegmentTarget {
  kind: 'segment';
  index: number;
  /** The mask file as given (absent: the pixels where the model predicts class c). */
  maskFile?: string;
  /** The mask at the model's output resolution, row-major, 1 inside (absent: predicted per image). */
  mask?: Uint8Array;
}

/** Whether a target reads more than the class scores (scored on a view of the network, see explain-tensor.ts). */
export function readsOtherOutput(t: TargetLike): t is SimilarityTarget | SegmentTarget {
  const x = asTarget(t);
  return x.kind === 'similarity' || x.kind === 'segment';
}

/** For the commands that score targets on the class scores alone (evaluate, check, diff): seg: and similar-to: refused. */
export function onlyClassScores(t: Target, command: string): Target {
  if (readsOtherOutput(t)) throw new UsageError(`--target ${targetSpec(t)}: ${command} scores targets of the class scores (class:, logit-diff:, sum:); explain draws seg: and similar-to: targets`);
  return t;
}

const baseName = (file: string) => file.split(/[\\/]/).pop() ?? file;

/** A target or a plain class index. */
export type TargetLike = number | Target;

export const asTarget = (t: TargetLike): Target => (typeof t === 'number' ? { kind: 'class', index: t } : t);

/** The classes a target reads (empty for a function). */
export function targetClasses(t: TargetLike): number[] {
  const x = asTarget(t);
  if (x.kind === 'class' || x.kind === 'segment') return [x.index];
  return x.kind === 'function' || x.kind === 'similarity' ? [] : x.classes;
}

/** Weights over the classes of a linear target; null for a function. */
export function targetRow(t: TargetLike, numClasses: number): Float32Array | null {
  const x = asTarget(t);
  if (x.kind === 'function' || x.kind === 'similarity' || x.kind === 'segment') return null;
  const row = new Float32Array(numClasses);
  if (x.kind === 'class') row[x.index] = 1;
  else if (x.kind === 'logit-diff') {
    row[x.classes[0]] += 1;
    row[x.classes[1]] -= 1;
  } else for (const c of x.classes) row[c] += 1;
  return row;
}

/** The [k, numClasses] weights of linear targets (null if any is a function). */
export function targetMatrix(targets: TargetLike[], numClasses: number): tf.Tensor2D | null {
  const rows = targets.map((t) => targetRow(t, numClasses));
  if (rows.some((r) => !r)) return null;
  const m = new Float32Array(targets.length * numClasses);
  rows.forEach((r, i) => m.set(r!, i * numClasses));
  return tf.tensor2d(m, [targets.length, numClasses]);
}

/**
 * Scores [k * repeat] of logits [k * repeat, numClasses] whose rows i * repeat .. (i + 1) * repeat - 1 belong to
 * targets[i]. Linear targets score the logits or, with 'probability', the head's probabilities.
 */
export function targetScores(logits: tf.Tensor2D, targets: TargetLike[], repeat: number, score: 'logit' | 'probability', head: HeadKind): tf.Tensor1D {
  const numClasses = logits.shape[1];
  const linear = targets.map((t) => targetRow(t, numClasses));
  const s = score === 'probability' ? probabilitiesOf(logits, head) : logits;
  if (linear.every((r) => r)) {
    // a product and a sum select the score (no gather, whose gradient WASM lacks)
    const m = new Float32Array(targets.length * repeat * numClasses);
    linear.forEach((r, i) => {
      for (let j = 0; j < repeat; j++) m.set(r!, (i * repeat + j) * numClasses);
    });
    return tf.sum(tf.mul(s, tf.tensor2d(m, [targets.length * repeat, numClasses])), 1);
  }
  const parts = targets.map((t, i) => {
    const x = asTarget(t);
    const rows = (v: tf.Tensor2D) => tf.slice(v, [i * repeat, 0], [repeat, numClasses]);
    if (x.kind === 'function') return functionScores(x, rows(logits));
    if (readsOtherOutput(x)) throw new Error(`target '${targetSpec(x)}' is scored on a view of the network (explainTensor), not on the class scores`);
    return tf.sum(tf.mul(rows(s), tf.tensor2d(linear[i]!, [1, numClasses])), 1);
  });
  return tf.concat(parts) as tf.Tensor1D;
}

function functionScores(t: Extract<Target, { kind: 'function' }>, logits: tf.Tensor2D): tf.Tensor1D {
  const out = t.score(logits);
  if (out.rank !== 1 || out.shape[0] !== logits.shape[0]) throw new UsageError(`target '${t.name}' must return one score per row ([${logits.shape[0]}]), got shape [${out.shape}]`);
  return out;
}

/** Scores [n, k] of every target for logits [n, numClasses] (Score-CAM's and Ablation-CAM's scorers: logits). */
export function targetScoreMatrix(logits: tf.Tensor2D, targets: TargetLike[]): tf.Tensor2D {
  const m = targetMatrix(targets, logits.shape[1]);
  if (m) return tf.matMul(logits, m, false, true) as tf.Tensor2D;
  return tf.stack(
    targets.map((t) => {
      const x = asTarget(t);
      if (readsOtherOutput(x)) throw new Error(`target '${targetSpec(x)}' is scored on a view of the network (explainTensor), not on the class scores`);
      return x.kind === 'function' ? functionScores(x, logits) : tf.sum(tf.mul(logits, tf.tensor2d(targetRow(x, logits.shape[1])!, [1, logits.shape[1]])), 1);
    }),
    1,
  ) as tf.Tensor2D;
}

/** The name used in the report, on the command line and in file names: 'class:3', 'logit-diff:3,5', 'sum:1,2', 'fn:<name>'. */
export function targetSpec(t: TargetLike): string {
  const x = asTarget(t);
  if (x.kind === 'class') return `class:${x.index}`;
  if (x.kind === 'function') return `fn:${x.name}`;
  if (x.kind === 'similarity') return `similar-to:${x.image}`;
  if (x.kind === 'segment') return `seg:${x.index}${x.maskFile ? `@${x.maskFile}` : ''}`;
  return `${x.kind}:${x.classes.join(',')}`;
}

/** A human label: 'cat', 'cat - dog', 'cat + dog', or the function's name. */
export function targetLabel(t: TargetLike, labels: string[]): string {
  const x = asTarget(t);
  const l = (c: number) => labels[c] ?? String(c);
  if (x.kind === 'class') return l(x.index);
  if (x.kind === 'function') return x.name;
  if (x.kind === 'similarity') return `similar to ${baseName(x.image)}`;
  if (x.kind === 'segment') return `${l(x.index)} (segment${x.maskFile ? ` ${baseName(x.maskFile)}` : ''})`;
  return x.classes.map(l).join(x.kind === 'logit-diff' ? ' - ' : ' + ');
}

/**
 * Parses a --target value: 'class:<c>', 'logit-diff:<c1>,<c2>', 'sum:<c1>,<c2>,...', 'seg:<c>[@<mask image>]',
 * 'similar-to:<image>'; each class an index or a label (resolved by `classIndex`). A bare class ('7', 'cat') is a
 * class target. The images are only named here: the pipeline reads them (see explain.ts, resolveImageTargets).
 */
export function parseTarget(spec: string, classIndex: (c: string) => number): Target {
  const other = /^(similar-to|seg):(.*)$/i.exec(spec.trim());
  if (other) {
    const rest = other[2].trim();
    if (other[1].toLowerCase() === 'similar-to') {
      if (!rest) throw new UsageError(`bad --target '${spec}': similar-to: takes an image, similar-to:<image>`);
      return { kind: 'similarity', image: rest };
    }
    const at = rest.indexOf('@');
    const cls = (at < 0 ? rest : rest.slice(0, at)).trim();
    const maskFile = at < 0 ? undefined : rest.slice(at + 1).trim();
    if (!cls) throw new UsageError(`bad --target '${spec}': seg: takes a class, seg:<c> or seg:<c>@<mask.png>`);
    if (maskFile === '') throw new UsageError(`bad --target '${spec}': an empty mask file after '@'`);
    return { kind: 'segment', index: classIndex(cls), ...(maskFile ? { maskFile } : {}) };
  }
  const m = /^(class|logit-diff|sum):(.*)$/i.exec(spec.trim());
  if (!m) {
    if (/^(logit-diff|sum|class)$/i.test(spec.trim()) || /^[a-z-]+:/i.test(spec.trim())) {
      throw new UsageError(`bad --target '${spec}': use class:<c>, logit-diff:<c1>,<c2>, sum:<c1>,<c2>,..., seg:<c>[@mask.png] or similar-to:<image>`);
    }
    return { kind: 'class', index: classIndex(spec.trim()) };
  }
  const kind = m[1].toLowerCase();
  const items = m[2].split(',').map((s) => s.trim());
  if (items.some((s) => !s)) throw new UsageError(`bad --target '${spec}': an empty class`);
  const classes = items.map(classIndex);
  if (kind === 'class') {
    if (classes.length !== 1) throw new UsageError(`bad --target '${spec}': class: takes one class (sum: adds several)`);
    return { kind: 'class', index: classes[0] };
  }
  if (kind === 'logit-diff') {
    if (classes.length !== 2) throw new UsageError(`bad --target '${spec}': logit-diff: takes two classes, c1,c2 (why c1 and not c2)`);
    if (classes[0] === classes[1]) throw new UsageError(`bad --target '${spec}': the two classes are the same (the difference is 0)`);
    return { kind: 'logit-diff', classes: [classes[0], classes[1]] };
  }
  if (new Set(classes).size !== classes.length) throw new UsageError(`bad --target '${spec}': a class is given twice`);
  return { kind: 'sum', classes };
}
