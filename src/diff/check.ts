/**
 * A check spec's `diff` section: the case's model is the head, `diff.baseline` the base. For each image the check
 * has explained, the baseline explains the same classes (matched by label when both models have labels) with the
 * same methods; the maps are compared on the image's grid as `tfjs-cam diff` compares them, and the same
 * thresholds (under the case's `expect`) judge them.
 */
import type { DecodedImage } from '../image/decode';
import { Placement, toSource } from '../image/geometry';
import { Target, targetLabel, targetSpec } from '../capture/targets';
import { UserError } from '../util/errors';
import type { LoadedModel } from '../model/load';
import type { BackendName } from '../backend';
import { explainTensor, TensorExplanation } from '../pipeline/explain-tensor';
import { peakOf, topMassShare } from '../pipeline/maps';
import { prepareInput } from '../pipeline/explain';
import { openSession, Session } from '../pipeline/session';
import { ClassMatch, matchClasses, targetToHead } from './classes';
import { pearson, peakShift, topRegionIou } from './compare';
import { gridFor, mapOnGrid } from './grid';
import type { DiffComparison, DiffFailure, DiffSideMap, DiffThresholds } from './report';
import { judgeComparison } from './verdict';

/** What a check result records of its comparison with the baseline. */
export interface CheckDiff {
  baseline: string;
  /** Pearson correlation of the case's map with the baseline's on the image's grid. */
  correlation: number;
  iou: number;
  peakShift: { px: number; share: number } | null;
  /** The class's (target's) probability under the baseline, and the change to the case's model (case - baseline). */
  baselineProbability: number;
  probabilityChange: number;
  /** The case model's top-1 class is not the baseline's; the baseline's top-1. */
  flipped: boolean;
  baselineTop: { index: number; label: string; probability: number } | null;
}

export interface Baseline {
  session: Session;
  /** Case model index -> baseline index. */
  match: ClassMatch;
  shown: string;
}

/** Opens the baseline for a case's session (its own sidecar settings; `layers` when the spec names them). */
export async function openBaseline(model: LoadedModel, caseSession: Session, backend: BackendName, layers: string[] | undefined, shown: string): Promise<Baseline> {
  const session = await openSession({ model, backend, method: caseSession.methods.map((m) => m.name).join(','), layers, score: caseSession.score });
  const match = matchClasses(
    { name: 'the case model', labels: caseSession.labels, labelled: caseSession.labelsSource !== 'indices' },
    { name: `the baseline (${shown})`, labels: session.labels, labelled: session.labelsSource !== 'indices' },
  );
  return { session, match, shown };
}

const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

function probabilityOf(t: Target, p: Float32Array): number {
  if (t.kind === 'class') return p[t.index];
  if (t.kind === 'logit-diff') return p[t.classes[0]] - p[t.classes[1]];
  if (t.kind === 'sum') return t.classes.reduce((a, c) => a + p[c], 0);
  return NaN;
}

/**
 * The baseline's maps of the targets `ex` explained, compared with `ex`'s (one per map, in `ex.maps`' order). The
 * case's map is the head. Throws (a one-line UserError) when a class has no counterpart in the baseline.
 */
export async function compareWithBaseline(b: Baseline, caseSession: Session, img: DecodedImage, casePlace: Placement, ex: TensorExplanation, thresholds: DiffThresholds): Promise<{ diff: CheckDiff; failures: DiffFailure[] }[]> {
  const targets = ex.targets.map((t) => {
    const onBase = targetToHead(t, b.match);
    if (!onBase) throw new UserError(`the baseline (${b.shown}) has no class labelled like '${targetLabel(t, caseSession.labels)}'`);
    return onBase;
  });
  const { x, place } = await prepareInput(b.session, img);
  let exB: TensorExplanation;
  try {
    exB = explainTensor(b.session.model.classifier, x, { methods: b.session.methods, layers: b.session.layers, targets, topK: 1, score: b.session.score });
  } finally {
    x.dispose();
  }
  const grid = gridFor(img.width, img.height);
  const [hh, hw] = caseSession.model.classifier.inputShape;
  const [bh, bw] = b.session.model.classifier.inputShape;
  const caseTop = ex.top[0]?.index;
  const flipped = caseTop === undefined || b.match.toHead(caseTop) !== exB.top[0]?.index;
  const bt = exB.top[0];
  const baselineTop = bt ? { index: bt.index, label: b.session.labels[bt.index], probability: round(bt.probability) } : null;
  return ex.maps.map((mH, k) => {
    const mB = exB.maps[k];
    const gB = mapOnGrid(mB.map, bw, bh, place, grid);
    const gH = mapOnGrid(mH.map, hw, hh, casePlace, grid);
    const side = (m: typeof mB, e: TensorExplanation, w: number, pl: Placement): DiffSideMap => {
      const pk = peakOf(m.map, w);
      const at = toSource(pl, pk.x, pk.y);
      return { probability: probabilityOf(m.target, e.probabilities), peak: m.flat ? null : at, topMassShare: topMassShare(m.map), flat: m.flat };
    };
    const base = side(mB, exB, bw, place);
    const head = side(mH, ex, hw, casePlace);
    const shift = base.peak && head.peak ? peakShift(base.peak, head.peak, img.width, img.height) : null;
    const c: Omit<DiffComparison, 'status' | 'failures'> = {
      method: mH.method,
      ...(mH.target.kind === 'class' ? { class: { index: mH.classIndex, label: caseSession.labels[mH.classIndex] } } : { target: { spec: targetSpec(mH.target), label: targetLabel(mH.target, caseSession.labels) } }),
      base,
      head,
      correlation: round(pearson(gB, gH), 6),
      iou: round(topRegionIou(gB, gH)),
      peakShift: shift ? { px: round(shift.px, 1), share: round(shift.share) } : null,
      probabilityChange: round(head.probability - base.probability),
    };
    return {
      diff: { baseline: b.shown, correlation: c.correlation, iou: c.iou, peakShift: c.peakShift, baselineProbability: round(base.probability), probabilityChange: c.probabilityChange, flipped, baselineTop },
      failures: judgeComparison(c, thresholds),
    };
  });
}
