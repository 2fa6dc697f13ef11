// mergeReports: shard reports -> a single run's report, and the refusals that keep a merge honest.
import { mergeReports, ShardRun } from '../../src/report/merge';
import { ExplainReport, ReportImage, REPORT_SCHEMA } from '../../src/report/schema';

const FILES = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'];

function image(file: string, ok = true): ReportImage {
  return ok
    ? { file, status: 'ok', width: 8, height: 8, top: [{ index: 1, label: 'one', logit: 2, probability: 0.9 }], maps: [{ class: { index: 1, label: 'one' }, method: 'gradcam', layers: ['conv'], files: { overlay: file.replace('.png', '.gradcam.1-one.png') }, peak: { x: 1, y: 2 }, topMassShare: 0.5, flat: false }], timings: { decodeMs: 1, forwardMs: 1, backwardMs: 1, methodMs: 1, renderMs: 1, totalMs: 5 } }
    : { file, status: 'error', error: 'truncated or corrupt image data' };
}

/** The report shard `index` of `count` writes, holding the entries at `positions` of FILES (e.png failed). */
function shard(index: number, count: number, positions: number[], change: (r: ExplainReport) => void = () => undefined): ShardRun {
  const images = positions.map((p) => image(FILES[p] ?? 'stranger.png', FILES[p] !== 'e.png'));
  const ok = images.filter((i) => i.status === 'ok').length;
  const r: ExplainReport = {
    schema: REPORT_SCHEMA,
    tool: { name: 'tfjs-cam', version: '0.1.0' },
    model: { source: 'models/m', sha256: 'abc', format: 'layers-model', inputSize: [8, 8, 3], classes: 2, softmaxSteppedOver: true, head: 'softmax' },
    labelsSource: 'indices',
    backend: 'wasm',
    method: 'gradcam',
    methods: ['gradcam'],
    layers: ['conv'],
    score: 'logit',
    preprocessing: { scale: [0, 1], mean: [0], std: [1], bgr: false, resize: 'stretch', grayscale: false, interpolation: 'bilinear', alignCorners: false },
    output: { dir: `/out/shard-${index}`, colormap: 'jet', alpha: 0.5, format: 'png', maxSize: null, render: 'auto', heatmap: false, saveRaw: false, saveInput: false, sheet: false },
    explained: { topK: 3 },
    images,
    summary: { images: images.length, succeeded: ok, failed: images.length - ok },
    shard: { index, count, inputs: FILES.length, listSha256: 'list', positions },
    timings: { loadMs: 100 + index, totalMs: 1000 + 10 * index, perImageMs: 1 },
  };
  change(r);
  return { dir: `out/shard-${index}`, report: r };
}

const three = () => [shard(0, 3, [1, 4]), shard(1, 3, [0, 3]), shard(2, 3, [2])];

test('images in the whole list order, summary over all, shard record gone, output dir the merged one', () => {
  // given in any order
  const [s0, s1, s2] = three();
  const m = mergeReports([s2, s0, s1], '/out/all');
  expect(m.images.map((i) => i.file)).toEqual(FILES);
  expect(m.summary).toEqual({ images: 5, succeeded: 4, failed: 1 });
  expect(m.shard).toBeUndefined();
  expect(m.output.dir).toBe('/out/all');
  // the report's keys in a single run's order: timings last
  expect(Object.keys(m)).toEqual(Object.keys(s0.report).filter((k) => k !== 'shard'));
  // timings: the slowest shard's load and wall time; machine time after loading per image
  expect(m.timings).toEqual({ loadMs: 102, totalMs: 1020, perImageMs: Math.round(((900 + 909 + 918) / 5) * 10) / 10 });
  expect(m.images[0].timings).toBeDefined();
});

test('without timings in every shard, the merged report has none', () => {
  const [s0, s1, s2] = three();
  delete s1.report.timings;
  const m = mergeReports([s0, s1, s2], null);
  expect(m.timings).toBeUndefined();
  expect(m.images.some((i) => i.timings)).toBe(false);
});

test('refusals name the folder: missing, twice, duplicate shard, other model, other list, other N, overlap', () => {
  const [s0, s1, s2] = three();
  expect(() => mergeReports([s0, s2], '/o')).toThrow('shard 1/3 missing: out/shard-0, out/shard-2 hold shards 0, 2 of 3');
  expect(() => mergeReports([s0], '/o')).toThrow('shards 1/3, 2/3 missing: out/shard-0 holds shard 0 of 3');
  expect(() => mergeReports([s0, s1, s1, s2], '/o')).toThrow('out/shard-1: given twice');
  expect(() => mergeReports([s0, s1, { ...s1, dir: 'copy' }, s2], '/o')).toThrow('copy: shard 1/3 again (also in out/shard-1)');
  const other = shard(2, 3, [2], (r) => (r.model.sha256 = 'def'));
  expect(() => mergeReports([s0, s1, other], '/o')).toThrow('out/shard-2: not a shard of the same run as out/shard-0 (model.sha256 "def" there, "abc" in out/shard-0)');
  const otherList = shard(2, 3, [2], (r) => (r.shard!.listSha256 = 'other'));
  expect(() => mergeReports([s0, s1, otherList], '/o')).toThrow('out/shard-2: not a shard of the same run as out/shard-0 (shards.listSha256 "other" there, "list" in out/shard-0)');
  const four = shard(2, 4, [2]);
  expect(() => mergeReports([s0, s1, four], '/o')).toThrow(/^out\/shard-2: not a shard of the same run as out\/shard-0 \(shards.count 4 there, 3 in out\/shard-0\)$/);
  const backend = shard(2, 3, [2], (r) => (r.backend = 'tensorflow'));
  expect(() => mergeReports([s0, s1, backend], '/o')).toThrow('backend "tensorflow" there, "wasm" in out/shard-0');
  const overlap = shard(2, 3, [2, 3]);
  expect(() => mergeReports([s0, s1, overlap], '/o')).toThrow('out/shard-2/report.json: d.png is also reported by another shard');
  const short = shard(2, 3, []);
  expect(() => mergeReports([s0, s1, short], '/o')).toThrow('out/shard-0: the shards report 4 of the run\'s 5 inputs (entry 2 is missing)');
  const stranger = shard(2, 3, [2, -1]);
  expect(() => mergeReports([s0, s1, stranger], '/o')).toThrow('is not in the input list of this run');
});

test('shards asked for other classes or other files are refused, naming the setting and both shards', () => {
  const [s0, s1] = three();
  const refusal = (change: (r: ExplainReport) => void) => {
    const other = shard(2, 3, [2], change);
    try {
      mergeReports([s0, s1, other], '/o');
    } catch (e) {
      return (e as Error).message;
    }
    return 'merged';
  };
  const why = (what: string) => `out/shard-2: not a shard of the same run as out/shard-0 (${what})`;
  expect(refusal((r) => (r.explained = { topK: 5 }))).toBe(why('explained.topK 5 there, 3 in out/shard-0'));
  expect(refusal((r) => (r.explained = { targets: ['class:1'] }))).toBe(why('explained.targets ["class:1"] there, unset in out/shard-0; explained.topK unset there, 3 in out/shard-0'));
  expect(refusal((r) => (r.output.heatmap = true))).toBe(why('output.heatmap true there, false in out/shard-0'));
  expect(refusal((r) => (r.output.saveRaw = true))).toBe(why('output.saveRaw true there, false in out/shard-0'));
  expect(refusal((r) => (r.output.saveInput = true))).toBe(why('output.saveInput true there, false in out/shard-0'));
  // --render heatmap draws Grad-CAM as --render auto does: the reports, and so the runs, still differ
  expect(refusal((r) => (r.output.render = 'heatmap'))).toBe(why('output.render "heatmap" there, "auto" in out/shard-0'));
  expect(refusal((r) => (r.output.sheet = true))).toBe(why('output.sheet true there, false in out/shard-0'));
  // an output setting recorded later is compared too: `output` is compared whole, but for its folder
  expect(refusal((r) => ((r.output as Record<string, unknown>).legend = 'right'))).toBe(why('output.legend "right" there, unset in out/shard-0'));
  // the same targets as the first shard: merged
  expect(refusal(() => undefined)).toBe('merged');
});
