// Models served over http(s) load like folders (a loopback server here), and a failing server gives one clear line.
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { AddressInfo } from 'net';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadModel } from '../../src';
import { saveLayersModel } from '../../src/model/save';
import { gapDenseModel, seededInput } from '../helpers/models';
import { tempDir } from '../helpers/cli';

let dir: string;
let server: http.Server;
let base: string;
const requested: string[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('url');
  const m = gapDenseModel(8, 4);
  await saveLayersModel(m, path.join(dir, 'm'));
  m.dispose();
  server = http.createServer((req, res) => {
    requested.push(req.url ?? '');
    const file = path.join(dir, decodeURIComponent(req.url ?? '/'));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
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
