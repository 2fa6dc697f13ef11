// Broken and unsuitable models: one line naming the file and what is wrong, exit 2, no stack trace, nothing written.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { loadModel } from '../../src';
import { ModelError, UserError } from '../../src/util/errors';
import { decodeNpy } from '../../src/report/npy';
import { tempDir } from '../helpers/cli';
import { denseOnly, listFiles, noSpatial, saveModel, smallCnn, snapshot, spotPng, variant, weightRange, writeGraphModel } from './fixtures';
import { expectRunError, runCli } from './cli';

let dir: string;
let good: string;
let img: string;
let before: Record<string, string>;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('faults-models');
  const m = smallCnn(16, 4);
  good = await saveModel(m, path.join(dir, 'good'));
  m.dispose();
  img = path.join(dir, 'in', 'a.png');
  fs.mkdirSync(path.dirname(img));
  fs.writeFileSync(img, await spotPng(40, 30));
  before = snapshot(path.join(dir, 'in'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let outN = 0;
/** Runs explain on the one image with `model`. */
function explainWith(model: string, extra: string[] = []) {
  const out = path.join(dir, `out${++outN}`);
  const r = runCli(['explain', img, '-m', model, '-o', out, '-k', '1', ...extra]);
  return { r, out };
}

function expectModelError(model: string, re: RegExp, extra: string[] = []): void {
  const { r, out } = explainWith(model, extra);
  expectRunError(r, 2, re);
  // Errors found while loading stop before the output folder is made; those found at the first image leave it empty.
  expect(listFiles(out)).toEqual([]);
  expect(snapshot(path.join(dir, 'in'))).toEqual(before);
}

test('the good model works (the baseline the broken ones are made from)', () => {
  const { r } = explainWith(good);
  expect(r.code).toBe(0);
});

test('missing model folder, folder without model.json', () => {
  expectModelError(path.join(dir, 'nowhere'), /nowhere: model not found$/);
  fs.mkdirSync(path.join(dir, 'empty-model'));
  expectModelError(path.join(dir, 'empty-model'), /empty-model: no model\.json in this folder$/);
});

test('model.json with a JSON syntax error', () => {
  const m = path.join(dir, 'syntax');
  fs.mkdirSync(m);
  fs.writeFileSync(path.join(m, 'model.json'), '{"format": "layers-model", "modelTopology": {');
  expectModelError(m, /syntax\/model\.json: not valid JSON \(.+\)$/);
});

test('missing or short weight shard', () => {
  const missing = variant(good, path.join(dir, 'no-shard'), () => ({ weights: null }));
  expectModelError(missing, /no-shard\/model\.json: weight shard 'weights\.bin' is missing$/);
  const short = variant(good, path.join(dir, 'short-shard'), (_, w) => ({ weights: w.subarray(0, w.length - 10) }));
  expectModelError(short, /short-shard\/model\.json: weight shard\(s\) weights\.bin hold \d+ bytes, the manifest needs \d+ \(short or truncated file\)$/);
});

test('a weight of the wrong shape (same byte count, so only the shape is wrong)', () => {
  const m = variant(good, path.join(dir, 'bad-shape'), (json) => {
    const k = json.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'conv_b/kernel');
    k.shape = [3, 3, 5, 6]; // really [3, 3, 6, 5]
  });
  expectModelError(m, /bad-shape\/model\.json: weight 'conv_b\/kernel' has shape \[3,3,5,6\] in the weights manifest, but its layer needs \[3,3,6,5\]$/);
});

test('a weightsManifest path that leaves the model folder is refused, even when the file exists', () => {
  fs.copyFileSync(path.join(good, 'weights.bin'), path.join(dir, 'outside.bin'));
  for (const [name, p] of [
    ['escape-rel', '../outside.bin'],
    ['escape-abs', path.join(dir, 'outside.bin')],
  ]) {
    const m = variant(good, path.join(dir, name), (json) => {
      json.weightsManifest[0].paths = [p];
    });
    expectModelError(m, new RegExp(`${name}/model\\.json: weight path '${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' leaves the model folder \\(refused\\)$`));
  }
});

test('not an image model (rank-2 input)', async () => {
  const m = await saveModel(denseOnly(), path.join(dir, 'tabular'));
  expectModelError(m, /tabular\/model\.json: .*not an image model: input shape is \[null, 10\], expected \[batch, height, width, channels\]$/);
});

test('an image model with no spatial layer (input flattened straight into Dense)', async () => {
  const m = await saveModel(noSpatial(8), path.join(dir, 'flat'));
  expectModelError(m, /no layer with a spatial \(height x width x channels\) output on the way to its logits/);
});

test('an unknown layer name suggests the closest names', () => {
  expectModelError(good, /no layer named 'conv_c' in the model \(did you mean 'conv_a', 'conv_b'\?\)$/, ['--layer', 'conv_c']);
  expectModelError(good, /no layer named 'zzzzzzzzzzzz' in the model$/, ['--layer', 'zzzzzzzzzzzz']);
});

test('an op with no gradient in TensorFlow.js: named, with a gradient-free method suggested (which then works)', () => {
  const ok = writeGraphModel(path.join(dir, 'graph-ok'), 'Identity');
  expect(explainWith(ok, ['--layer', 'target']).r.code).toBe(0);
  const g = writeGraphModel(path.join(dir, 'graph-nograd'), 'DepthToSpace');
  expectModelError(g, /the op 'DepthToSpace' after layer 'target' has no gradient in TensorFlow\.js; use a method that needs no gradients: .*scorecam/, ['--layer', 'target']);
  const { r } = explainWith(g, ['--layer', 'target', '--method', 'scorecam']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

test('a graph model whose batch size is fixed to 1 still explains top-3 and Score-CAM (as with a free batch)', () => {
  const free = writeGraphModel(path.join(dir, 'graph-free'), 'Identity', -1);
  const one = writeGraphModel(path.join(dir, 'graph-batch1'), 'Identity', 1);
  for (const method of ['gradcam', 'scorecam']) {
    const runs = [free, one].map((m) => {
      const { r, out } = explainWith(m, ['-k', '3', '--method', method, '--save-raw', '--json']);
      expect(r.stderr).not.toMatch(/FAIL|must be \[1,/);
      expect(r.code).toBe(0);
      const rep = JSON.parse(r.stdout);
      return rep.images[0].maps.map((x: { files: { raw: string[] } }) => decodeNpy(fs.readFileSync(path.join(out, x.files.raw[0]))).data);
    });
    expect(runs[1]).toHaveLength(3);
    runs[1].forEach((map: Float32Array, i: number) => map.forEach((v, j) => expect(v).toBeCloseTo(runs[0][i][j], 4)));
  }
});

test('NaN and infinite weights: no crash, the maps are flagged flat, the report says what came out', () => {
  let nanSeen = false;
  for (const [name, value] of [
    ['nan', NaN],
    ['inf', Infinity],
  ] as const) {
    const m = variant(good, path.join(dir, `weights-${name}`), (json, w) => {
      const { offset, count } = weightRange(json, 'conv_b/kernel');
      const copy = Buffer.from(w);
      for (let i = 0; i < count; i++) copy.writeFloatLE(value, offset + i * 4);
      return { weights: copy };
    });
    const { r, out } = explainWith(m, ['--json']);
    if (name === 'nan') nanSeen = JSON.parse(r.stdout).images[0].warnings?.length === 1;
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    const report = JSON.parse(r.stdout);
    const image = report.images[0];
    expect(image.status).toBe('ok');
    expect(image.maps[0].flat).toBe(true);
    expect(r.code).toBe(0);
    // The overlay is still written (the image under an empty map).
    expect(fs.existsSync(path.join(out, image.maps[0].files.overlay))).toBe(true);
    // Non-finite scores are reported as null (JSON has no NaN), never as a number that is not one, and are named.
    for (const t of image.top) {
      expect(t.logit === null || Number.isFinite(t.logit)).toBe(true);
      expect(t.probability === null || Number.isFinite(t.probability)).toBe(true);
    }
    if (image.top.some((t: { logit: number | null }) => t.logit === null)) {
      expect(image.warnings).toEqual(["the model's scores are not finite numbers (NaN or infinity): check its weights; the maps are empty"]);
      const plain = explainWith(m).r; // the line printed per image says it too
      expect(plain.stdout).toMatch(/^ok .*a\.png: 0 \[flat gradcam map\] \[the model's scores are not finite numbers \(NaN or infinity\): check its weights; the maps are empty\]$/m);
    }
  }
  // NaN weights give NaN scores (ReLU turns an infinite kernel's NaNs into zeros: flat, but finite).
  expect(nanSeen).toBe(true);
});

test('the library (loadModel) rejects with the same one-line ModelErrors, never a bare tfjs error', async () => {
  const cases = ['no-shard', 'short-shard', 'bad-shape', 'escape-rel', 'tabular', 'syntax', 'empty-model'];
  for (const c of cases) {
    const e = await loadModel(path.join(dir, c)).then(
      (m) => {
        m.dispose();
        return null;
      },
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(UserError);
    expect(e).toBeInstanceOf(ModelError);
    expect((e as Error).message).not.toContain('\n');
  }
});
