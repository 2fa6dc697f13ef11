/**
 * Which class of the head model is which class of the base model. Models with labels on both sides are matched by
 * label (a retrained model may order or extend its classes differently); otherwise by index, which needs the same
 * number of classes. Pure: labels in, a mapping out.
 */
import { UsageError } from '../util/errors';
import { onlyClassScores, readsOtherOutput, type Target } from '../capture/targets';

export interface ModelClasses {
  /** What to call the model in messages ('the base model (models/a)'). */
  name: string;
  labels: string[];
  /** False when the labels are only the indices (no labels file, sidecar or metadata). */
  labelled: boolean;
}

export interface ClassMatch {
  kind: 'index' | 'label';
  /** The head's index of the base's class i; null when the head has no class with its label. */
  toHead(i: number): number | null;
  /** What the user should know (classes only one side has, a different order). */
  notes: string[];
}

const list = (xs: string[], max = 5) => xs.slice(0, max).map((x) => `'${x}'`).join(', ') + (xs.length > max ? ` and ${xs.length - max} more` : '');

export function matchClasses(base: ModelClasses, head: ModelClasses): ClassMatch {
  const nb = base.labels.length;
  const nh = head.labels.length;
  if (!(base.labelled && head.labelled)) {
    if (nb !== nh) {
      const unlabelled = [base, head].filter((m) => !m.labelled).map((m) => m.name).join(' and ');
      throw new UsageError(`${base.name} has ${nb} classes and ${head.name} has ${nh}: classes can only be matched by label, and ${unlabelled} ${unlabelled.includes(' and ') ? 'have' : 'has'} none (give labels in its tfjs-cam.json)`);
    }
    return { kind: 'index', toHead: (i) => (i >= 0 && i < nh ? i : null), notes: [] };
  }
  const exact = new Map<string, number[]>();
  const loose = new Map<string, number[]>();
  head.labels.forEach((l, i) => {
    exact.set(l, [...(exact.get(l) ?? []), i]);
    loose.set(l.trim().toLowerCase(), [...(loose.get(l.trim().toLowerCase()) ?? []), i]);
  });
  // A label the head has several times (ImageNet's two 'crane's): the same index if it is one of them, else the first.
  const pick = (found: number[] | undefined, i: number) => (found?.length ? (found.includes(i) ? i : found[0]) : null);
  const mapping = base.labels.map((l, i) => pick(exact.get(l), i) ?? pick(loose.get(l.trim().toLowerCase()), i));
  const notes: string[] = [];
  const matched = mapping.filter((m) => m !== null).length;
  if (matched === 0) throw new UsageError(`${base.name} and ${head.name} share no class label (${nb} and ${nh} classes): they cannot be compared`);
  const onlyBase = base.labels.filter((_, i) => mapping[i] === null);
  const reached = new Set(mapping.filter((m): m is number => m !== null));
  const onlyHead = head.labels.filter((_, i) => !reached.has(i));
  if (nb !== nh || onlyBase.length || onlyHead.length) {
    notes.push(`${base.name} has ${nb} classes and ${head.name} ${nh}: classes matched by label${onlyBase.length ? `; only in the base: ${list(onlyBase)}` : ''}${onlyHead.length ? `; only in the head: ${list(onlyHead)}` : ''}`);
  } else if (mapping.some((m, i) => m !== i)) {
    notes.push(`${head.name} orders its classes differently: classes matched by label`);
  }
  return { kind: 'label', toHead: (i) => mapping[i] ?? null, notes };
}

/** A base model's target in the head model's indices; null when one of its classes has no counterpart. */
export function targetToHead(t: Target, match: ClassMatch): Target | null {
  if (t.kind === 'function') return t;
  if (readsOtherOutput(t)) return onlyClassScores(t, 'diff'); // refused: throws
  if (t.kind === 'class') {
    const i = match.toHead(t.index);
    return i === null ? null : { kind: 'class', index: i };
  }
  const cs = t.classes.map((c) => match.toHead(c));
  if (cs.some((c) => c === null)) return null;
  return t.kind === 'logit-diff' ? { kind: 'logit-diff', classes: [cs[0]!, cs[1]!] } : { kind: 'sum', classes: cs as number[] };
}
