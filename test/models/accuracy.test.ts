/**
 * The shipped models (models/*): each loads from its folder on WASM, is under 2 MB, carries a valid sidecar whose
 * target layer exists, and reaches >= 97% on the first 500 held-out evaluation canvases; the GraphModel export
 * computes the same logits as the LayersModel it came from.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { Canvas, LABELS, makeEvalCanvases } from '../../scripts/data/clutter';
import { accuracyOf, predictAll } from '../../scripts/lib/evaluate';
import { fileLoader, modelBytes } from '../../scripts/lib/model-io';
import { ModelSidecar } from '../../scripts/lib/sidecar';

const MODELS = path.join(__dirname, '..', '..', 'models');
const LAYERS_MODELS = ['gap-cnn', 'resnet-bn', 'flatten-dense'];
const SUBSET = 500;

let canvases: Canvas[];

beforeAll(async () => {
  await initBackend('wasm');
  canvases = makeEvalCanvases(SUBSET);
});

function sidecarOf(name: string): ModelSidecar {
  return JSON.parse(fs.readFileSync(path.join(MODELS, name, 'tfjs-cam.json'), 'utf8'));
}

function checkSidecar(s: ModelSidecar): void {
  expect(s.preprocess).toEqual({ scale: [0, 1], mean: [0], std: [1], bgr: false, resize: 'stretch', grayscale: true });
  expect(s.labels).toEqual(LABELS);
  expect(typeof s.layer).toBe('string');
  expect(s.method).toBe('gradcam');
  expect(s.description.length).toBeGreaterThan(20);
  expect(s.trainedAccuracy).toBeGreaterThanOrEqual(0.97);
}

describe.each(LAYERS_MODELS)('models/%s', (name) => {
  test('loads, is small, has a valid sidecar and >= 97% accuracy on 500 held-out canvases', async () => {
    const dir = path.join(MODELS, name);
    expect(modelBytes(dir)).toBeLessThan(2 * 1024 * 1024);
    const model = await tf.loadLayersModel(fileLoader(dir));
    try {
      expect(model.inputs[0].shape).toEqual([null, 64, 64, 1]);
      const s = sidecarOf(name);
      checkSidecar(s);
      const target = model.getLayer(s.layer);
      expect((target.outputShape as number[]).slice(1, 3)).toEqual([16, 16]);
      const acc = accuracyOf(predictAll(model, canvases), canvases);
      expect(acc).toBeGreaterThanOrEqual(0.97);
    } finally {
      model.dispose();
    }
  });
});

test('models/resnet-bn-graph is a GraphModel that computes the LayersModel\'s logits', async () => {
  const dir = path.join(MODELS, 'resnet-bn-graph');
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  expect(json.format).toBe('graph-model');
  expect(modelBytes(dir)).toBeLessThan(2 * 1024 * 1024);
  const s = sidecarOf('resnet-bn-graph');
  checkSidecar(s);
  const graph = await tf.loadGraphModel(fileLoader(dir));
  const layers = await tf.loadLayersModel(fileLoader(path.join(MODELS, 'resnet-bn')));
  try {
    // The default target node exists, is a spatial map, and a skip path bypasses it into block2_add.
    const ops = Object.fromEntries((json.modelTopology.node as { name: string; op: string; input?: string[] }[]).map((n) => [n.name, n]));
    expect(ops[s.layer].op).toBe('Relu');
    expect(ops.block2_add.input).toContain('block1_out');
    const shape = tf.tidy(() => (graph.execute(tf.zeros([1, 64, 64, 1]), s.layer) as tf.Tensor).shape);
    expect(shape).toEqual([1, 16, 16, 32]);
    const some = canvases.slice(0, 200);
    const a = predictAll(layers, some);
    const b = predictAll(graph, some);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    expect(diff).toBeLessThan(1e-4);
    expect(accuracyOf(predictAll(graph, canvases), canvases)).toBeGreaterThanOrEqual(0.97);
  } finally {
    graph.dispose();
    layers.dispose();
  }
});
