/**
 * A GraphModel (tfjs-converter format) as a Classifier. GraphModel.execute treats any fed node name as given,
 * so the head pass feeds the target node and the nodes the rest of the graph reads around it ("crossing"
 * nodes), found from the graph's own node list.
 */
import * as tf from '@tensorflow/tfjs';
import { CamHead, Classifier, ForwardPass, LayerInfo, tileBatch } from './classifier';
import { ModelError } from '../util/errors';
import { closestNames } from '../util/suggest';

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

const PASS_THROUGH_OPS = new Set(['Identity', 'Reshape', 'Squeeze', 'StopGradient', 'Snapshot']);
const CONST_OPS = new Set(['Const']);

export class GraphClassifier implements Classifier {
  readonly format = 'graph-model' as const;
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  readonly softmaxSteppedOver: boolean;
  private readonly graph: GGraph;
  private readonly inputName: string;
  private readonly logitsNode: GNode;
  private shapes: Map<string, number[]> | null = null;
  private readonly batchFixedTo1: boolean;

  constructor(private readonly model: tf.GraphModel) {
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
    let out = this.graph.nodes[model.outputs[0].name.split(':')[0]];
    let stepped = false;
    if (out.op === 'Softmax') {
      out = out.inputs[0];
      stepped = true;
    }
    this.logitsNode = out;
    this.softmaxSteppedOver = stepped;
    const probe = tf.tidy(() => this.predict(tf.zeros([1, h, w, c])));
    if (probe.shape.length !== 2) throw new ModelError(`the model's output shape is [${probe.shape.join(', ')}], expected [batch, classes]`);
    this.numClasses = probe.shape[1];
    probe.dispose();
    // Run every node once now (the shapes are needed anyway): a graph that cannot run fails at load, named as a
    // model error, not later with a bare tfjs message.
    this.nodeShapes();
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
    const n = this.graph.nodes[name];
    if (n && !CONST_OPS.has(n.op)) return n;
    const near = closestNames(name, this.order().map((x) => x.name));
    throw new ModelError(`no node named '${name}' in the graph model${near.length ? ` (did you mean ${near.map((x) => `'${x}'`).join(', ')}?)` : ''}`);
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
      const n = queue.shift()!;
      if (seen.has(n.name) || CONST_OPS.has(n.op)) continue;
      seen.add(n.name);
      if (this.isSpatial(shapes.get(n.name)) && n.op !== 'Placeholder') return n.name;
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

  camHead(layer: string): CamHead {
    const target = this.node(layer);
    const onPath = new Set(this.order().map((n) => n.name));
    const next = (n: GNode) => n.children.filter((c) => onPath.has(c.name));
    const path: string[] = [];
    let cs = next(target);
    if (cs.length !== 1) return { kind: 'none', reason: `the output of '${layer}' feeds more than one node` };
    let n = cs[0];
    if (n.op !== 'Mean') return { kind: 'none', reason: `'${layer}' is followed by '${n.name}' (${n.op}), not by global average pooling (Mean over height and width) then a linear layer` };
    path.push(`${n.name} (Mean)`);
    while (n.name !== this.logitsNode.name) {
      cs = next(n);
      if (cs.length !== 1) return { kind: 'none', reason: `the head branches after '${n.name}'` };
      n = cs[0];
      path.push(`${n.name} (${n.op})`);
      if (n.op === 'MatMul' || n.op === '_FusedMatMul') {
        const w = n.inputs.find((i) => CONST_OPS.has(i.op));
        if (!w) return { kind: 'none', reason: `'${n.name}' multiplies by a computed tensor, not by fixed weights` };
        if (n.op === '_FusedMatMul') {
          const ops = (n.attrParams.fusedOps?.value as string[] | undefined) ?? [];
          if (ops.some((o) => o.toLowerCase() !== 'biasadd')) return { kind: 'none', reason: `'${n.name}' applies a non-linear activation` };
        }
        let rest = n;
        while (rest.name !== this.logitsNode.name) {
          const after = next(rest);
          if (after.length !== 1 || !['BiasAdd', 'Add', 'AddV2', ...PASS_THROUGH_OPS].includes(after[0].op)) {
            return { kind: 'none', reason: `the linear layer '${n.name}' is followed by '${after[0]?.name}' (${after[0]?.op})` };
          }
          rest = after[0];
        }
        const weights = (this.model.weights[w.name]?.[0] as tf.Tensor2D | undefined)?.clone();
        if (!weights) return { kind: 'none', reason: `weights of '${n.name}' not found` };
        return { kind: 'weights', weights, path };
      }
      if (!PASS_THROUGH_OPS.has(n.op)) return { kind: 'none', reason: `global average pooling is followed by '${n.name}' (${n.op}), not by a linear layer` };
    }
    const shapes = this.nodeShapes();
    if (shapes.get(target.name)?.[3] === this.numClasses && (target.op === 'Conv2D' || target.op === 'BiasAdd' || target.op === '_FusedConv2D')) {
      return { kind: 'channels', path };
    }
    return { kind: 'none', reason: `'${layer}' is pooled straight into the logits but does not have one channel per class` };
  }

  predict(x: tf.Tensor4D): tf.Tensor2D {
    return this.rowByRow(x.shape[0], (r) => this.model.execute({ [this.inputName]: r(x) }, this.logitsNode.name) as tf.Tensor2D);
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
    return {
      logits: byName.get(this.logitsNode.name) as tf.Tensor2D,
      activations: targets.map((t) => byName.get(t.name) as tf.Tensor4D),
      head: (i: number, a: tf.Tensor4D) => {
        const n = a.shape[0];
        const feeds: Record<string, tf.Tensor> = { [targets[i].name]: a };
        for (const c of crossings[i]) feeds[c.name] = tileBatch(byName.get(c.name)!, n);
        // The graph executor wants a value for the model input even when nothing reads it.
        if (!(this.inputName in feeds)) feeds[this.inputName] = tf.zeros([n, ...this.inputShape]);
        return this.rowByRow(n, (row) => {
          const fed: Record<string, tf.Tensor> = {};
          for (const [k, v] of Object.entries(feeds)) fed[k] = row(v);
          return this.model.execute(fed, this.logitsNode.name) as tf.Tensor2D;
        });
      },
      dispose: () => {
        for (const v of new Set(byName.values())) v.dispose();
      },
    };
  }

  randomizeWeights(): void {
    throw new ModelError('shuffling weights is supported for layers models only');
  }

  dispose(): void {
    this.model.dispose();
  }
}
