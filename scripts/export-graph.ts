/**
 * Writes models/resnet-bn-graph: the trained models/resnet-bn LayersModel as a tfjs GraphModel
 * (tfjs-converter's format: "format": "graph-model", a GraphDef-as-JSON node list, weights by Const node name).
 *
 *   npm run build && node dist/scripts/export-graph.js [--from models/resnet-bn] [--to models/resnet-bn-graph]
 *
 * Why our own exporter: the real converter is Python (tensorflowjs_converter) and needs TensorFlow, which this
 * project's machines cannot install; a GraphModel is what most published tfjs models are, so the tool needs one
 * to test against.
 *
 * Each layer becomes plain TensorFlow ops named after it, so reports read the same for both formats:
 *   Conv2D           -> <conv> (Conv2D) [+ <conv>/BiasAdd] [+ <conv>/Relu]
 *   BatchNormalization after a Conv2D it alone reads -> folded into that conv's filter, then <bn> (BiasAdd)
 *   Activation relu  -> <name> (Relu); MaxPooling2D -> MaxPool; Add -> AddV2
 *   GlobalAveragePooling2D -> <name> (Mean over axes 1, 2); Dense -> <name>/MatMul + <name> (BiasAdd) [+ Softmax]
 * Folding: y = gamma * (conv(x, W) + b - mean) / sqrt(var + eps) + beta = conv(x, W * s) + (beta + (b - mean) * s)
 * with s = gamma / sqrt(var + eps) per output channel, computed in float64.
 *
 * The script checks that tf.loadGraphModel on the written files gives the layers model's logits (max abs diff
 * < 1e-4) on 256 evaluation canvases and prints the difference, checks that the sidecar's target node runs, and
 * writes the graph's own accuracy on the 10,000 test canvases into its sidecar.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { EVAL_SEED, loadMnist, makeEvalCanvases, seededCanvas } from './data/clutter';
import { predictAll, streamingAccuracy } from './lib/evaluate';
import { fileLoader, modelBytes, writeArtifacts } from './lib/model-io';
import { readModelSidecar, writeSidecar } from './lib/sidecar';

// GraphDef-as-JSON, as tfjs-converter writes it (attribute strings base64, integers as decimal strings).
interface AttrValue {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: string[]; s?: string[] };
  shape?: { dim: { size: string }[] };
  tensor?: { dtype: string; tensorShape: { dim: { size: string }[] } };
}
interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

// The parts of a Keras-format layer config we read.
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, object][][];
}

export const str = (v: string): AttrValue => ({ s: Buffer.from(v).toString('base64') });
export const ints = (v: number[]): AttrValue => ({ list: { i: v.map(String) } });
export const FLOAT: AttrValue = { type: 'DT_FLOAT' };

export class GraphWriter {
  readonly nodes: NodeDef[] = [];
  readonly weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }[] = [];

  op(name: string, op: string, input: string[], attr: Record<string, AttrValue> = {}): string {
    if (this.nodes.some((n) => n.name === name)) throw new Error(`duplicate node name ${name}`);
    this.nodes.push({ name, op, input, attr: { T: FLOAT, ...attr } });
    return name;
  }

  /** A Const node whose value is stored in the weights file under the node's name. */
  constant(name: string, shape: number[], data: Float32Array | Int32Array): string {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    const type = dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    // As the converter writes it: the value's dtype and shape here, its data in the weights file.
    const value = { tensor: { dtype: type, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } };
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type }, value } });
    this.weights.push({ name, shape, dtype, data });
    return name;
  }

  artifacts(): tf.io.ModelArtifacts {
    const bytes = this.weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    const all = Buffer.concat(bytes);
    return {
      format: 'graph-model',
      generatedBy: `tfjs-layers v${tf.version_layers}`,
      convertedBy: 'tfjs-cam scripts/export-graph.ts',
      modelTopology: { node: this.nodes, library: {}, versions: { producer: 1 } },
      weightSpecs: this.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })),
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    };
  }
}

function single<T>(xs: T[], what: string): T {
  if (xs.length !== 1) throw new Error(`${what}: expected exactly one, got ${xs.length}`);
  return xs[0];
}

/** Converts a functional LayersModel (the layer kinds our models use) into a GraphDef node list. */
export function layersToGraph(model: tf.LayersModel, topology: { config: { layers: LayerJson[] } }): GraphWriter {
  const g = new GraphWriter();
  const layers = topology.config.layers;
  const inputsOf = (l: LayerJson) => (l.inbound_nodes[0] ?? []).map((n) => n[0]);
  const readers = new Map<string, number>();
  for (const l of layers) for (const i of inputsOf(l)) readers.set(i, (readers.get(i) ?? 0) + 1);
  // Graph tensor (node name) that holds each layer's output.
  const out = new Map<string, string>();
  const values = (name: string) => model.getLayer(name).getWeights().map((w) => w.dataSync() as Float32Array);
  // Convs whose BatchNormalization is folded in: their filter is written when the BN is reached.
  const pendingConv = new Map<string, { input: string; kernel: Float32Array; shape: number[]; bias: Float32Array | null; attr: Record<string, AttrValue> }>();

  for (const l of layers) {
    const c = l.config;
    const ins = inputsOf(l).map((n) => {
      const t = out.get(n);
      if (t == null) throw new Error(`${l.name}: input ${n} not converted`);
      return t;
    });
    switch (l.class_name) {
      case 'InputLayer': {
        const shape = (c.batch_input_shape as (number | null)[]).map((d) => ({ size: String(d ?? -1) }));
        g.nodes.push({ name: l.name, op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: { dim: shape } } } });
        out.set(l.name, l.name);
        break;
      }
      case 'Conv2D': {
        if ((c.dilation_rate as number[]).some((d) => d !== 1)) throw new Error(`${l.name}: dilated convolutions are not handled`);
        const [kernel, bias] = values(l.name);
        const kshape = model.getLayer(l.name).getWeights()[0].shape;
        const strides = c.strides as number[];
        const attr = {
          strides: ints([1, strides[0], strides[1], 1]),
          padding: str((c.padding as string).toUpperCase()),
          data_format: str('NHWC'),
          dilations: ints([1, 1, 1, 1]),
          explicit_paddings: ints([]),
        };
        const consumers = layers.filter((x) => inputsOf(x).includes(l.name));
        const foldable = consumers.length === 1 && consumers[0].class_name === 'BatchNormalization' && c.activation === 'linear';
        if (foldable) {
          pendingConv.set(l.name, { input: single(ins, l.name), kernel, shape: kshape, bias: c.use_bias ? bias : null, attr });
          out.set(l.name, `(folded ${l.name})`);
          break;
        }
        let t = g.op(l.name, 'Conv2D', [single(ins, l.name), g.constant(`${l.name}/kernel`, kshape, kernel)], attr);
        if (c.use_bias) t = g.op(`${l.name}/BiasAdd`, 'BiasAdd', [t, g.constant(`${l.name}/bias`, [bias.length], bias)], { data_format: str('NHWC') });
        out.set(l.name, activation(g, l.name, c.activation as string, t));
        break;
      }
      case 'BatchNormalization': {
        const src = single(inputsOf(l), l.name);
        const conv = pendingConv.get(src);
        if (!conv) throw new Error(`${l.name}: BatchNormalization not after a foldable Conv2D`);
        const bnWeights = model.getLayer(l.name).weights;
        const get = (suffix: string) => bnWeights.find((v) => v.name.endsWith(suffix))?.read().dataSync() as Float32Array | undefined;
        const [gamma, beta, mean, variance] = [get('gamma'), get('beta'), get('moving_mean'), get('moving_variance')];
        if (!mean || !variance) throw new Error(`${l.name}: moving statistics not found`);
        const eps = c.epsilon as number;
        const co = mean.length;
        const kernel = new Float32Array(conv.kernel.length);
        const shift = new Float32Array(co);
        for (let o = 0; o < co; o++) {
          const s = (gamma ? gamma[o] : 1) / Math.sqrt(variance[o] + eps);
          for (let k = o; k < kernel.length; k += co) kernel[k] = conv.kernel[k] * s; // kernel is [kh, kw, ci, co]
          shift[o] = (beta ? beta[o] : 0) + ((conv.bias ? conv.bias[o] : 0) - mean[o]) * s;
        }
        const t = g.op(src, 'Conv2D', [conv.input, g.constant(`${src}/kernel`, conv.shape, kernel)], conv.attr);
        out.set(l.name, g.op(l.name, 'BiasAdd', [t, g.constant(`${l.name}/bias`, [co], shift)], { data_format: str('NHWC') }));
        pendingConv.delete(src);
        break;
      }
      case 'Activation':
        out.set(l.name, activation(g, l.name, c.activation as string, single(ins, l.name), true));
        break;
      case 'MaxPooling2D': {
        const [ph, pw] = c.pool_size as number[];
        const [sh, sw] = c.strides as number[];
        out.set(l.name, g.op(l.name, 'MaxPool', [single(ins, l.name)], {
          ksize: ints([1, ph, pw, 1]), strides: ints([1, sh, sw, 1]), padding: str((c.padding as string).toUpperCase()), data_format: str('NHWC'),
        }));
        break;
      }
      case 'Add': {
        if (ins.length !== 2) throw new Error(`${l.name}: only two-input Add is handled`);
        out.set(l.name, g.op(l.name, 'AddV2', ins));
        break;
      }
      case 'GlobalAveragePooling2D': {
        const axes = g.constant(`${l.name}/reduction_indices`, [2], Int32Array.from([1, 2]));
        out.set(l.name, g.op(l.name, 'Mean', [single(ins, l.name), axes], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } }));
        break;
      }
      case 'Dense': {
        const [kernel, bias] = values(l.name);
        const kshape = model.getLayer(l.name).getWeights()[0].shape;
        let t = g.op(`${l.name}/MatMul`, 'MatMul', [single(ins, l.name), g.constant(`${l.name}/kernel`, kshape, kernel)], {
          transpose_a: { b: false }, transpose_b: { b: false },
        });
        const act = c.activation as string;
        if (c.use_bias) t = g.op(act === 'linear' ? l.name : `${l.name}/BiasAdd`, 'BiasAdd', [t, g.constant(`${l.name}/bias`, [bias.length], bias)], { data_format: str('NHWC') });
        out.set(l.name, activation(g, l.name, act, t));
        break;
      }
      default:
        throw new Error(`${l.name}: layer class ${l.class_name} is not handled by this exporter`);
    }
  }
  if (pendingConv.size) throw new Error(`unfolded convolutions left: ${[...pendingConv.keys()].join(', ')}`);
  return g;
}

/** Appends the activation as its own node; `ownName` gives the node the layer's name (Activation layers). */
function activation(g: GraphWriter, layer: string, act: string, t: string, ownName = false): string {
  switch (act) {
    case 'linear':
      return t;
    case 'relu':
      return g.op(ownName ? layer : `${layer}/Relu`, 'Relu', [t]);
    case 'softmax':
      return g.op(ownName ? layer : `${layer}/Softmax`, 'Softmax', [t]);
    default:
      throw new Error(`${layer}: activation ${act} is not handled`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (flag: string, def: string) => {
    const i = args.indexOf(flag);
    return i >= 0 && args[i + 1] ? args[i + 1] : def;
  };
  const from = opt('--from', path.join('models', 'resnet-bn'));
  const to = opt('--to', path.join('models', 'resnet-bn-graph'));
  await initBackend('wasm');

  const layersModel = await tf.loadLayersModel(fileLoader(from));
  const json = JSON.parse(fs.readFileSync(path.join(from, 'model.json'), 'utf8'));
  const topology = json.modelTopology.model_config ?? json.modelTopology;
  const graph = layersToGraph(layersModel, topology);
  writeArtifacts(to, graph.artifacts());

  const gm = await tf.loadGraphModel(fileLoader(to));
  console.log(`${to}: ${graph.nodes.length} nodes (${graph.weights.length} Const), ${(modelBytes(to) / 1024).toFixed(0)} KiB`);

  // The GraphModel must compute what the LayersModel computes.
  const canvases = makeEvalCanvases(256);
  const a = predictAll(layersModel, canvases);
  const b = predictAll(gm, canvases);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  console.log(`GraphModel vs LayersModel logits on ${canvases.length} evaluation canvases: max abs diff ${diff.toExponential(2)} (largest |logit| ${scale.toFixed(2)})`);
  if (!(diff < 1e-4)) throw new Error(`the exported graph differs from the layers model (max abs diff ${diff})`);

  // The sidecar's target node must exist and be computable from the input alone.
  const sidecar = readModelSidecar(from);
  const inputShape = [1, ...layersModel.inputs[0].shape.slice(1)] as number[];
  const target = tf.tidy(() => (gm.execute(tf.zeros(inputShape), sidecar.layer) as tf.Tensor).shape);
  console.log(`default target node ${sidecar.layer}: output [${target.join(', ')}]`);

  // Its own accuracy on the 10,000 test canvases (the figure train.ts reports for the layers models).
  const test = loadMnist('test');
  const accuracy = streamingAccuracy(gm, test.count, (i) => seededCanvas(test, i, EVAL_SEED));
  console.log(`GraphModel accuracy ${(100 * accuracy).toFixed(2)}% on ${test.count} canvases of MNIST test digits (layers model: ${(100 * sidecar.trainedAccuracy).toFixed(2)}%)`);
  writeSidecar(to, {
    ...sidecar,
    trainedAccuracy: Math.round(accuracy * 10000) / 10000,
    description:
      `${sidecar.description} Exported as a tfjs GraphModel by scripts/export-graph.ts (BatchNormalization folded into ` +
      `the convolutions: each BN layer is a BiasAdd node named after it); the target node ${sidecar.layer} is a Relu.`,
  });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
