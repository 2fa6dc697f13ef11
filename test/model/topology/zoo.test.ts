// The real models of ../shared/data/zoo (see its README): the Keras 3 exports load after normalization with every
// weight matched, translation alone and translation + flattening agree exactly, the Teachable Machine export
// flattened agrees exactly with plain tfjs on the nested original, the plain Keras 2 models pass through unchanged
// in meaning, and the malformed topology (an endless loop in plain tfjs) is refused at once.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/backend';
import { loadArtifacts } from '../../../src/model/artifacts';
import { ModelError } from '../../../src/util/errors';
import { normalizeLayersTopology, translateLayersTopology } from '../../../src/model/topology';
import { seededInput } from '../../helpers/models';
import { J, loadFrom, outputDiff } from './fixtures';

const ZOO = path.resolve(__dirname, '../../../../shared/data/zoo');
const hasZoo = fs.existsSync(ZOO);
const maybe = hasZoo ? test : test.skip;
if (!hasZoo) console.log(`skipped the zoo topology tests: ${ZOO} is not present`);

// WASM: 20-30x faster than the pure-JS CPU backend on these MobileNets, and as deterministic.
beforeAll(async () => {
  if (hasZoo) await initBackend('wasm');
});

async function zoo(name: string) {
  const loaded = await loadArtifacts(path.join(ZOO, name));
  return { artifacts: loaded.artifacts, where: loaded.source.modelJson, specs: loaded.artifacts.weightSpecs ?? [] };
}

/** Normalizes a zoo model, timing it, and builds it with tfjs' strict weight loading. */
async function normalized(name: string) {
  const z = await zoo(name);
  const t0 = performance.now();
  const n = normalizeLayersTopology(z.artifacts.modelTopology as object, z.specs, z.where);
  const ms = performance.now() - t0;
  const model = await loadFrom(z.artifacts, n.modelTopology, n.weightSpecs);
  // Strict loading refuses a weight without a variable and a variable without a weight; count them anyway.
  expect(model.weights.length).toBe(n.weightSpecs.length);
  return { ...z, n, ms, model };
}

const inputFor = (m: tf.LayersModel, seed: number) => seededInput([1, ...(m.inputs[0].shape.slice(1) as number[])], seed);

maybe('catmood-cnn1-keras3 (Keras 3): loads after normalization, every weight matched', async () => {
  const { n, model, ms } = await normalized('catmood-cnn1-keras3');
  expect(n.notes).toEqual({ keras3: true, flattened: [] });
  expect(n.modelTopology.keras_version).toBe('3.9.2');
  const x = inputFor(model, 1);
  const p = model.predict(x) as tf.Tensor;
  expect(p.shape).toEqual([1, 6]);
  expect(p.sum().dataSync()[0]).toBeCloseTo(1, 5);
  console.log(`catmood-cnn1-keras3: normalized in ${ms.toFixed(1)} ms`);
  tf.dispose([x, p]);
  model.dispose();
});

maybe('catmood-mobilenet25-keras3 (Keras 3, nested functional MobileNetV2): translated alone == translated and flattened', async () => {
  const { n, model: flat, artifacts, specs, where, ms } = await normalized('catmood-mobilenet25-keras3');
  expect(n.notes).toEqual({ keras3: true, flattened: ['mobilenetv2_0.35_224'] });
  expect(n.qualifiedNames.get('out_relu')).toBe('mobilenetv2_0.35_224/out_relu');
  expect(flat.getLayer('out_relu').outputShape).toEqual([null, 7, 7, 1280]);
  // DepthwiseConv2D's Keras 3 `kernel` is tfjs' `depthwise_kernel`.
  expect(n.weightSpecs.filter((w) => w.name.endsWith('/depthwise_kernel')).length).toBe(17);

  const t = translateLayersTopology(artifacts.modelTopology as object, specs, where);
  expect((t.modelTopology.model_config as J).config.layers.map((l: J) => l.class_name)).toContain('Functional');
  const nested = await loadFrom(artifacts, t.modelTopology, t.weightSpecs);
  const x = inputFor(flat, 2);
  const d = outputDiff(nested, flat, x);
  console.log(`catmood-mobilenet25-keras3: normalized in ${ms.toFixed(1)} ms; nested vs flat max abs diff ${d}`);
  expect(d).toBe(0);
  tf.dispose([x]);
  [flat, nested].forEach((m) => m.dispose());
});

maybe('tm-aircraft (Teachable Machine, nested Sequentials): flattened == plain tfjs on the nested original', async () => {
  const { n, model: flat, artifacts, ms } = await normalized('tm-aircraft');
  expect(n.notes).toEqual({ keras3: false, flattened: ['sequential_53', 'sequential_53/model14', 'sequential_55'] });
  expect(n.qualifiedNames.get('out_relu')).toBe('sequential_53/model14/out_relu');
  expect(n.qualifiedNames.get('dense_Dense28')).toBe('sequential_55/dense_Dense28');
  expect(n.modelTopology.model_config.config.layers.some((l) => ['Sequential', 'Model', 'Functional'].includes(l.class_name))).toBe(false);
  const plain = await loadFrom(artifacts);
  expect(() => plain.getLayer('out_relu')).toThrow();
  const x = inputFor(flat, 3);
  const d = outputDiff(plain, flat, x);
  console.log(`tm-aircraft: normalized in ${ms.toFixed(1)} ms; plain nested vs flat max abs diff ${d}`);
  expect(d).toBe(0);
  tf.dispose([x]);
  [flat, plain].forEach((m) => m.dispose());
});

maybe('catmood-cnn1-malformed: refused within 2 s in one line naming the layer (plain tfjs loops forever)', async () => {
  const z = await zoo('catmood-cnn1-malformed');
  const t0 = performance.now();
  let err: unknown;
  try {
    normalizeLayersTopology(z.artifacts.modelTopology as object, z.specs, z.where);
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  console.log(`catmood-cnn1-malformed: refused in ${ms.toFixed(1)} ms`);
  // Plain tfjs loops forever on this file: that we get here at all is the test (jest's timeout catches a hang).
  expect(err).toBeInstanceOf(ModelError);
  expect((err as Error).message).toBe(
    `${z.where}: layer 'conv1': inbound node 0 holds an object where [layer name, node index, tensor index] was expected (Keras 3 node data inside a Keras 2 list)`,
  );
});

maybe.each(['nsfwjs-mobilenet-v2', 'mnist-channels-first', 'doodlenet'])('%s (Keras 2): unchanged in meaning by normalization', async (name) => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const { n, model: flat, artifacts, ms } = await normalized(name);
    expect(n.notes).toEqual({ keras3: false, flattened: [] });
    expect(warn).not.toHaveBeenCalled(); // doodlenet's stale batch_input_shape made plain tfjs warn
    const plain = await loadFrom(artifacts);
    const x = inputFor(flat, 4);
    const d = outputDiff(plain, flat, x);
    console.log(`${name}: ${n.modelTopology.model_config.config.layers.length} layers normalized in ${ms.toFixed(1)} ms; plain vs normalized max abs diff ${d}`);
    expect(d).toBe(0);
    tf.dispose([x]);
    [flat, plain].forEach((m) => m.dispose());
  } finally {
    warn.mockRestore();
  }
});
