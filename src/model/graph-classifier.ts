/**
 * A GraphModel (tfjs-converter format) as a Classifier. GraphModel.execute treats any fed node name as given,
 * so the head pass feeds the target node and the nodes the rest of the graph reads around it ("crossing"
 * nodes), found from the graph's own node list.
 */
import * as tf from '@tensorflow/tfjs';
import { CamHead, camHeadFromRule, Classifier, ForwardPass, LayerInfo, resolveLayerName, tileBatch } from './classifier';
import { camRule, HeadInfo, HeadStep, isClassVector, presentLogits } from './head';
import { ModelError } from '../util/errors';
import { Affine, AffineStep, InputRange, rangeOfSteps, showAffine } from './input-range';

// The parts of tfjs-converter's internal graph we read.
interface GNode {
  name: string;
  op: string;
  inputs: GNode[];
  children: GNode[];
  attrParams: Record<string, { value?: unknown }>;
}
interface GGraph {
  nodes: Record<string, GNode>;
  inputs: GNode[];
  outputs: GNode[];
  weights: GNode[];
}

/** Ops that pass a value on unchanged. */
const IDENTITY_OPS = new Set(['Identity', 'StopGradient', 'Snapshot', 'PreventGradient']);
/** Ops that only reshape: the same values in the same order. */
const RESHAPE_OPS = new Set(['Reshape', 'Squeeze', 'ExpandDims']);
const CONST_OPS = new Set(['Const']);
/** Ops that pool over height and width when their input is spatial: the default embedding of similar-to targets. */
const GLOBAL_POOL_OPS = new Set(['Mean', 'Max']);

function attr<T>(n: GNode, name: string): T | undefined {
  return n.attrParams[name]?.value as T | undefined;
}

/** The ops a fused node applies after its main op, lower-cased ('biasadd', 'relu', ...). */
function fusedOps(n: GNode): string[] {
  return (attr<string[]>(n, 'fusedOps') ?? []).map((o) => String(o).toLowerCase());
}

export class GraphClassifier implements Classifier {
  readonly format = 'graph-model' as const;
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  readonly softmaxSteppedOver: boolean;
  readonly head: HeadInfo;
  private readonly rawClasses: number;
  private readonly graph: GGraph;
  private readonly inputName: string;
  private readonly logitsNode: GNode;
  private shapes: Map<string, number[]> | null = null;
  private readonly batchFixedTo1: boolean;
  inputRange: InputRange | null = null;

  /** A view shares its model with the classifier it came from (see outputView). */
  private readonly shared: boolean;

  /** `outputAt`: makes a view (Classifier.outputView) whose logits are this node's output (null: the model's raw output). */
  constructor(
    private readonly model: tf.GraphModel,
    outputAt?: { node: string | null },
  ) {
    this.shared = !!outputAt;
    this.graph = (model as unknown as { executor: { graph: GGraph } }).executor.graph;
    if (model.inputs.length !== 1) throw new ModelError(`the model has ${model.inputs.length} inputs; only single-input image classifiers are supported`);
    if (model.outputs.length !== 1) throw new ModelError(`the model has ${model.outputs.length} outputs; only single-output classifiers are supported`);
    const input = model.inputs[0];
    this.inputName = input.name;
    const shape = input.shape ?? [];
    if (shape.length !== 4) throw new ModelError(`not an image model: input shape is [${shape.join(', ')}], expected [batch, height, width, channels]`);
    const [, h, w, c] = shape;
    if (!(h > 0 && w > 0 && c > 0)) throw new ModelError(`the model's input size is not fixed ([${shape.join(', ')}])`);
    this.inputShape = [h, w, c];
    this.batchFixedTo1 = shape[0] === 1;
    for (const n of Object.values(this.graph.nodes)) {
      const f = attr<string>(n, 'dataFormat');
      if (typeof f === 'string' && f.toUpperCase() === 'NCHW') {
        throw new ModelError(`the model is channels-first (op '${n.name}' has data_format NCHW; input [${shape.join(', ')}]): only channels-last (height, width, channels) models are supported`);
      }
    }
    // The logits: back from the output over identity and reshape ops to a Softmax or Sigmoid, stepped over.
    let out = this.graph.nodes[model.outputs[0].name.split(':')[0]];
    let t = out;
    while ((IDENTITY_OPS.has(t.op) || RESHAPE_OPS.has(t.op)) && t.inputs.length >= 1) t = t.inputs[0];
    let kind: HeadInfo['kind'] = 'linear';
    let activationAt: string | undefined;
    if (t.op === 'Softmax' || t.op === 'Sigmoid') {
      out = t.inputs[0];
      kind = t.op === 'Softmax' ? 'softmax' : 'sigmoid';
      activationAt = `'${t.name}' (${t.op})`;
    } else if ((t.op === '_FusedMatMul' || t.op === '_FusedConv2D') && fusedOps(t).at(-1) === 'sigmoid') {
      // A sigmoid fused into the last MatMul/Conv has no tensor before it: run that node without it (the
      // executor reads the node's fused ops when it runs) and apply the sigmoid ourselves.
      t.attrParams.fusedOps.value = fusedOps(t).slice(0, -1);
      out = t;
      kind = 'sigmoid';
      activationAt = `'${t.name}' (${t.op} with a fused sigmoid)`;
    }
    if (outputAt) {
      if (outputAt.node != null) out = this.graph.nodes[outputAt.node];
      kind = 'linear';
      activationAt = undefined;
    }
    this.logitsNode = out;
    this.head = { kind, binary: false, ...(activationAt ? { activationAt } : {}) };
    const probe = tf.tidy(() => this.model.execute({ [this.inputName]: tf.zeros([1, h, w, c]) }, this.logitsNode.name) as tf.Tensor);
    const rawShape = probe.shape.slice(1);
    probe.dispose();
    if (outputAt) {
      // A view's logits are its node's values, flattened.
      this.rawClasses = this.numClasses = rawShape.reduce((a, d) => a * d, 1);
      this.softmaxSteppedOver = false;
      this.nodeShapes();
      return;
    }
    if (!isClassVector(rawShape)) {
      if (kind === 'linear') throw new ModelError(`the model's output shape is [${['batch', ...rawShape].join(', ')}], expected [batch, classes]`);
      // A softmax over something that is not one vector of classes is not a classifier's: leave it in place.
      throw new ModelError(`the model's ${kind} at ${activationAt} acts on shape [${rawShape.join(', ')}], not on one vector of class scores`);
    }
    const raw = rawShape[rawShape.length - 1];
    this.rawClasses = raw;
    this.head.binary = kind === 'sigmoid' && raw === 1;
    this.numClasses = this.head.binary ? 2 : raw;
    this.softmaxSteppedOver = kind === 'softmax';
    // Run every node once now (the shapes are needed anyway): a graph that cannot run fails at load, named as a
    // model error, not later with a bare tfjs message.
    this.nodeShapes();
    this.inputRange = rangeOfSteps(this.inputSteps());
  }

  /**
   * The ops right after the input that multiply, divide, add or subtract constants (a scalar, or one value per
   * channel), stepping over identities; the chain ends at the first other op (a convolution), and is empty where a
   * node on the way feeds more than one op or a constant has another shape (see ./input-range.ts).
   */
  private inputSteps(): AffineStep[] {
    const channels = this.inputShape[2];
    const steps: AffineStep[] = [];
    let current = this.graph.nodes[this.inputName.split(':')[0]];
    for (let guard = 0; current && guard < 64; guard++) {
      // Constants hung on the input by a control dependency (converted TF-Hub graphs have them) compute nothing from it.
      const next = current.children.filter((n) => !CONST_OPS.has(n.op));
      if (next.length !== 1) return next.length > 1 ? [] : steps;
      const n = next[0];
      if (IDENTITY_OPS.has(n.op)) {
        current = n;
        continue;
      }
      if (!['Mul', 'Add', 'AddV2', 'BiasAdd', 'Sub', 'RealDiv', 'Div'].includes(n.op) || n.inputs.length !== 2) return steps;
      const k = n.inputs[0] === current ? 1 : n.inputs[1] === current ? 0 : -1;
      const c = k < 0 ? null : this.constValues(n.inputs[k]);
      // One value, or one per channel along the last axis (every other axis 1).
      const perChannel = c != null && c.values.length === channels && c.shape.slice(0, -1).every((d) => d === 1);
      if (!c || !(c.values.length === 1 || perChannel)) return [];
      const v = Array.from(c.values);
      let map: Affine;
      if (n.op === 'Mul') map = { a: v, b: [0] };
      else if (n.op === 'Add' || n.op === 'AddV2' || n.op === 'BiasAdd') map = { a: [1], b: v };
      else if (n.op === 'Sub') map = k === 1 ? { a: [1], b: v.map((x) => -x) } : { a: [-1], b: v };
      else if (k === 1) map = { a: v.map((x) => 1 / x), b: [0] };
      else return []; // constant / x is not affine
      steps.push({ what: `op '${n.name}' (${n.op} ${showAffine(map)})`, map });
      current = n;
    }
    return steps;
  }

  /** Nodes between the input and the logits, in topological order (constants left out). */
  private order(): GNode[] {
    const out: GNode[] = [];
    const seen = new Set<string>();
    const visit = (n: GNode) => {
      if (seen.has(n.name)) return;
      seen.add(n.name);
      for (const i of n.inputs) visit(i);
      if (!CONST_OPS.has(n.op)) out.push(n);
    };
    visit(this.logitsNode);
    return out;
  }

  /** Output shapes of every node, learnt once by running the graph on zeros (static shapes are often unknown). */
  private nodeShapes(): Map<string, number[]> {
    if (this.shapes) return this.shapes;
    const nodes = this.order().filter((n) => n.op !== 'Placeholder');
    const [h, w, c] = this.inputShape;
    const shapes = new Map<string, number[]>();
    tf.tidy(() => {
      const outs = this.model.execute({ [this.inputName]: tf.zeros([1, h, w, c]) }, nodes.map((n) => n.name)) as tf.Tensor[];
      nodes.forEach((n, i) => shapes.set(n.name, outs[i].shape));
    });
    shapes.set(this.inputName, [1, h, w, c]);
    this.shapes = shapes;
    return shapes;
  }

  private isSpatial(shape: number[] | undefined): boolean {
    return shape != null && shape.length === 4 && shape[1] * shape[2] > 1;
  }

  private node(name: string): GNode {
    return this.graph.nodes[this.resolveLayer(name)];
  }

  resolveLayer(name: string): string {
    const n = this.graph.nodes[name];
    if (n && !CONST_OPS.has(n.op)) return name;
    return resolveLayerName(name, this.order().map((x) => ({ name: x.name })), 'node');
  }

  layers(): LayerInfo[] {
    const shapes = this.nodeShapes();
    return this.order().map((n) => {
      const s = shapes.get(n.name) ?? [];
      return { name: n.name, type: n.op, outputShape: s.slice(1), spatial: this.isSpatial(s) };
    });
  }

  defaultTargetLayer(): string {
    const shapes = this.nodeShapes();
    const queue: GNode[] = [this.logitsNode];
    const seen = new Set<string>();
    while (queue.length) {
      let n = queue.shift()!;
      if (seen.has(n.name) || CONST_OPS.has(n.op)) continue;
      seen.add(n.name);
      if (this.isSpatial(shapes.get(n.name)) && n.op !== 'Placeholder') {
        // An Identity only repeats its input: the op that computed it is the target.
        while (IDENTITY_OPS.has(n.op) && n.inputs[0] && n.inputs[0].op !== 'Placeholder' && this.isSpatial(shapes.get(n.inputs[0].name))) n = n.inputs[0];
        return n.name;
      }
      queue.push(...n.inputs);
    }
    throw new ModelError('the model has no node with a spatial (height x width x channels) output on the way to its logits: class activation maps need one');
  }

  private crossing(target: GNode): GNode[] {
    const order = this.order();
    const downstream = new Set<string>([target.name]);
    for (const n of order) if (n.inputs.some((i) => downstream.has(i.name))) downstream.add(n.name);
    const crossing = new Map<string, GNode>();
    for (const n of order) {
      if (!downstream.has(n.name) || n.name === target.name) continue;
      for (const i of n.inputs) if (!downstream.has(i.name) && !CONST_OPS.has(i.op)) crossing.set(i.name, i);
    }
    return [...crossing.values()];
  }

  /** The values of a Const node (weights, axes), or null for a computed input. */
  private constValues(n: GNode | undefined): { values: Float32Array | Int32Array; shape: number[] } | null {
    if (!n || !CONST_OPS.has(n.op)) return null;
    const t = this.model.weights[n.name]?.[0];
    return t ? { values: t.dataSync() as Float32Array | Int32Array, shape: t.shape } : null;
  }

  /** One op after the target, described for CAM (see head.ts). `input` is the node it reads. */
  private headStep(n: GNode, input: GNode): HeadStep {
    const shapes = this.nodeShapes();
    const inShape = shapes.get(input.name) ?? [];
    const outShape = shapes.get(n.name) ?? [];
    const spatialIn = this.isSpatial(inShape);
    const at = n.name;
    const type = n.op;
    const blocker = (why: string): HeadStep => ({ kind: 'blocker', at, type, why });
    const consts = n.inputs.filter((i) => CONST_OPS.has(i.op));
    const linearFused = () => fusedOps(n).every((o) => o === 'biasadd');
    if (IDENTITY_OPS.has(n.op)) return { kind: 'pass', at, type };
    if (RESHAPE_OPS.has(n.op)) {
      return spatialIn ? blocker(`turns the ${inShape.slice(1).join('x')} map into [${outShape.slice(1).join(', ')}]: what follows weighs each position separately, which CAM cannot express`) : { kind: 'pass', at, type };
    }
    if (n.op === 'Mean') {
      const axes = Array.from(this.constValues(n.inputs[1])?.values ?? []).map((a) => (a < 0 ? a + inShape.length : a));
      return axes.length === 2 && axes.includes(1) && axes.includes(2) ? { kind: 'gap', at, type } : blocker(`averages over axes [${axes.join(', ')}], not over height and width`);
    }
    if (n.op === 'AvgPool') {
      const k = attr<number[]>(n, 'kernelSize') ?? [];
      const whole = k[1] === inShape[1] && k[2] === inShape[2] && outShape[1] === 1 && outShape[2] === 1;
      return whole ? { kind: 'gap', at, type } : blocker(`averages ${k.slice(1, 3).join('x')} windows, not the whole ${inShape[1]}x${inShape[2]} map`);
    }
    if (n.op === 'MaxPool' || n.op === 'Max') return blocker('takes a maximum, which is not linear');
    if (n.op === 'MatMul' || n.op === '_FusedMatMul') {
      if (!linearFused()) return blocker(`applies ${fusedOps(n).filter((o) => o !== 'biasadd').join(', ')}, which is not linear`);
      const w = this.constValues(n.inputs[1]);
      if (!w || attr<boolean>(n, 'transposeA')) return blocker('multiplies by a computed tensor, not by fixed weights');
      let [rows, cols] = w.shape;
      let values = Float32Array.from(w.values);
      if (attr<boolean>(n, 'transposeB')) {
        const t = new Float32Array(values.length);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = values[i * cols + j];
        values = t;
        [rows, cols] = [cols, rows];
      }
      return { kind: 'linear', at, type, weights: values, rows, cols };
    }
    if (n.op === 'Conv2D' || n.op === '_FusedConv2D') {
      if (!linearFused()) return blocker(`applies ${fusedOps(n).filter((o) => o !== 'biasadd').join(', ')}, which is not linear`);
      const f = this.constValues(n.inputs[1]);
      if (!f) return blocker('convolves with a computed filter');
      const [kh, kw, rows, cols] = f.shape;
      const strides = attr<number[]>(n, 'strides') ?? [1, 1, 1, 1];
      if (kh === 1 && kw === 1 && (!spatialIn || strides.every((v) => v === 1))) return { kind: 'linear', at, type, weights: Float32Array.from(f.values), rows, cols };
      return blocker(`is a ${kh}x${kw} convolution: it mixes neighbouring positions`);
    }
    if (['BiasAdd', 'Add', 'AddV2', 'Sub'].includes(n.op) && consts.length === n.inputs.length - 1) return { kind: 'bias', at, type };
    if (n.op === 'Mul' && consts.length === 1 && n.inputs.length === 2) {
      const c = this.constValues(consts[0])!;
      const channels = inShape[inShape.length - 1];
      if (c.values.length === 1) return { kind: 'scale', at, type, scale: new Float32Array(channels).fill(c.values[0]) };
      if (c.values.length === channels) return { kind: 'scale', at, type, scale: Float32Array.from(c.values) };
      return blocker('multiplies by a constant that is not one value per channel');
    }
    if (n.inputs.filter((i) => !CONST_OPS.has(i.op)).length > 1) return blocker('combines the target with other tensors');
    return blocker('is not a linear op');
  }

  camHead(layer: string): CamHead {
    const target = this.node(layer);
    const onPath = new Set(this.order().map((n) => n.name));
    const next = (n: GNode) => n.children.filter((c) => onPath.has(c.name));
    const steps: HeadStep[] = [];
    let n = target;
    while (n.name !== this.logitsNode.name) {
      const cs = next(n);
      if (cs.length !== 1) return { kind: 'none', reason: `the output of '${n.name}' feeds ${cs.length} nodes (a branching head)` };
      const step = this.headStep(cs[0], n);
      steps.push(step);
      if (step.kind === 'blocker') break;
      n = cs[0];
    }
    const shape = this.nodeShapes().get(target.name) ?? [];
    return camHeadFromRule(camRule(target.name, steps, shape[shape.length - 1] ?? 0, this.rawClasses), this.head);
  }

  outputView(layer: string | null): Classifier {
    return new GraphClassifier(this.model, { node: layer == null ? null : this.resolveLayer(layer) });
  }

  defaultEmbeddingLayer(): string {
    // Breadth-first back from the logits: the mean (or max) over height and width nearest to them.
    const queue: GNode[] = [this.logitsNode];
    const seen = new Set<string>();
    while (queue.length) {
      const n = queue.shift()!;
      if (seen.has(n.name) || CONST_OPS.has(n.op)) continue;
      seen.add(n.name);
      if (GLOBAL_POOL_OPS.has(n.op)) {
        const shape = this.nodeShapes().get(n.inputs[0]?.name ?? '');
        if (this.isSpatial(shape)) return n.name;
      }
      queue.push(...n.inputs);
    }
    throw new ModelError('the model has no global pooling op (Mean or Max over height and width) on the way to its logits, the default embedding layer');
  }

  predict(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => presentLogits(this.rowByRow(x.shape[0], (r) => this.model.execute({ [this.inputName]: r(x) }, this.logitsNode.name) as tf.Tensor2D), this.head));
  }

  /**
   * Converted models often fix the batch size to 1 ([1, 224, 224, 3]); the executor then refuses the batches that
   * top-k gradients and Score-CAM run. Those models get one row at a time, concatenated (tfjs can differentiate
   * through both), instead of failing every image with "must be [1,...], but was [3,...]".
   */
  private rowByRow(n: number, run: (row: <T extends tf.Tensor>(t: T) => T) => tf.Tensor2D): tf.Tensor2D {
    if (!(this.batchFixedTo1 && n > 1)) return run((t) => t);
    return tf.tidy(() => tf.concat(Array.from({ length: n }, (_, i) => run((t) => (t.shape[0] === n ? tf.slice(t, i, 1) : t))), 0));
  }

  forward(x: tf.Tensor4D, layerNames: string[]): ForwardPass {
    const targets = layerNames.map((n) => this.node(n));
    const crossings = targets.map((t) => this.crossing(t));
    const names = [...new Set([this.logitsNode.name, ...targets.map((t) => t.name), ...crossings.flat().map((c) => c.name)])];
    const fetch = names.filter((n) => n !== this.inputName);
    const outs = this.model.execute({ [this.inputName]: x }, fetch) as tf.Tensor[];
    const byName = new Map<string, tf.Tensor>();
    fetch.forEach((n, i) => byName.set(n, outs[i]));
    if (names.includes(this.inputName)) byName.set(this.inputName, x.clone());
    const logits = presentLogits(byName.get(this.logitsNode.name)!, this.head);
    return {
      logits,
      activations: targets.map((t) => byName.get(t.name) as tf.Tensor4D),
      head: (i: number, a: tf.Tensor4D) => {
        const n = a.shape[0];
        const feeds: Record<string, tf.Tensor> = { [targets[i].name]: a };
        for (const c of crossings[i]) feeds[c.name] = tileBatch(byName.get(c.name)!, n);
        // The graph executor wants a value for the model input even when nothing reads it.
        if (!(this.inputName in feeds)) feeds[this.inputName] = tf.zeros([n, ...this.inputShape]);
        return tf.tidy(() =>
          presentLogits(
            this.rowByRow(n, (row) => {
              const fed: Record<string, tf.Tensor> = {};
              for (const [k, v] of Object.entries(feeds)) fed[k] = row(v);
              return this.model.execute(fed, this.logitsNode.name) as tf.Tensor2D;
            }),
            this.head,
          ),
        );
      },
      dispose: () => {
        for (const v of new Set([...byName.values(), logits])) v.dispose();
      },
    };
  }

  randomizeWeights(): void {
    throw new ModelError('shuffling weights is supported for layers models only');
  }

  dispose(): void {
    if (!this.shared) this.model.dispose();
  }
}
