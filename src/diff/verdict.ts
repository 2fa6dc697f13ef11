/**
 * The verdict of `tfjs-cam diff` (and of a check spec's `diff`): the thresholds checked and, per comparison, the
 * failures in words. Pure: the numbers in, the failures out. A comparison's thresholds (correlation, peak shift,
 * probability drop) are judged on it alone; --max-flips is a run-level count, and when the run has more top-1 flips
 * than it allows, each flipped image fails with that reason.
 */
import { UsageError } from '../util/errors';
import type { DiffComparison, DiffFailure, DiffImage, DiffReport, DiffThresholds } from './report';

const fmt = (v: number, d = 3) => v.toFixed(d).replace(/\.?0+$/, '') || '0';
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** The thresholds as the flags and the spec give them, checked: each a clear line when out of range. */
export function checkThresholds(t: DiffThresholds, name: (key: keyof DiffThresholds) => string): DiffThresholds {
  const bad = (key: keyof DiffThresholds, what: string) => new UsageError(`${name(key)} must be ${what} (got '${String(t[key])}')`);
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (t.minCorrelation !== undefined && !(num(t.minCorrelation) && t.minCorrelation >= -1 && t.minCorrelation <= 1)) throw bad('minCorrelation', 'a number from -1 to 1');
  if (t.maxPeakShift !== undefined && !(num(t.maxPeakShift) && t.maxPeakShift >= 0 && t.maxPeakShift <= 1)) throw bad('maxPeakShift', "a share of the image's diagonal from 0 to 1 (or pixels, as '12px')");
  if (t.maxPeakShiftPx !== undefined && !(num(t.maxPeakShiftPx) && t.maxPeakShiftPx >= 0)) throw bad('maxPeakShiftPx', 'a number of pixels >= 0');
  if (t.maxFlips !== undefined && !(Number.isInteger(t.maxFlips) && t.maxFlips >= 0)) throw bad('maxFlips', 'a whole number >= 0');
  if (t.maxProbabilityDrop !== undefined && !(num(t.maxProbabilityDrop) && t.maxProbabilityDrop >= 0 && t.maxProbabilityDrop <= 1)) throw bad('maxProbabilityDrop', 'a number from 0 to 1');
  return t;
}

/** `0.1` (share of the diagonal) or `12px` (pixels): --max-peak-shift's two forms. */
export function parsePeakShift(v: string, flag = '--max-peak-shift'): Pick<DiffThresholds, 'maxPeakShift' | 'maxPeakShiftPx'> {
  const s = v.trim();
  const px = /^(.*?)\s*px$/i.exec(s);
  const n = px ? (px[1].trim() === '' ? NaN : Number(px[1])) : s === '' ? NaN : Number(s);
  if (px) {
    if (!(Number.isFinite(n) && n >= 0)) throw new UsageError(`${flag} must be a share of the image's diagonal from 0 to 1, or pixels as '12px' (got '${v}')`);
    return { maxPeakShiftPx: n };
  }
  if (!(Number.isFinite(n) && n >= 0 && n <= 1)) throw new UsageError(`${flag} must be a share of the image's diagonal from 0 to 1, or pixels as '12px' (got '${v}')`);
  return { maxPeakShift: n };
}

export function hasThresholds(t: DiffThresholds): boolean {
  return Object.values(t).some((v) => v !== undefined);
}

/** What a comparison is about, for messages: "gradcam map of '7'". */
function about(c: Pick<DiffComparison, 'method' | 'class' | 'target'>): string {
  return `${c.method} map of '${c.class?.label ?? c.target?.label ?? '?'}'`;
}

/** The comparison's own thresholds (all but --max-flips). */
export function judgeComparison(c: Omit<DiffComparison, 'status' | 'failures'>, t: DiffThresholds): DiffFailure[] {
  const f: DiffFailure[] = [];
  const add = (check: string, expected: string, actual: string, message: string) => f.push({ check, expected, actual, message });
  const flatSide = c.base.flat && !c.head.flat ? 'base' : !c.base.flat && c.head.flat ? 'head' : null;
  if (t.minCorrelation !== undefined && !(c.correlation >= t.minCorrelation)) {
    add('minCorrelation', `>= ${t.minCorrelation}`, fmt(c.correlation), `correlation ${fmt(c.correlation)} < ${t.minCorrelation} (${about(c)}${flatSide ? `; the ${flatSide}'s map is flat` : ''})`);
  }
  if (t.maxPeakShift !== undefined || t.maxPeakShiftPx !== undefined) {
    if (flatSide) add('map', 'a peak on both sides', `flat ${flatSide} map`, `the ${flatSide}'s ${about(c)} is flat: it has no peak to compare`);
    else if (c.peakShift) {
      const s = c.peakShift;
      const moved = `peak moved ${fmt(s.px, 1)} px (${pct(s.share)} of the diagonal)`;
      if (t.maxPeakShift !== undefined && !(s.share <= t.maxPeakShift)) add('maxPeakShift', `<= ${t.maxPeakShift}`, fmt(s.share), `${moved} > ${pct(t.maxPeakShift)} (${about(c)})`);
      if (t.maxPeakShiftPx !== undefined && !(s.px <= t.maxPeakShiftPx)) add('maxPeakShiftPx', `<= ${t.maxPeakShiftPx} px`, `${fmt(s.px, 1)} px`, `${moved} > ${t.maxPeakShiftPx} px (${about(c)})`);
    }
  }
  if (t.maxProbabilityDrop !== undefined) {
    const drop = -c.probabilityChange;
    if (!(drop <= t.maxProbabilityDrop)) {
      add('maxProbabilityDrop', `<= ${t.maxProbabilityDrop}`, fmt(drop), `probability of '${c.class?.label ?? c.target?.label}' fell ${fmt(drop)} (${fmt(c.base.probability)} -> ${fmt(c.head.probability)}) > ${t.maxProbabilityDrop}`);
    }
  }
  return f;
}

/**
 * Judges every image in place: each comparison's thresholds, then --max-flips over the run. Returns the summary.
 * `flipNote(img)` says what flipped on an image ("'7' (95.4%) -> '1' (60.2%)").
 */
export function judgeImages(images: DiffImage[], t: DiffThresholds, flipNote: (img: DiffImage) => string): DiffReport['summary'] {
  for (const img of images) {
    if (img.status === 'error') continue;
    // Judged afresh: a report judged again (other thresholds) keeps nothing of the earlier verdict.
    delete img.failures;
    for (const c of img.comparisons ?? []) {
      c.failures = judgeComparison(c, t);
      c.status = c.failures.length ? 'fail' : 'pass';
    }
  }
  const flipped = images.filter((i) => i.status !== 'error' && i.flipped);
  if (t.maxFlips !== undefined && flipped.length > t.maxFlips) {
    for (const img of flipped) {
      img.failures = [{ check: 'maxFlips', expected: `<= ${t.maxFlips} flips`, actual: `${flipped.length} flips`, message: `top-1 flipped: ${flipNote(img)} (${flipped.length} image${flipped.length === 1 ? '' : 's'} flipped, at most ${t.maxFlips} allowed)` }];
    }
  }
  for (const img of images) {
    if (img.status === 'error') continue;
    const failing = (img.failures?.length ?? 0) > 0 || (img.comparisons ?? []).some((c) => c.status === 'fail');
    img.status = failing ? 'fail' : 'pass';
  }
  return summarise(images);
}

export function summarise(images: DiffImage[]): DiffReport['summary'] {
  const comps = images.flatMap((i) => (i.status === 'error' ? [] : i.comparisons ?? []));
  const corr = comps.map((c) => c.correlation);
  const shifts = comps.flatMap((c) => (c.peakShift ? [c.peakShift.share] : []));
  const drops = comps.map((c) => -c.probabilityChange);
  const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;
  return {
    images: images.length,
    compared: images.filter((i) => i.status !== 'error').length,
    passed: images.filter((i) => i.status === 'pass').length,
    failed: images.filter((i) => i.status === 'fail').length,
    errors: images.filter((i) => i.status === 'error').length,
    flips: images.filter((i) => i.status !== 'error' && i.flipped).length,
    minCorrelation: corr.length ? round(Math.min(...corr), 6) : null,
    meanCorrelation: corr.length ? round(corr.reduce((a, b) => a + b, 0) / corr.length, 6) : null,
    maxPeakShift: shifts.length ? round(Math.max(...shifts)) : null,
    maxProbabilityDrop: drops.length ? round(Math.max(...drops)) : null,
  };
}

/** Worst first: errors, then failures, then by correlation (lowest first), then by file: the table's and HTML's order. */
export function worstFirst(images: DiffImage[]): DiffImage[] {
  const rank = (i: DiffImage) => (i.status === 'error' ? 0 : i.status === 'fail' ? 1 : 2);
  const lowest = (i: DiffImage) => Math.min(2, ...(i.comparisons ?? []).map((c) => c.correlation));
  return [...images].sort((a, b) => rank(a) - rank(b) || lowest(a) - lowest(b) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
