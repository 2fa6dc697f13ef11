// Size limits on the files tfjs-cam reads whole (labels, sidecar, model.json), and URLs: fetched only when given,
// with a timeout (TFJS_CAM_FETCH_TIMEOUT_MS here, so a server that never answers is caught quickly).
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { loadModel } from '../../src';
import { ModelError } from '../../src/util/errors';
import { runCliAsync, tempDir } from '../helpers/cli';
import { filesUnder, withServer } from '../helpers/server';
import { saveModel, smallCnn, spotPng, variant } from './fixtures';
import { expectRunError, runCli } from './cli';

let dir: string;
let model: string;
let img: string;

/** A sparse file of `size` bytes: no disk used, but stat() says it is that big. */
function bigFile(file: string, size: number, head = ''): string {
  fs.writeFileSync(file, head);
  fs.truncateSync(file, size);
  return file;
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('faults-limits');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  img = path.join(dir, 'a.png');
  fs.writeFileSync(img, await spotPng(40, 30));
});

/**
 * Each test that fetches gets a server of its own (its own port and request log), closed with every connection
 * ended before the test returns: a request of an earlier test still in flight on a busy machine (the stalled
 * model.json below) can never reach a later test's server or log.
 */
const models: http.RequestListener = (req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/silent/')) return; // accepts, never answers
  if (url.startsWith('/stall/')) {
    res.writeHead(200, { 'content-length': '1000' });
    res.write('{"modelTopology": '); // headers and a little body, then nothing
    return;
  }
  filesUnder(dir)(req, res);
};


afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a labels file over 16 MB is refused with its size, from --labels and from the sidecar', () => {
  const labels = bigFile(path.join(dir, 'labels.txt'), 16 * 1024 * 1024 + 1, 'a\nb\nc\nd\n');
  const out = path.join(dir, 'out-labels');
  expectRunError(runCli(['explain', img, '-m', model, '-o', out, '--labels', labels]), 2, /labels\.txt: the labels file is 16777217 bytes, over the limit of 16777216$/);
  const m = variant(model, path.join(dir, 'model-biglabels'), () => undefined);
  bigFile(path.join(m, 'big-labels.txt'), 17 * 1024 * 1024);
  fs.writeFileSync(path.join(m, 'tfjs-cam.json'), JSON.stringify({ labels: 'big-labels.txt' }));
  expectRunError(runCli(['explain', img, '-m', m, '-o', out]), 2, /big-labels\.txt: the labels file is 17825792 bytes, over the limit of 16777216$/);
  expect(fs.existsSync(out)).toBe(false);
});

test('a sidecar over 1 MB is refused with its size', () => {
  const m = variant(model, path.join(dir, 'model-bigsidecar'), () => undefined);
  bigFile(path.join(m, 'tfjs-cam.json'), 1024 * 1024 + 10, '{"labels": []}');
  expectRunError(runCli(['explain', img, '-m', m, '-o', path.join(dir, 'out-sidecar')]), 2, /tfjs-cam\.json: the sidecar is 1048586 bytes, over the limit of 1048576$/);
});

test('a model.json over 64 MB is refused before it is read', () => {
  const m = path.join(dir, 'model-huge-json');
  fs.mkdirSync(m);
  bigFile(path.join(m, 'model.json'), 64 * 1024 * 1024 + 1, '{');
  expectRunError(runCli(['explain', img, '-m', m, '-o', path.join(dir, 'out-json')]), 2, /model\.json: model\.json is larger than 67108864 bytes$/);
});

test('a check spec over the size limit is refused with its size', () => {
  const spec = bigFile(path.join(dir, 'checks.yaml'), 16 * 1024 * 1024 + 1, 'model: ./model\n');
  expectRunError(runCli(['check', spec, '-o', path.join(dir, 'out-check')]), 2, /checks\.yaml: the check spec is 16777217 bytes, over the limit of 16777216$/);
});

test('a model URL that never answers times out with one line (TFJS_CAM_FETCH_TIMEOUT_MS)', () =>
  withServer(models, async ({ base }) => {
    const t0 = Date.now();
    const r = await runCliAsync(['explain', img, '-m', `${base}/silent/model.json`, '-o', path.join(dir, 'out-url')], { env: { TFJS_CAM_FETCH_TIMEOUT_MS: '300' } });
    expectRunError(r, 2, new RegExp(`^tfjs-cam: error: ${base}/silent/model\\.json: could not fetch ${base}/silent/model\\.json: timed out after 0\\.3 s$`));
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(fs.existsSync(path.join(dir, 'out-url'))).toBe(false);
  }));

test('a server that sends headers and then stalls times out too (the body is under the same limit)', () =>
  withServer(models, async ({ base, requests }) => {
    process.env.TFJS_CAM_FETCH_TIMEOUT_MS = '300';
    try {
      const e = await loadModel(`${base}/stall/model.json`).then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(ModelError);
      expect((e as Error).message).toBe(`${base}/stall/model.json: could not fetch ${base}/stall/model.json: timed out after 0.3 s`);
      expect(requests).toEqual(['/stall/model.json']);
    } finally {
      delete process.env.TFJS_CAM_FETCH_TIMEOUT_MS;
    }
  }));

test('a bad TFJS_CAM_FETCH_TIMEOUT_MS is named', () =>
  withServer(models, async ({ base, requests }) => {
    const r = await runCliAsync(['explain', img, '-m', `${base}/model/`, '-o', path.join(dir, 'out-env')], { env: { TFJS_CAM_FETCH_TIMEOUT_MS: 'soon' } });
    expectRunError(r, 2, /TFJS_CAM_FETCH_TIMEOUT_MS must be a whole number of milliseconds > 0 \(got 'soon'\)$/);
    expect(requests).toEqual([]);
  }));

test('a URL model cannot send tfjs-cam to another path or host for its weights', async () => {
  for (const [name, p] of [
    ['up', '../model/weights.bin'],
    ['host', 'http://example.invalid/weights.bin'],
  ]) {
    variant(model, path.join(dir, 'url-' + name), (json) => {
      json.weightsManifest[0].paths = [p];
    });
    await withServer(models, async ({ base, requests }) => {
      const e = await loadModel(`${base}/url-${name}/model.json`).then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(ModelError);
      expect((e as Error).message).toBe(`${base}/url-${name}/model.json: weight path '${p}' leaves the model folder (refused)`);
      expect(requests).toEqual([`/url-${name}/model.json`]);
    });
  }
});

test('nothing is fetched unless given as the model: URLs in a local model.json or sidecar are not followed', () =>
  withServer(models, async ({ base, requests }) => {
    const m = variant(model, path.join(dir, 'local-with-urls'), (json) => {
      json.weightsManifest[0].paths = [`${base}/model/weights.bin`];
    });
    fs.writeFileSync(path.join(m, 'tfjs-cam.json'), JSON.stringify({ labels: `${base}/labels.txt` }));
    // Run beside the server (not blocking this process): a fetch would be answered and logged.
    const r = await runCliAsync(['explain', img, '-m', m, '-o', path.join(dir, 'out-local')]);
    expectRunError(r, 2, /local-with-urls\/model\.json: weight shard 'http:\/\/127\.0\.0\.1:\d+\/model\/weights\.bin' is missing$/);
    variant(model, m, () => undefined); // weights fixed; the sidecar's URL labels remain
    fs.writeFileSync(path.join(m, 'tfjs-cam.json'), JSON.stringify({ labels: `${base}/labels.txt` }));
    const r2 = await runCliAsync(['explain', img, '-m', m, '-o', path.join(dir, 'out-local')]);
    expectRunError(r2, 2, /labels\.txt: labels file not found$/);
    expect(requests).toEqual([]);
  }));
