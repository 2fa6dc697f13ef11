// The model resolution's rules on their own (src/model/resolve.ts), over an in-memory file reader: which files are
// read, in which order, and no further than needed (what `serve` must serve and the browser fetches), which are
// passed over, and how labels, preprocessing and resampling combine. The same rules run on disk (the CLI) and over
// HTTP (the bundle, the explorer): test/pipeline/model-metadata.test.ts and test/browser/zoo-explorer.browser.test.ts.
import { bgrNote, checkInput, FoundLabels, LABEL_FILES, ModelFileReader, readModelFolder, readSidecar, resolveLabels, resolveResampling } from '../../src/model/resolve';
import { appliedChannels, resolvePreprocessing } from '../../src/model/sidecar';
import { ModelError, UsageError } from '../../src/util/errors';

/** Files by name; a value that is an Error is thrown when read (a size limit, an HTTP 500). Records every read. */
function reader(files: Record<string, string | Error>, outside: string[] = []): ModelFileReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    locate: (name) => (outside.includes(name) ? null : `/m/${name}`),
    async read(name) {
      reads.push(name);
      const f = files[name];
      if (f instanceof Error) throw f;
      return f ?? null;
    },
  };
}

const TM = JSON.stringify({ tmVersion: '2.4.7', packageName: '@teachablemachine/image', labels: ['cat', 'dog'] });

test("Teachable Machine's metadata.json: labels and preprocessing, and no labels file is read", async () => {
  const files = reader({ 'metadata.json': TM, 'labels.txt': 'x\ny\n' });
  const folder = await readModelFolder(files, null);
  expect(files.reads).toEqual(['metadata.json']);
  expect(folder.used).toEqual(['metadata.json']);
  expect(folder.modelLabels).toEqual({ labels: ['cat', 'dog'], source: 'Teachable Machine metadata.json', where: '/m/metadata.json' });
  expect(folder.modelPreprocess).toEqual({ values: { scale: [-1, 1], resize: 'crop' }, what: 'Teachable Machine metadata.json' });
});

test('labels files: tried in order, one that does not parse or is too large passed over, the first that parses used, no further', async () => {
  const files = reader({ 'metadata.json': '{"author": "not TM"}', 'labels.json': new UsageError('too large'), 'labels.txt': 'a\nb\n', 'classes.txt': 'c\n' });
  const folder = await readModelFolder(files, null);
  expect(files.reads).toEqual(['metadata.json', 'labels.json', 'labels.txt']);
  expect(folder.used).toEqual(['labels.txt']);
  expect(folder.modelLabels).toEqual({ labels: ['a', 'b'], source: 'labels.txt', where: '/m/labels.txt' });
  expect(folder.modelPreprocess).toBeNull();
  const broken = reader({ 'labels.json': '{"labels": 3}', 'labels.txt': 'a\nb\n' });
  expect((await readModelFolder(broken, null)).modelLabels?.source).toBe('labels.txt');
});

test('labels where authors put them: label(s)/class_names/classes as .json or .txt, JSON lists under labels, classes or classNames, or by class index', async () => {
  expect(LABEL_FILES).toEqual(['labels.json', 'labels.txt', 'label.json', 'label.txt', 'class_names.json', 'class_names.txt', 'classes.json', 'classes.txt']);
  const found = async (files: Record<string, string>) => {
    const r = reader(files);
    const folder = await readModelFolder(r, null);
    return { labels: folder.modelLabels?.labels, source: folder.modelLabels?.source, reads: r.reads };
  };
  expect(await found({ 'label.txt': 'cat\ndog\n' })).toEqual({ labels: ['cat', 'dog'], source: 'label.txt', reads: ['metadata.json', 'labels.json', 'labels.txt', 'label.json', 'label.txt'] });
  expect((await found({ 'classes.json': '{"classes": ["a", "b", "c"]}' })).labels).toEqual(['a', 'b', 'c']);
  expect((await found({ 'class_names.json': '{"classNames": ["x", "y"]}' })).labels).toEqual(['x', 'y']);
  expect((await found({ 'label.json': '["p", "q"]' })).labels).toEqual(['p', 'q']);
  // Keras' class_index form: every index from 0, each an id and a name (the name is taken).
  expect((await found({ 'labels.json': '{"0": ["n01440764", "tench"], "1": ["n01443537", "goldfish"]}' })).labels).toEqual(['tench', 'goldfish']);
  // An object keyed by numbers with a gap is not a list of classes: passed over for the next file.
  expect(await found({ 'labels.json': '{"0": "a", "2": "c"}', 'classes.txt': 'u\nv\n' })).toMatchObject({ labels: ['u', 'v'], source: 'classes.txt' });
});

test("model.json's userDefinedMetadata: a labels list there comes after metadata.json and the sidecar, before any labels file", async () => {
  const files = reader({ 'labels.txt': 'x\ny\n' });
  const folder = await readModelFolder(files, null, { metadata: { signature: {}, classNames: ['cat', 'dog'] } });
  expect(folder.modelLabels).toEqual({ labels: ['cat', 'dog'], source: 'model.json userDefinedMetadata', where: '/m/model.json' });
  expect(files.reads).toEqual(['metadata.json']);
  expect(folder.used).toEqual([]);
  // No list there (human-models' signature only): the files are tried.
  expect((await readModelFolder(reader({ 'labels.txt': 'x\ny\n' }), null, { metadata: { signature: { inputs: {} } } })).modelLabels?.source).toBe('labels.txt');
  // Teachable Machine's metadata.json still comes first.
  expect((await readModelFolder(reader({ 'metadata.json': TM }), null, { metadata: { labels: ['p', 'q'] } })).modelLabels?.source).toBe('Teachable Machine metadata.json');
});

test('a server failing on a guessed file is an error, not a silent fallback to class numbers', async () => {
  await expect(readModelFolder(reader({ 'labels.json': new ModelError('http://h/m/labels.json: answered HTTP 500') }), null)).rejects.toThrow('answered HTTP 500');
});

test("the sidecar's labels: its list, or the file it names (read unless the caller gives labels); outside a URL folder refused", async () => {
  const sidecar = await readSidecar(reader({ 'tfjs-cam.json': JSON.stringify({ labels: 'meta/names.txt' }) }));
  const files = reader({ 'meta/names.txt': 'p\nq\n' });
  const folder = await readModelFolder(files, sidecar);
  expect(files.reads).toEqual(['meta/names.txt', 'metadata.json']);
  expect(folder.used).toEqual(['tfjs-cam.json', 'meta/names.txt']);
  expect(folder.sidecarLabels).toEqual({ labels: ['p', 'q'], source: '/m/meta/names.txt', where: '/m/meta/names.txt' });
  const given = reader({ 'meta/names.txt': 'p\nq\n', 'labels.txt': 'z\n' });
  expect((await readModelFolder(given, sidecar, { labelsGiven: true })).sidecarLabels).toBeNull();
  expect(given.reads).toEqual(['metadata.json']);
  await expect(readModelFolder(reader({}), sidecar)).rejects.toThrow('/m/meta/names.txt: labels file not found');
  await expect(readModelFolder(reader({}, ['meta/names.txt']), sidecar)).rejects.toThrow("/m/tfjs-cam.json: field 'labels' names 'meta/names.txt', outside the model's URL folder (refused)");
  await expect(readSidecar(reader({ 'tfjs-cam.json': '{"labels": ' }))).rejects.toThrow(/^\/m\/tfjs-cam\.json: not valid JSON/);
});

test("labels: the caller's, else the sidecar's (both must fit), else the model's own when they fit, else indices; one label for a binary head", () => {
  const l = (labels: string[], source: string): FoundLabels => ({ labels, source, where: `/w/${source}` });
  expect(resolveLabels({ given: l(['a', 'b'], 'flag'), sidecar: l(['c', 'd'], 'side'), model: null }, 2, false)).toEqual({ labels: ['a', 'b'], source: 'flag' });
  expect(resolveLabels({ sidecar: l(['c', 'd'], 'side'), model: l(['e', 'f'], 'tm') }, 2, false)).toEqual({ labels: ['c', 'd'], source: 'side' });
  // A guessed file that does not fit is not used, and named.
  expect(resolveLabels({ sidecar: null, model: l(['e', 'f', 'g'], 'labels.txt') }, 2, false)).toEqual({
    labels: ['0', '1'],
    source: 'indices',
    note: "/w/labels.txt: the labels file has 3 labels but the model has 2 classes: not used, classes are shown by index (give --labels or the sidecar's 'labels')",
  });
  expect(resolveLabels({ sidecar: null, model: l(['e', 'f', 'g'], 'Teachable Machine metadata.json') }, 2, true).note).toBe(
    "/w/Teachable Machine metadata.json: Teachable Machine metadata.json has 3 labels but the model has 2 classes (one sigmoid unit: 1 label, the positive class, or 2): not used, classes are shown by index (give --labels or the sidecar's 'labels')",
  );
  expect(resolveLabels({ sidecar: null, model: null }, 2, false)).toEqual({ labels: ['0', '1'], source: 'indices' });
  expect(resolveLabels({ sidecar: null, model: l(['spoof'], 'labels.txt') }, 2, true)).toEqual({ labels: ['not spoof', 'spoof'], source: 'labels.txt' });
  expect(() => resolveLabels({ sidecar: l(['a', 'b', 'c'], 'side'), model: null }, 2, true)).toThrow('/w/side: the labels list has 3 entries but the model has 2 classes (one sigmoid unit: give 1 label, the positive class, or 2)');
});

test('preprocessing per setting: flags > sidecar > model metadata > default; resampling: caller > sidecar > bilinear', () => {
  const sidecar = { preprocess: { resize: 'pad' as const, interpolation: 'area' as const } };
  const p = resolvePreprocessing(sidecar, { mean: [0.5] }, { values: { scale: [-1, 1], resize: 'crop' }, what: 'Teachable Machine metadata.json' });
  expect([p.mean, p.resize, p.scale, p.std]).toEqual([[0.5], 'pad', [-1, 1], [1]]);
  expect(p.sources).toEqual({ mean: 'flags', resize: 'tfjs-cam.json', scale: 'Teachable Machine metadata.json', std: 'default', bgr: 'default', gray: 'default' });
  // Several model-level sources in order: Teachable Machine's runtime, then the model's own first layers.
  const both = resolvePreprocessing(null, {}, [{ values: { resize: 'crop' }, what: 'Teachable Machine metadata.json' }, { values: { scale: [0, 255] }, what: 'model' }]);
  expect([both.scale, both.sources.scale, both.resize, both.sources.resize]).toEqual([[0, 255], 'model', 'crop', 'Teachable Machine metadata.json']);
  expect(resolveResampling(sidecar)).toEqual({ interpolation: 'area', alignCorners: false });
  expect(resolveResampling(sidecar, { interpolation: 'nearest', alignCorners: true })).toEqual({ interpolation: 'nearest', alignCorners: true });
  expect(resolveResampling(null)).toEqual({ interpolation: 'bilinear', alignCorners: false });
});

test('the input check names the flag or the sidecar field', () => {
  const pre = (mean: number[], from: string) => Object.assign(resolvePreprocessing(null, {}), { mean, sources: { scale: 'default', mean: from, std: 'default', bgr: 'default', resize: 'default', gray: 'default' } });
  expect(() => checkInput(3, pre([1, 2], 'flags'), null, '/m/tfjs-cam.json')).toThrow('--mean has 2 values but the model takes 3-channel images: give 1 value (for every channel) or 3 (one per channel)');
  expect(() => checkInput(1, pre([1, 2], 'tfjs-cam.json'), null, '/m/tfjs-cam.json')).toThrow("/m/tfjs-cam.json: field 'preprocess.mean' has 2 values but the model takes 1-channel images: give 1 value");
  expect(() => checkInput(3, pre([0], 'default'), { preprocess: { grayscale: true } }, '/m/tfjs-cam.json')).toThrow("/m/tfjs-cam.json: field 'preprocess.grayscale' is true but the model takes 3-channel images (RGB)");
  expect(() => checkInput(4, pre([0], 'default'), null, '/m/tfjs-cam.json')).toThrow('the model takes 4-channel images; only 1 (grayscale) and 3 (RGB) are supported');
  expect(() => checkInput(3, pre([1, 2, 3], 'flags'), null, '/m/tfjs-cam.json')).not.toThrow();
});

test('--gray: reported with its source; refused for an RGB model, whether from the flags or the sidecar', () => {
  expect(resolvePreprocessing(null, {}).gray).toBe('luma');
  const side = resolvePreprocessing({ preprocess: { gray: 'mean' } }, {});
  expect([side.gray, side.sources.gray]).toEqual(['mean', 'tfjs-cam.json']);
  const flag = resolvePreprocessing({ preprocess: { gray: 'mean' } }, { gray: 'g' });
  expect([flag.gray, flag.sources.gray]).toEqual(['g', 'flags']);
  expect(() => checkInput(1, flag, null, '/m/tfjs-cam.json')).not.toThrow();
  expect(() => checkInput(3, flag, null, '/m/tfjs-cam.json')).toThrow('--gray applies to 1-channel models; this model takes RGB images');
  expect(() => checkInput(3, side, null, '/m/tfjs-cam.json')).toThrow("/m/tfjs-cam.json: field 'preprocess.gray' applies to 1-channel models; this model takes RGB images");
});

test("--bgr: mean and std apply in the model's (BGR) order, shown per channel and said in a note", () => {
  const p = resolvePreprocessing(null, { bgr: true, mean: [103.939, 116.779, 123.68], std: [1] });
  expect(appliedChannels(p, 3)).toEqual([
    { channel: 'B', mean: 103.939, std: 1 },
    { channel: 'G', mean: 116.779, std: 1 },
    { channel: 'R', mean: 123.68, std: 1 },
  ]);
  expect(appliedChannels({ ...p, bgr: false }, 3).map((c) => c.channel)).toEqual(['R', 'G', 'B']);
  expect(appliedChannels(p, 1)).toEqual([{ channel: 'grey', mean: 103.939, std: 1 }]);
  expect(bgrNote(p, 3)).toEqual([
    "bgr: mean and std apply in the model's channel order (B, G, R): B mean 103.939 std 1, G mean 116.779 std 1, R mean 123.68 std 1; if your app subtracts an RGB-order mean before swapping channels, give the values reversed",
  ]);
  // One value for every channel: the order does not matter, nothing to say.
  expect(bgrNote(resolvePreprocessing(null, { bgr: true, mean: [127.5] }), 3)).toEqual([]);
  expect(bgrNote(resolvePreprocessing(null, { mean: [1, 2, 3] }), 3)).toEqual([]);
});
