// Real models as their authors published them (../shared/data/zoo, see its README.md). For each: it loads, its
// top-k probabilities equal plain TensorFlow.js's own output (model.predict / execute on the pure-JS CPU backend,
// loaded by this test's own file reader, on the same preprocessed input) to 1e-4, the Grad-CAM map at the default
// layer equals one computed independently with tf.grad of the logit (correlation >= 0.999), CAM equals Grad-CAM up
// to scale where the head allows it, and otherwise the refusal names the layer in the way. Skips with a notice when
// ../shared/data is absent (a user's fresh clone).
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { openSession, Session } from '../../src/pipeline/session';
import { prepareInput } from '../../src/pipeline/explain';
import { decodeImage } from '../../src/image/decode';
import { explainTensor, TensorExplanation } from '../../src/pipeline/explain-tensor';
import { getMethod } from '../../src/methods';
import { translateLayersTopology } from '../../src/model/topology';
import { loadModelFrom } from '../../src/model/load';
import { correlation } from '../helpers/stats';

const DATA = path.resolve(__dirname, '../../../shared/data');
const ZOO = path.join(DATA, 'zoo');
const have = fs.existsSync(ZOO);
if (!have) console.log(`skipping the zoo tests: ${ZOO} is absent`);
const maybe = have ? describe : describe.skip;

type Json = Record<string, unknown>;

/** Plain tfjs artifacts from a model folder: this test's own reader, so the reference shares no code with the tool's loader. */
function plainArtifacts(dir: string, translate = false): tf.io.ModelArtifacts {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const groups = json.weightsManifest as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  const bytes = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  let modelTopology = json.modelTopology as Json;
  let weightSpecs = groups.flatMap((g) => g.weights);
  if (translate) {
    // tfjs cannot read the Keras 3 form: the same topology in the Keras 2 form, nested models kept nested
    // (translation only, no flattening), is what plain tfjs builds for the reference.
    const t = translateLayersTopology(modelTopology, weightSpecs, dir);
    modelTopology = t.modelTopology as unknown as Json;
    weightSpecs = t.weightSpecs;
  }
  return {
    modelTopology,
    weightSpecs,
    weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    format: json.format,
  };
}

/**
 * The reference for one model, computed with plain tfjs: probabilities (the model's own output) and, for the
 * default target layer, the activation A and the logits as a differentiable function of A.
 */
interface Reference {
  probabilities(x: tf.Tensor4D): Float32Array;
  activation(x: tf.Tensor4D): tf.Tensor4D;
  logits(x: tf.Tensor4D, a: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

const dense = (m: tf.LayersModel, name: string, h: tf.Tensor, act?: (t: tf.Tensor) => tf.Tensor): tf.Tensor => {
  const [w, b] = m.getLayer(name).getWeights();
  const product = tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D);
  const y = b ? tf.add(product, b) : product; // Teachable Machine's last Dense has no bias
  return act ? act(y) : y;
};

/**
 * A flat LayersModel: A from the target layer (tfjs' own execute), and the head as the chain of layers after it,
 * named here by hand and applied eagerly by tfjs (Dropout is the identity at inference), up to the final Dense,
 * whose product is done here without its activation. (LayersModel.execute ignores fed intermediate tensors.)
 */
async function chainReference(artifacts: tf.io.ModelArtifacts, target: string, chain: string[], finalDense: string): Promise<Reference> {
  const m = await tf.loadLayersModel({ load: async () => artifacts });
  const inputName = m.inputs[0].name;
  const targetOut = m.getLayer(target).output as tf.SymbolicTensor;
  return {
    probabilities: (x) => tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync() as Float32Array),
    activation: (x) => m.execute({ [inputName]: x }, targetOut.name) as tf.Tensor4D,
    logits: (_x, a) => dense(m, finalDense, chain.reduce((t: tf.Tensor, name) => m.getLayer(name).apply(t) as tf.Tensor, a)) as tf.Tensor2D,
    dispose: () => m.dispose(),
  };
}

/** A GraphModel: GraphModel.execute treats a fed node as given, so the logits node is a function of A. */
async function graphReference(dir: string, target: string, logitsNode: string, output: string): Promise<Reference> {
  const g = await tf.loadGraphModel({ load: async () => plainArtifacts(dir) });
  const inputName = g.inputs[0].name;
  return {
    probabilities: (x) => tf.tidy(() => (g.execute({ [inputName]: x }, output) as tf.Tensor).dataSync() as Float32Array),
    activation: (x) => g.execute({ [inputName]: x }, target) as tf.Tensor4D,
    logits: (x, a) => tf.reshape(g.execute({ [inputName]: x, [target]: a }, logitsNode) as tf.Tensor, [1, -1]) as tf.Tensor2D,
    dispose: () => g.dispose(),
  };
}

/** Grad-CAM from the reference: ReLU(sum_k mean_ij(dz_c/dA) A_k), by tf.grad of the logit at the reference's own A. */
function referenceGradCam(ref: Reference, x: tf.Tensor4D, a: tf.Tensor4D, cls: number): Float32Array {
  return tf.tidy(() => {
    const g = tf.grad((t: tf.Tensor) => tf.slice(ref.logits(x, t as tf.Tensor4D), [0, cls], [1, 1]).sum())(a);
    const alpha = tf.mean(g, [1, 2], true);
    return tf.relu(tf.sum(tf.mul(a, alpha), 3)).dataSync() as Float32Array;
  });
}

interface Case {
  model: string;
  image: string;
  /** A region of the image to use instead of all of it (the face of astronaut.png for the face models). */
  crop?: { left: number; top: number; width: number; height: number };
  /** Flags-equivalent preprocessing (the zoo README's), where the model's own metadata does not give it. */
  preprocess?: Parameters<typeof openSession>[0]['preprocess'];
  expectHead: { kind: string; binary: boolean };
  expectLayer: string;
  /** Reference built with plain tfjs on the CPU backend. */
  reference: (dir: string) => Promise<Reference>;
  /** CAM: 'allowed', or the refusal's expected text. */
  cam: 'allowed' | RegExp;
  /** The top-1 class label the model's authors' own runtime gives, where we know it. */
  top1?: string;
  minTop1?: number;
}

const G = 'StatefulPartitionedCall';
const FACE = { left: 150, top: 40, width: 150, height: 170 };
const CASES: Case[] = [
  {
    model: 'nsfwjs-mobilenet-v2',
    image: 'coffee.png',
    expectHead: { kind: 'softmax', binary: false },
    expectLayer: 'out_relu',
    reference: async (d) => chainReference(plainArtifacts(d), 'out_relu', ['average_pooling2d_1', 'flatten_1', 'dense_1', 'dropout_2', 'dense_2', 'dropout_3'], 'dense_3'),
    cam: /'dense_1' \(Dense\) applies activation 'relu'/,
  },
  {
    model: 'nsfwjs-mobilenet-v2-mid',
    image: 'coffee.png',
    expectHead: { kind: 'softmax', binary: false },
    expectLayer: `${G}/sequential/keras_layer/${G}/${G}/${G}/predict/MobilenetV2/Conv_1/Relu6`,
    reference: async (d) => graphReference(d, `${G}/sequential/keras_layer/${G}/${G}/${G}/predict/MobilenetV2/Conv_1/Relu6`, `${G}/sequential/dense/BiasAdd`, 'Identity'),
    cam: 'allowed',
    top1: 'Neutral',
    minTop1: 0.99,
  },
  {
    model: 'tm-aircraft',
    image: 'rocket.jpg',
    expectHead: { kind: 'softmax', binary: false },
    expectLayer: 'sequential_53/model14/out_relu',
    // Teachable Machine's own structure: the functional MobileNet nested twice, then the head Sequential.
    reference: async (d) => {
      const outer = await tf.loadLayersModel({ load: async () => plainArtifacts(d) });
      const base = (outer.layers[0] as tf.Sequential).layers[0] as tf.LayersModel;
      const head = outer.layers[1] as tf.Sequential;
      return {
        probabilities: (x) => tf.tidy(() => (outer.predict(x) as tf.Tensor).dataSync() as Float32Array),
        activation: (x) => base.predict(x) as tf.Tensor4D,
        logits: (_x, a) => dense(head, head.layers[1].name, dense(head, head.layers[0].name, tf.mean(a, [1, 2]), tf.relu)) as tf.Tensor2D,
        dispose: () => outer.dispose(),
      };
    },
    cam: /'sequential_55\/dense_Dense27' \(Dense\) applies activation 'relu'/,
  },
  {
    model: 'human-emotion',
    image: 'astronaut.png',
    crop: FACE,
    preprocess: { scale: [-1, 1] },
    expectHead: { kind: 'softmax', binary: false },
    expectLayer: `${G}/model_1/conv2d_5/BiasAdd`,
    reference: async (d) => graphReference(d, `${G}/model_1/conv2d_5/BiasAdd`, `${G}/model_1/global_average_pooling2d_1/Mean`, 'Identity'),
    cam: 'allowed',
    top1: 'happy', // Eileen Collins smiles; the zoo README's reference: happy ~ 0.999
    minTop1: 0.99,
  },
  {
    model: 'human-antispoof',
    image: 'astronaut.png',
    expectHead: { kind: 'sigmoid', binary: true },
    expectLayer: `${G}/sequential/activation_2/Relu`,
    reference: async (d) => {
      const r = await graphReference(d, `${G}/sequential/activation_2/Relu`, `${G}/sequential/dense_1/BiasAdd`, 'Identity');
      // The model's one sigmoid unit p is class 1; class 0 is 1 - p, with logit -z.
      return { ...r, probabilities: (x) => { const p = r.probabilities(x)[0]; return Float32Array.from([1 - p, p]); }, logits: (x, a) => tf.tidy(() => { const z = r.logits(x, a); return tf.concat([tf.neg(z), z], 1) as tf.Tensor2D; }) };
    },
    cam: /flatten\/Reshape' \(Reshape\) turns the 14x14x16 map into \[3136\]/,
  },
  {
    model: 'doodlenet',
    image: 'rocket.jpg',
    preprocess: { mean: [1], std: [-1] },
    expectHead: { kind: 'softmax', binary: false },
    expectLayer: 'max_pooling2d_2',
    reference: async (d) => chainReference(plainArtifacts(d), 'max_pooling2d_2', ['dropout', 'flatten', 'dense'], 'dense_1'),
    cam: /'flatten' \(Flatten\) turns the 3, 3, 64 map into 576/,
  },
  {
    model: 'catmood-cnn1-keras3',
    image: 'astronaut.png',
    expectHead: { kind: 'softmax', binary: false },
    expectLayer: 'conv2',
    reference: async (d) => chainReference(plainArtifacts(d, true), 'conv2', ['gap', 'dense1'], 'output'),
    cam: /'dense1' \(Dense\) applies activation 'relu'/,
  },
  {
    model: 'catmood-mobilenet25-keras3',
    image: 'astronaut.png',
    expectHead: { kind: 'softmax', binary: false },
    expectLayer: 'mobilenetv2_0.35_224/out_relu',
    reference: async (d) => {
      const outer = await tf.loadLayersModel({ load: async () => plainArtifacts(d, true) });
      const base = outer.getLayer('mobilenetv2_0.35_224') as unknown as tf.LayersModel;
      return {
        probabilities: (x) => tf.tidy(() => (outer.predict(x) as tf.Tensor).dataSync() as Float32Array),
        activation: (x) => base.predict(x) as tf.Tensor4D,
        logits: (_x, a) => dense(outer, 'dense_5', dense(outer, 'dense_4', tf.mean(a, [1, 2]), tf.relu)) as tf.Tensor2D,
        dispose: () => outer.dispose(),
      };
    },
    cam: /'dense_4' \(Dense\) applies activation 'relu'/,
  },
];

maybe('real published models (../shared/data/zoo)', () => {
  interface Reference0 {
    x: Float32Array;
    probabilities: Float32Array;
    gradcam: Map<number, Float32Array>;
  }
  const sessions = new Map<string, Session>();
  const inputs = new Map<string, tf.Tensor4D>();
  const refs = new Map<string, Reference0>();
  const explained = new Map<string, TensorExplanation>();

  beforeAll(async () => {
    // The tool, on its default backend: sessions, the exact preprocessed inputs, and its explanations.
    await initBackend('wasm');
    for (const c of CASES) {
      const s = await openSession({ model: path.join(ZOO, c.model), preprocess: c.preprocess });
      sessions.set(c.model, s);
      const file = path.join(DATA, 'images', c.image);
      const img = await decodeImage(c.crop ? await sharp(file).extract(c.crop).png().toBuffer() : file);
      const { x } = await prepareInput(s, img);
      inputs.set(c.model, x);
      const methods = c.cam === 'allowed' ? [getMethod('gradcam'), getMethod('cam')] : [getMethod('gradcam')];
      explained.set(c.model, explainTensor(s.model.classifier, x, { methods, layers: s.layers, topK: Math.min(3, s.model.classifier.numClasses), score: 'logit' }));
    }
    // The references, with plain tfjs on the pure-JS CPU backend, on the same inputs.
    await initBackend('cpu');
    for (const c of CASES) {
      const ref = await c.reference(path.join(ZOO, c.model));
      const xv = inputs.get(c.model)!.dataSync() as Float32Array;
      const x = tf.tensor4d(xv, inputs.get(c.model)!.shape);
      const gradcam = new Map<number, Float32Array>();
      const a = ref.activation(x);
      for (const cls of explained.get(c.model)!.classes) gradcam.set(cls, referenceGradCam(ref, x, a, cls));
      a.dispose();
      refs.set(c.model, { x: xv, probabilities: ref.probabilities(x), gradcam });
      x.dispose();
      ref.dispose();
    }
    await initBackend('wasm');
  }, 1_200_000);

  afterAll(() => {
    inputs.forEach((x) => x.dispose());
    sessions.forEach((s) => s.model.dispose());
  });

  for (const c of CASES) {
    describe(c.model, () => {
      test('head, default layer, and top-k probabilities equal plain tfjs to 1e-4', () => {
        const s = sessions.get(c.model)!;
        expect({ kind: s.model.classifier.head.kind, binary: s.model.classifier.head.binary }).toEqual(c.expectHead);
        expect(s.layers).toEqual([c.expectLayer]);
        const ex = explained.get(c.model)!;
        const ref = refs.get(c.model)!;
        expect(ex.probabilities.length).toBe(ref.probabilities.length);
        for (const t of ex.top) expect(Math.abs(t.probability - ref.probabilities[t.index])).toBeLessThan(1e-4);
        if (c.top1) {
          expect(s.labels[ex.top[0].index]).toBe(c.top1);
          expect(ex.top[0].probability).toBeGreaterThan(c.minTop1 ?? 0);
        }
      });

      test('Grad-CAM at the default layer equals tf.grad of the logit (correlation >= 0.999)', () => {
        const ex = explained.get(c.model)!;
        const ref = refs.get(c.model)!;
        for (const cls of ex.classes) {
          const ours = ex.maps.find((m) => m.method === 'gradcam' && m.classIndex === cls)!.raw[0].data;
          const theirs = ref.gradcam.get(cls)!;
          expect(ours.length).toBe(theirs.length);
          if (theirs.every((v) => v === 0)) {
            expect(Math.max(...ours)).toBeLessThan(1e-6);
            continue;
          }
          expect(correlation(ours, theirs)).toBeGreaterThanOrEqual(0.999);
        }
      });

      if (c.cam === 'allowed') {
        test('CAM equals Grad-CAM up to scale', () => {
          const ex = explained.get(c.model)!;
          for (const cls of ex.classes) {
            const g = ex.maps.find((m) => m.method === 'gradcam' && m.classIndex === cls)!.raw[0].data;
            const m = ex.maps.find((mm) => mm.method === 'cam' && mm.classIndex === cls)!.raw[0].data;
            if (g.every((v) => v === 0)) continue;
            expect(correlation(g, m)).toBeGreaterThanOrEqual(0.9999);
          }
        });
      } else {
        const why = c.cam;
        test('CAM is refused naming the layer in the way', () => {
          const s = sessions.get(c.model)!;
          const h = s.model.classifier.camHead(s.layers[0]);
          expect(h.kind).toBe('none');
          if (h.kind === 'none') expect(h.reason).toMatch(why);
        });
      }
    });
  }

  test('Teachable Machine: labels and preprocessing come from metadata.json, and say so', () => {
    const s = sessions.get('tm-aircraft')!;
    expect(s.labels).toEqual(['a320', 'a321', 'a400m', 'a340', '777', '747']);
    expect(s.labelsSource).toBe('Teachable Machine metadata.json');
    expect(s.preprocess.scale).toEqual([-1, 1]);
    expect(s.preprocess.resize).toBe('crop');
    expect(s.preprocess.sources.scale).toBe('Teachable Machine metadata.json');
  });

  test('the malformed Keras 3 topology is refused within seconds, naming the layer', async () => {
    const t0 = Date.now();
    await expect(loadModelFrom(path.join(ZOO, 'catmood-cnn1-malformed'))).rejects.toThrow(/model\.json: layer 'conv1': inbound node 0 holds an object where \[layer name, node index, tensor index\] was expected/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('a channels-first model is refused with a line that says channels-first', async () => {
    await expect(loadModelFrom(path.join(ZOO, 'mnist-channels-first'))).rejects.toThrow(/the model is channels-first \(layer 'conv2d_39' has data_format channels_first/);
  });
});
