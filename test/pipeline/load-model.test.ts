// The library behaves like the CLI: loadModel() then explain() picks the backend once, before any tensor exists,
// as the CLI does. In a fresh Node process (the built package, as a user requires it): tfjs never greets with its
// "looks like you are running TensorFlow.js in Node.js" banner (the pure-JS CPU backend's, printed when a tensor is
// first written there), only 'wasm' is ever set, the active backend is 'wasm' after loading and after explaining,
// and no tensor moves between backends (a model built on one backend and used on another is what this prevents).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from '../helpers/cli';

const INDEX = path.join(ROOT, 'dist', 'src', 'index.js');
const hasBuild = fs.existsSync(INDEX);
if (!hasBuild) console.log('skipped the library backend test: dist/ is missing (npm run build)');
const maybe = hasBuild ? test : test.skip;

const MODELS = ['gap-cnn', 'resnet-bn', 'flatten-dense', 'resnet-bn-graph'];
const SAMPLE = path.join(ROOT, 'samples', 'digit-03-3.png');

/** Runs in the child: records every backend set, every tensor moved, and the active backend at each step. */
const CHILD = `
const tf = require('@tensorflow/tfjs');
const engine = tf.engine();
const set = [];
const setBackend = engine.setBackend.bind(engine);
engine.setBackend = (name) => (set.push(name), setBackend(name));
let moves = 0;
const moveData = engine.moveData.bind(engine);
engine.moveData = (backend, id) => (moves++, moveData(backend, id));
const { loadModel, explain } = require(${JSON.stringify(INDEX)});
(async () => {
  const active = [];
  const runs = [];
  for (const name of ${JSON.stringify(MODELS)}) {
    const model = await loadModel(${JSON.stringify(path.join(ROOT, 'models'))} + '/' + name);
    active.push(tf.getBackend());
    const { report } = await explain([${JSON.stringify(SAMPLE)}], { model, out: null, topK: 2, method: 'gradcam,gradcam++' });
    active.push(tf.getBackend());
    runs.push([name, report.backend, report.images[0].status]);
    model.dispose();
  }
  process.stdout.write(JSON.stringify({ set, moves, active, runs }) + '\\n');
})();
`;

maybe('loadModel then explain: one backend, chosen first; no banner, no tensor moved', () => {
  const r = spawnSync(process.execPath, ['-e', CHILD], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TFJS_CAM_THREADS: '' }, timeout: 540_000 });
  expect(r.stderr).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/);
  expect(r.stdout).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/);
  expect(r.status).toBe(0);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
  expect(got.set).toEqual(['wasm']);
  expect(got.active).toEqual(MODELS.flatMap(() => ['wasm', 'wasm']));
  expect(got.moves).toBe(0);
  expect(got.runs).toEqual(MODELS.map((m) => [m, 'wasm', 'ok']));
});
