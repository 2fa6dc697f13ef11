/**
 * What a map explains: a class (the default), the difference of two logits ("why c1 and not c2"), the sum of a
 * group of classes, or, from the library, any differentiable function of the logits. Every method that uses a
 * score uses the target's: gradients, input gradients, Score-CAM's and Ablation-CAM's scores, CAM's weights.
 *
 * Class, logit-diff and sum targets are linear: a row t of weights over the classes, score = t . s with s the
 * logits (or, with --score probability, the probabilities). A function target gets the logits [n, classes] and
 * returns [n] scores (whatever --score says).
 */
import * as tf from '@tensorflow/tfjs';
import { HeadKind, probabilitiesOf } from '../model/head';
import { UsageError } from '../util/errors';

export type Target =
  | { kind: 'class'; index: number }
  | { kind: 'logit-diff'; classes: [number, number] }
  | { kind: 'sum'; classes: number[] }
  | { kind: 'function'; name: string; score: (logits: tf.Tensor2D) => tf.Tensor1D };

/** A target or a plain class index. */
export type TargetLike = number | Target;

export const asTarget = (t: TargetLike): Target => (typeof t === 'number' ? { kind: 'class', index: t } : t);

/** The classes a target reads (empty for a function). */
export function targetClasses(t: TargetLike): number[] {
  const x = asTarget(t);
  return x.kind === 'class' ? [x.index] : x.kind === 'function' ? [] : x.classes;
}

/** Weights over the classes of a linear target; null for a function. */
export function targetRow(t: TargetLike, numClasses: number): Float32Array | null {
  const x = asTarget(t);
  if (x.kind === 'function') return null;
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
  return `${x.kind}:${x.classes.join(',')}`;
}

/** A human label: 'cat', 'cat - dog', 'cat + dog', or the function's name. */
export function targetLabel(t: TargetLike, labels: string[]): string {
  const x = asTarget(t);
  const l = (c: number) => labels[c] ?? String(c);
  if (x.kind === 'class') return l(x.index);
  if (x.kind === 'function') return x.name;
  return x.classes.map(l).join(x.kind === 'logit-diff' ? ' - ' : ' + ');
}

/**
 * Parses a --target value: 'class:<c>', 'logit-diff:<c1>,<c2>', 'sum:<c1>,<c2>,...'; each class an index or a
 * label (resolved by `classIndex`). A bare class ('7', 'cat') is a class target.
 */
export function parseTarget(spec: string, classIndex: (c: string) => number): Target {
  const m = /^(class|logit-diff|sum):(.*)$/i.exec(spec.trim());
  if (!m) {
    if (/^(logit-diff|sum|class)$/i.test(spec.trim()) || /^[a-z-]+:/i.test(spec.trim())) {
      throw new UsageError(`bad --target '${spec}': use class:<c>, logit-diff:<c1>,<c2> or sum:<c1>,<c2>,...`);
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
