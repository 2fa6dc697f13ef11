// Models served over http(s) load like folders (a loopback server here), and a failing server gives one clear line.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadModel } from '../../src';
import { saveLayersModel } from '../../src/model/save';
import { gapDenseModel, seededInput } from '../helpers/models';
import { tempDir } from '../helpers/cli';
import { filesUnder, startTestServer, TestServer } from '../helpers/server';

let dir: string;
// Each test gets a server of its own (own port, own request log), closed with its connections before the next.
let server: TestServer;
let base: string;
let requested: string[];

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('url');
  const m = gapDenseModel(8, 4);
  await saveLayersModel(m, path.join(dir, 'm'));
  m.dispose();
});

beforeEach(async () => {
  server = await startTestServer(filesUnder(dir));
  ({ base, requests: requested } = server);
});

afterEach(() => server.close());

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a model URL gives the same model, hash and logits as its folder', async () => {
  const fromUrl = await loadModel(`${base}/m/`);
  const fromDisk = await loadModel(path.join(dir, 'm'));
  expect(requested).toContain('/m/model.json');
  expect(requested).toContain('/m/weights.bin');
  expect(fromUrl.sha256).toBe(fromDisk.sha256);
  const x = seededInput([1, 8, 8, 3]);
  const a = tf.tidy(() => fromUrl.classifier.predict(x).dataSync());
  const b = tf.tidy(() => fromDisk.classifier.predict(x).dataSync());
  expect(Array.from(a)).toEqual(Array.from(b));
  x.dispose();
  fromUrl.dispose();
  fromDisk.dispose();
});

test('a missing model URL fails with the HTTP status', async () => {
  await expect(loadModel(`${base}/nothing/model.json`)).rejects.toThrow(/model\.json answered HTTP 404/);
});

test("a URL model's sidecar (and the labels file it names) come from the same URL folder; flags still win", async () => {
  const { explain } = await import('../../src');
  const m = gapDenseModel(8, 4);
  await saveLayersModel(m, path.join(dir, 'side'));
  m.dispose();
  fs.writeFileSync(path.join(dir, 'side', 'tfjs-cam.json'), JSON.stringify({ labels: 'names.txt', preprocess: { scale: [-1, 1], resize: 'pad' } }));
  fs.writeFileSync(path.join(dir, 'side', 'names.txt'), 'ant\nbee\ncat\ndog\n');
  const image = path.join(dir, 'a.png');
  const sharp = (await import('sharp')).default;
  fs.writeFileSync(image, await sharp({ create: { width: 12, height: 8, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer());
  const { report } = await explain([image], { model: `${base}/side/`, out: null, topK: 4, preprocess: { resize: 'crop' } });
  expect(requested).toEqual(expect.arrayContaining(['/side/tfjs-cam.json', '/side/names.txt']));
  expect(report.images[0].top!.map((t) => t.label).sort()).toEqual(['ant', 'bee', 'cat', 'dog']);
  expect(report.preprocessing).toMatchObject({ scale: [-1, 1], resize: 'crop' });
  // A labels file outside the model's URL folder is refused, as a weight path would be.
  fs.writeFileSync(path.join(dir, 'side', 'tfjs-cam.json'), JSON.stringify({ labels: '../m/model.json' }));
  await expect(explain([image], { model: `${base}/side/`, out: null })).rejects.toThrow(`${base}/side/tfjs-cam.json: field 'labels' names '../m/model.json', outside the model's URL folder (refused)`);
  // No sidecar at all (404) is fine.
  const { report: plain } = await explain([image], { model: `${base}/m/`, out: null, topK: 1 });
  expect(plain.images[0].status).toBe('ok');
});

test("loadModel and inspect of a URL model use its sidecar's layer", async () => {
  const { inspect } = await import('../../src/pipeline/inspect');
  const m = gapDenseModel(8, 4);
  await saveLayersModel(m, path.join(dir, 'side2'));
  m.dispose();
  fs.writeFileSync(path.join(dir, 'side2', 'tfjs-cam.json'), JSON.stringify({ layer: 'c1', labels: ['a', 'b', 'c', 'd'] }));
  const loaded = await loadModel(`${base}/side2/`);
  expect(loaded.sidecar).toEqual({ layer: 'c1', labels: ['a', 'b', 'c', 'd'] });
  const r = await inspect(loaded, 'wasm');
  expect(r.defaultLayer).toBe('c1');
  loaded.dispose();
});

test("a URL model reads what a folder's does: Teachable Machine's metadata.json, else a labels file, from the same URL folder", async () => {
  const { explain } = await import('../../src');
  const m = gapDenseModel(8, 4);
  await saveLayersModel(m, path.join(dir, 'tm'));
  await saveLayersModel(m, path.join(dir, 'guess'));
  m.dispose();
  fs.writeFileSync(path.join(dir, 'tm', 'metadata.json'), JSON.stringify({ tmVersion: '2.4.7', labels: ['ant', 'bee', 'cat', 'dog'] }));
  fs.writeFileSync(path.join(dir, 'guess', 'labels.txt'), 'w\nx\ny\nz\n');
  const image = path.join(dir, 'b.png');
  const sharp = (await import('sharp')).default;
  fs.writeFileSync(image, await sharp({ create: { width: 10, height: 9, channels: 3, background: { r: 20, g: 130, b: 60 } } }).png().toBuffer());
  requested.length = 0;
  for (const [name, labels, source] of [['tm', ['ant', 'bee', 'cat', 'dog'], 'Teachable Machine metadata.json'], ['guess', ['w', 'x', 'y', 'z'], 'labels.txt']] as const) {
    const fromUrl = (await explain([image], { model: `${base}/${name}/`, out: null, topK: 4 })).report;
    const fromDisk = (await explain([image], { model: path.join(dir, name), out: null, topK: 4 })).report;
    expect([fromUrl.labelsSource, fromUrl.images[0].top!.map((t) => t.label).sort()]).toEqual([source, labels]);
    expect(fromUrl.preprocessing).toEqual(fromDisk.preprocessing);
    expect(fromUrl.images[0].top).toEqual(fromDisk.images[0].top);
  }
  expect(requested).toEqual(expect.arrayContaining(['/tm/metadata.json', '/guess/metadata.json', '/guess/labels.json', '/guess/labels.txt']));
  expect(requested).not.toContain('/tm/labels.json'); // the labels were known: no further file read
});
