// diff's maths on plain arrays (by hand and against textbook formulas), its grid, and the class matching.
import { mapDifference, maskIou, pearson, peakShift, topRegion, topRegionIou } from '../../src/diff/compare';
import { gridFor, mapOnGrid } from '../../src/diff/grid';
import { matchClasses, targetToHead } from '../../src/diff/classes';
import { checkThresholds, judgeComparison, judgeImages, parsePeakShift, worstFirst } from '../../src/diff/verdict';
import { placement, toSource } from '../../src/image/geometry';
import type { DiffImage } from '../../src/diff/report';

const f32 = (xs: number[]) => Float32Array.from(xs);

/** Pearson by the one-pass textbook formula (n sum xy - sum x sum y) / sqrt(...), a second implementation. */
function pearsonTextbook(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  let sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sx += a[i];
    sy += b[i];
    sxy += a[i] * b[i];
    sxx += a[i] * a[i];
    syy += b[i] * b[i];
  }
  return (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
}

describe('pearson', () => {
  test('by hand', () => {
    // x = 1, 2, 3; y = 1, 2, 4: means 2 and 7/3; sum dx dy = 3, sum dx^2 = 2, sum dy^2 = 14/3: r = 3 / sqrt(28/3).
    expect(pearson(f32([1, 2, 3]), f32([1, 2, 4]))).toBeCloseTo(3 / Math.sqrt(28 / 3), 12);
    expect(pearson(f32([0, 1, 0, 1]), f32([1, 0, 1, 0]))).toBeCloseTo(-1, 12);
    expect(pearson(f32([0, 0.5, 1]), f32([10, 20, 30]))).toBeCloseTo(1, 12);
  });

  test('equal maps give exactly 1; flat maps: 1 against flat, 0 against contrast', () => {
    const m = Float32Array.from({ length: 1000 }, (_, i) => Math.abs(Math.sin(i * 0.37)));
    expect(pearson(m, Float32Array.from(m))).toBe(1);
    expect(pearson(new Float32Array(9), new Float32Array(9).fill(0.3))).toBe(1);
    expect(pearson(new Float32Array(9), f32([0, 1, 0, 0, 0, 0, 0, 0, 0]))).toBe(0);
    expect(() => pearson(f32([1, 2]), f32([1, 2, 3]))).toThrow(/different sizes/);
  });

  test('agrees with the textbook formula on random maps', () => {
    let s = 11;
    const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
    for (let t = 0; t < 50; t++) {
      const n = 10 + Math.floor(rnd() * 5000);
      const a = Float32Array.from({ length: n }, () => rnd());
      const b = Float32Array.from(a, (v) => 0.6 * v + 0.4 * rnd());
      expect(pearson(a, b)).toBeCloseTo(pearsonTextbook(a, b), 9);
    }
  });
});

describe('top regions and their IoU', () => {
  test('the 20% highest pixels, ties to the lower index', () => {
    // 10 values: round(10 * 0.2) = 2 highest.
    expect(Array.from(topRegion(f32([0, 9, 1, 8, 2, 3, 4, 5, 6, 7])))).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    // All equal: the first two.
    expect(Array.from(topRegion(new Float32Array(10).fill(0.5)))).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    // A tie at the threshold: 9 is in, one of the two 5s (the first).
    expect(Array.from(topRegion(f32([5, 0, 9, 5, 1, 1, 1, 1, 1, 1])))).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    // Always at least one pixel.
    expect(Array.from(topRegion(f32([1, 3, 2])))).toEqual([0, 1, 0]);
  });

  test('IoU by hand', () => {
    expect(maskIou(Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([0, 1, 1, 0]))).toBeCloseTo(1 / 3, 12);
    expect(maskIou(new Uint8Array(4), new Uint8Array(4))).toBe(1);
    // Two 10-pixel maps whose top-2 regions share one pixel: IoU 1/3.
    expect(topRegionIou(f32([9, 8, 0, 0, 0, 0, 0, 0, 0, 0]), f32([9, 0, 8, 0, 0, 0, 0, 0, 0, 0]))).toBeCloseTo(1 / 3, 12);
  });

  test('peak shift and difference', () => {
    const s = peakShift({ x: 10, y: 10 }, { x: 13, y: 14 }, 30, 40);
    expect(s.px).toBe(5);
    expect(s.share).toBeCloseTo(5 / 50, 12);
    expect(Array.from(mapDifference(f32([0, 1, 0.5]), f32([1, 0, 0.5])))).toEqual([1, -1, 0]);
  });
});

describe('the grid', () => {
  test("an image's own size, or scaled to 512 on its longest side", () => {
    expect(gridFor(300, 200)).toEqual({ width: 300, height: 200, fx: 1, fy: 1 });
    const g = gridFor(2048, 1000);
    expect([g.width, g.height]).toEqual([512, 250]);
  });

  test('maps of two models with other input sizes and resize modes meet on the image', () => {
    // One image-space function (a bump at (70, 22) on a 120 x 60 image), sampled at each model's input pixels
    // through that model's placement, then put back on the image: both must give the bump back where it was.
    const W = 120;
    const H = 60;
    const bump = (x: number, y: number) => Math.exp(-((x - 70) ** 2 + (y - 22) ** 2) / (2 * 8 ** 2));
    const sides = [placement(W, H, 32, 32, 'stretch'), placement(W, H, 48, 40, 'pad'), placement(W, H, 40, 40, 'crop')];
    const grid = gridFor(W, H);
    const truth = Float32Array.from({ length: W * H }, (_, i) => bump((i % W) + 0.5, Math.floor(i / W) + 0.5));
    const onImage = sides.map((p) => {
      const atInput = Float32Array.from({ length: p.dstWidth * p.dstHeight }, (_, i) => {
        const s = toSource(p, (i % p.dstWidth) + 0.5, Math.floor(i / p.dstWidth) + 0.5);
        return bump(s.x, s.y);
      });
      return mapOnGrid(atInput, p.dstWidth, p.dstHeight, p, grid);
    });
    // The crop model sees only the middle 60 x 60: compare where every model sees the image.
    const inCrop = (i: number) => Math.abs((i % W) + 0.5 - 60) < 29;
    const pick = (m: Float32Array) => Float32Array.from(Array.from(m).filter((_, i) => inCrop(i)));
    for (const m of onImage) expect(pearson(pick(m), pick(truth))).toBeGreaterThan(0.99);
    expect(pearson(pick(onImage[0]), pick(onImage[1]))).toBeGreaterThan(0.99);
    // Peaks within a couple of image pixels of (70, 22).
    for (const m of onImage) {
      let best = 0;
      for (let i = 1; i < m.length; i++) if (m[i] > m[best]) best = i;
      expect(Math.hypot((best % W) + 0.5 - 70, Math.floor(best / W) + 0.5 - 22)).toBeLessThan(3);
    }
  });
});

describe('class matching', () => {
  const digits = Array.from({ length: 10 }, (_, i) => String(i));
  test('by index without labels; different counts without labels: one line naming both counts', () => {
    const m = matchClasses({ name: 'the base model (a)', labels: digits, labelled: false }, { name: 'the head model (b)', labels: digits, labelled: true });
    expect(m.kind).toBe('index');
    expect(m.toHead(7)).toBe(7);
    expect(() => matchClasses({ name: 'the base model (a)', labels: digits, labelled: true }, { name: 'the head model (b)', labels: [...digits, '10', '11'], labelled: false })).toThrow(
      "the base model (a) has 10 classes and the head model (b) has 12: classes can only be matched by label, and the head model (b) has none (give labels in its tfjs-cam.json)",
    );
  });

  test('by label: reordered, extended, missing', () => {
    const m = matchClasses({ name: 'base', labels: ['cat', 'dog', 'fox'], labelled: true }, { name: 'head', labels: ['Dog', 'cat', 'owl', 'emu'], labelled: true });
    expect([m.toHead(0), m.toHead(1), m.toHead(2)]).toEqual([1, 0, null]);
    expect(m.notes[0]).toBe("base has 3 classes and head 4: classes matched by label; only in the base: 'fox'; only in the head: 'owl', 'emu'");
    expect(targetToHead({ kind: 'logit-diff', classes: [0, 1] }, m)).toEqual({ kind: 'logit-diff', classes: [1, 0] });
    expect(targetToHead({ kind: 'class', index: 2 }, m)).toBeNull();
    const swapped = matchClasses({ name: 'base', labels: ['red', 'blue'], labelled: true }, { name: 'head', labels: ['blue', 'red'], labelled: true });
    expect(swapped.notes).toEqual(['head orders its classes differently: classes matched by label']);
    expect(() => matchClasses({ name: 'base', labels: ['a'], labelled: true }, { name: 'head', labels: ['b', 'c'], labelled: true })).toThrow(/share no class label/);
  });
});

describe('verdict', () => {
  const comparison = (over: Partial<Parameters<typeof judgeComparison>[0]> = {}) => ({
    method: 'gradcam',
    class: { index: 7, label: '7' },
    base: { probability: 0.9, peak: { x: 1, y: 1 }, topMassShare: 0.5, flat: false },
    head: { probability: 0.7, peak: { x: 4, y: 5 }, topMassShare: 0.5, flat: false },
    correlation: 0.6,
    iou: 0.4,
    peakShift: { px: 5, share: 0.1 },
    probabilityChange: -0.2,
    ...over,
  });

  test('each threshold, in words', () => {
    expect(judgeComparison(comparison(), {}).length).toBe(0);
    const f = judgeComparison(comparison(), { minCorrelation: 0.8, maxPeakShift: 0.05, maxPeakShiftPx: 4, maxProbabilityDrop: 0.1 });
    expect(f.map((x) => x.message)).toEqual([
      "correlation 0.6 < 0.8 (gradcam map of '7')",
      "peak moved 5 px (10.0% of the diagonal) > 5.0% (gradcam map of '7')",
      "peak moved 5 px (10.0% of the diagonal) > 4 px (gradcam map of '7')",
      "probability of '7' fell 0.2 (0.9 -> 0.7) > 0.1",
    ]);
    const flat = judgeComparison(comparison({ head: { probability: 0.7, peak: null, topMassShare: 0, flat: true }, peakShift: null, correlation: 0 }), { maxPeakShift: 0.5 });
    expect(flat.map((x) => x.check)).toEqual(['map']);
  });

  test('--max-flips fails every flipped image once the run has more flips than allowed; worst first', () => {
    const img = (file: string, flipped: boolean, correlation: number): DiffImage => ({
      file,
      status: 'pass',
      flipped,
      base: { top: [{ index: 1, label: 'a', probability: 0.9 }] },
      head: { top: [{ index: flipped ? 2 : 1, label: flipped ? 'b' : 'a', probability: 0.8 }] },
      comparisons: [{ ...comparison({ correlation }), status: 'pass', failures: [] }],
    });
    const images = [img('x', true, 0.9), img('y', false, 0.5), img('z', true, 0.95), { file: 'w', status: 'error' as const, error: 'bad' }];
    const s = judgeImages(images, { maxFlips: 1 }, () => "'a' -> 'b'");
    expect(s).toMatchObject({ images: 4, compared: 3, passed: 1, failed: 2, errors: 1, flips: 2, minCorrelation: 0.5 });
    expect(s.meanCorrelation).toBeCloseTo((0.9 + 0.5 + 0.95) / 3, 4);
    expect(images[0].failures![0].message).toBe("top-1 flipped: 'a' -> 'b' (2 images flipped, at most 1 allowed)");
    expect(worstFirst(images).map((i) => i.file)).toEqual(['w', 'x', 'z', 'y']);
    expect(judgeImages(images, { maxFlips: 2 }, () => '').failed).toBe(0);
  });

  test('thresholds out of range: one line each', () => {
    const name = (k: string) => `--${k}`;
    expect(() => checkThresholds({ minCorrelation: 1.5 }, name)).toThrow("--minCorrelation must be a number from -1 to 1 (got '1.5')");
    expect(() => checkThresholds({ maxFlips: 0.5 }, name)).toThrow('a whole number >= 0');
    expect(() => checkThresholds({ maxProbabilityDrop: -0.1 }, name)).toThrow('from 0 to 1');
    expect(parsePeakShift('0.1')).toEqual({ maxPeakShift: 0.1 });
    expect(parsePeakShift(' 12px')).toEqual({ maxPeakShiftPx: 12 });
    expect(() => parsePeakShift('1.5')).toThrow("--max-peak-shift must be a share of the image's diagonal from 0 to 1, or pixels as '12px' (got '1.5')");
    expect(() => parsePeakShift('px')).toThrow(/got 'px'/);
  });
});
