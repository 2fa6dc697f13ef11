/**
 * A LayersModel as a Classifier, run by our own small executor over its symbolic graph.
 *
 * Why our own executor: LayersModel.execute only accepts values for the model's inputs, so it cannot start
 * from an intermediate activation. Walking the symbolic tensors ourselves lets the forward pass keep every
 * tensor that the part after the target layer reads ("crossing" tensors, e.g. a skip connection around it),
 * and lets the head pass start from the target activation and those tensors alone: the backward pass then
 * runs only through the head, and the gradient is exactly d(logit)/dA.
 */
import * as tf from '@tensorflow/tfjs';
import { CamHead, Classifier, ForwardPass, LayerInfo, shuffledValues, tileBatch } from './classifier';
import { ModelError } from '../util/errors';
import { closestNames } from '../util/suggest';

// tfjs-layers does not export its SymbolicTensor type; this is the part we use.
interface Sym {
  id: number;
  name: string;
  shape: (number | null)[];
  sourceLayer: tf.layers.Layer;
  inputs: Sym[];
  outputTensorIndex?: number;
}

const PASS_THROUGH = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'Flatten', 'Reshape', 'Activation_linear']);

/** [null, 10] as "null, 10": join() would print unknown sizes as nothing. */
function showShape(shape: (number | null)[]): string {
  return shape.map((d) => (d == null ? 'null' : String(d))).join(', ');
}

function className(l: tf.layers.Layer): string {
  return l.getClassName();
}

function layerConfig(l: tf.layers.Layer): Record<string, unknown> {
  return l.getConfig() as Record<string, unknown>;
}

function isSoftmaxLayer(l: tf.layers.Layer): boolean {
  const c = className(l);
  if (c === 'Softmax') return true;
  if (c === 'Activation') return layerConfig(l).activation === 'softmax';
  return false;
}

export class LayersClassifier implements Classifier {
  readonly format = 'layers-model' as const;
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  readonly softmaxSteppedOver: boolean;
  private readonly input: Sym;
  private readonly logitsSym: Sym;

  constructor(private readonly model: tf.LayersModel, softmaxRemovedFromDense: boolean) {
    if (model.inputs.length !== 1) throw new ModelError(`the model has ${model.inputs.length} inputs; only single-input image classifiers are supported`);
    if (model.outputs.length !== 1) throw new ModelError(`the model has ${model.outputs.length} outputs; only single-output classifiers are supported`);
    this.input = model.inputs[0] as unknown as Sym;
    const shape = this.input.shape;
    if (shape.length !== 4) throw new ModelError(`not an image model: input shape is [${showShape(shape)}], expected [batch, height, width, channels]`);
    const [, h, w, c] = shape;
    if (h == null || w == null || c == null) throw new ModelError(`the model's input size is not fixed ([${showShape(shape)}]); give a model with a fixed height, width and channels`);
    this.inputShape = [h, w, c];
    let out = model.outputs[0] as unknown as Sym;
    let stepped = softmaxRemovedFromDense;
    if (isSoftmaxLayer(out.sourceLayer)) {
      out = out.inputs[0];
      stepped = true;
    }
    if (out.shape.length !== 2 || out.shape[1] == null) throw new ModelError(`the model's output shape is [${showShape(out.shape)}], expected [batch, classes]`);
    this.logitsSym = out;
    this.numClasses = out.shape[1];
    this.softmaxSteppedOver = stepped;
  }

  /** Every symbolic tensor on the way from the input to the logits, in topological order. */
  private topo(outputs: Sym[], stopAt: Set<number>): Sym[] {
    const order: Sym[] = [];
    const seen = new Set<number>();
    const visit = (t: Sym) => {
      if (seen.has(t.id)) return;
      seen.add(t.id);
      if (!stopAt.has(t.id)) for (const i of t.inputs) visit(i);
      order.push(t);
    };
    outputs.forEach(visit);
    return order;
  }

  /**
   * Evaluates `outputs` given values for some symbolic tensors. Intermediate values are disposed as soon as
   * their last consumer has run, so memory follows the widest point of the network, not its depth.
   */
  private run(outputs: Sym[], feeds: Map<number, tf.Tensor>): tf.Tensor[] {
    const order = this.topo(outputs, new Set(feeds.keys()));
    const consumers = new Map<number, number>();
    for (const t of order) if (!feeds.has(t.id)) for (const i of t.inputs) consumers.set(i.id, (consumers.get(i.id) ?? 0) + 1);
    const keep = new Set(outputs.map((o) => o.id));
    const values = new Map<number, tf.Tensor>(feeds);
    for (const t of order) {
      if (values.has(t.id)) continue;
      if (t.inputs.length === 0) throw new ModelError(`no value for the model input '${t.name}'`);
      const ins = t.inputs.map((i) => values.get(i.id)!);
      const out = t.sourceLayer.apply(ins.length === 1 ? ins[0] : ins, {}) as tf.Tensor | tf.Tensor[];
      const value = Array.isArray(out) ? out[t.outputTensorIndex ?? 0] : out;
      if (Array.isArray(out)) out.forEach((o) => o !== value && o.dispose());
      values.set(t.id, value);
      for (const i of t.inputs) {
        const left = (consumers.get(i.id) ?? 0) - 1;
        consumers.set(i.id, left);
        if (left === 0 && !keep.has(i.id) && !feeds.has(i.id)) values.get(i.id)!.dispose();
      }
    }
    return outputs.map((o) => values.get(o.id)!);
  }

  private layerSym(name: string): Sym {
    let layer: tf.layers.Layer;
    try {
      layer = this.model.getLayer(name);
    } catch {
      const names = this.model.layers.map((l) => l.name);
      const near = closestNames(name, names);
      throw new ModelError(`no layer named '${name}' in the model${near.length ? ` (did you mean ${near.map((n) => `'${n}'`).join(', ')}?)` : ''}`);
    }
    const syms = this.topo([this.logitsSym], new Set()).filter((t) => t.sourceLayer === layer);
    if (syms.length === 0) throw new ModelError(`layer '${name}' does not lead to the model's output`);
    if (syms.length > 1) throw new ModelError(`layer '${name}' is used more than once in the model; pick a layer applied once`);
    return syms[0];
  }

  /** The tensors that the part after `target` reads but that do not depend on `target`. */
  private crossing(target: Sym): Sym[] {
    const order = this.topo([this.logitsSym], new Set());
    const downstream = new Set<number>([target.id]);
    for (const t of order) if (t.inputs.some((i) => downstream.has(i.id))) downstream.add(t.id);
    const crossing = new Map<number, Sym>();
    for (const t of order) {
      if (!downstream.has(t.id) || t.id === target.id) continue;
      for (const i of t.inputs) if (!downstream.has(i.id)) crossing.set(i.id, i);
    }
    return [...crossing.values()];
  }

  layers(): LayerInfo[] {
    const order = this.topo([this.model.outputs[0] as unknown as Sym], new Set());
    return order.map((t) => {
      const shape = t.shape.slice(1);
      return {
        name: t.sourceLayer.name,
        type: className(t.sourceLayer),
        outputShape: shape,
        spatial: shape.length === 3 && ((shape[0] ?? 2) * (shape[1] ?? 2) > 1),
      };
    });
  }

  defaultTargetLayer(): string {
    // Walk back from the logits, through the head (Dense, pooling, flatten...), to the first spatial output.
    const queue: Sym[] = [this.logitsSym];
    const seen = new Set<number>();
    while (queue.length) {
      const t = queue.shift()!;
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      const shape = t.shape.slice(1);
      // The input image itself is not a layer's activation (and cannot be a target): a model that flattens its
      // input straight into Dense layers has no spatial layer at all.
      if (t.id === this.input.id) continue;
      if (shape.length === 3 && (shape[0] ?? 2) * (shape[1] ?? 2) > 1) return t.sourceLayer.name;
      queue.push(...t.inputs);
    }
    throw new ModelError('the model has no layer with a spatial (height x width x channels) output on the way to its logits: class activation maps need one');
  }

  camHead(layerName: string): CamHead {
    const target = this.layerSym(layerName);
    // Follow the single chain of consumers from the target to the logits.
    const order = this.topo([this.logitsSym], new Set());
    const consumersOf = (t: Sym) => order.filter((o) => o.inputs.some((i) => i.id === t.id));
    const path: string[] = [];
    let t = target;
    const step = (): Sym | null => {
      const cs = consumersOf(t);
      if (cs.length !== 1 || cs[0].inputs.length !== 1) return null;
      return cs[0];
    };
    const describe = (s: Sym) => `${s.sourceLayer.name} (${className(s.sourceLayer)})`;
    const targetType = className(target.sourceLayer);
    let next = step();
    if (!next) return { kind: 'none', reason: `the output of '${layerName}' feeds more than one layer (a branching head)` };
    const isGap = (s: Sym) => className(s.sourceLayer) === 'GlobalAveragePooling2D';
    // A linear 1x1 convolution before the pooling commutes with it: GAP(conv1x1(A)) = conv1x1(GAP(A)),
    // so its kernel gives the CAM weights just as a Dense layer after the pooling would.
    let convWeights: tf.Tensor2D | null = null;
    if (className(next.sourceLayer) === 'Conv2D') {
      const cfg = layerConfig(next.sourceLayer);
      const oneByOne = (cfg.kernelSize as number[]).every((v) => v === 1) && (cfg.strides as number[]).every((v) => v === 1);
      const after = oneByOne && (cfg.activation === 'linear' || cfg.activation == null) ? consumersOf(next) : [];
      if (after.length === 1 && isGap(after[0])) {
        path.push(describe(next));
        const kernel = next.sourceLayer.getWeights()[0];
        convWeights = kernel.reshape([kernel.shape[2]!, kernel.shape[3]!]) as tf.Tensor2D;
        t = next;
        next = after[0];
      }
    }
    if (isGap(next)) {
      path.push(describe(next));
      t = next;
      // From the pooling to the logits: pass-through layers, at most one Dense (the linear classifier).
      while (t.id !== this.logitsSym.id) {
        next = step();
        if (!next) return { kind: 'none', reason: `after global average pooling the head branches at '${t.sourceLayer.name}'` };
        const c = className(next.sourceLayer);
        path.push(describe(next));
        if (c === 'Dense') {
          if (convWeights) {
            convWeights.dispose();
            return { kind: 'none', reason: `a 1x1 convolution and the Dense layer '${next.sourceLayer.name}' both follow the target` };
          }
          if (next.id !== this.logitsSym.id) return { kind: 'none', reason: `the Dense layer '${next.sourceLayer.name}' is not the last layer (found more layers after it)` };
          const cfg = layerConfig(next.sourceLayer);
          if (cfg.activation !== 'linear' && cfg.activation !== 'softmax' && cfg.activation != null) {
            return { kind: 'none', reason: `the Dense layer '${next.sourceLayer.name}' has activation '${cfg.activation}'` };
          }
          const kernel = next.sourceLayer.getWeights()[0] as tf.Tensor2D;
          return { kind: 'weights', weights: kernel.clone(), path };
        }
        if (!PASS_THROUGH.has(c) && !(c === 'Activation' && layerConfig(next.sourceLayer).activation === 'linear')) {
          return { kind: 'none', reason: `global average pooling is followed by '${next.sourceLayer.name}' (${c}), not by a linear layer` };
        }
        t = next;
      }
      if (convWeights) return { kind: 'weights', weights: convWeights, path };
      // GAP straight into the logits: the target's channels are the class maps when it is a linear 1x1 conv.
      const cfg = layerConfig(target.sourceLayer);
      const oneByOne = targetType === 'Conv2D' && (cfg.kernelSize as number[]).every((v) => v === 1);
      if (oneByOne && (cfg.activation === 'linear' || cfg.activation == null) && target.shape[3] === this.numClasses) {
        return { kind: 'channels', path };
      }
      return { kind: 'none', reason: `'${layerName}' is pooled straight into the logits but is not a linear 1x1 convolution with one channel per class` };
    }
    return {
      kind: 'none',
      reason: `'${layerName}' is followed by ${describe(next)}, not by global average pooling then a linear layer (CAM needs GAP -> Dense)`,
    };
  }

  predict(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.run([this.logitsSym], new Map([[this.input.id, x]]))[0] as tf.Tensor2D);
  }

  forward(x: tf.Tensor4D, layerNames: string[]): ForwardPass {
    const targets = layerNames.map((n) => this.layerSym(n));
    const crossings = targets.map((t) => this.crossing(t));
    const wanted = new Map<number, Sym>();
    for (const s of [this.logitsSym, ...targets, ...crossings.flat()]) wanted.set(s.id, s);
    const syms = [...wanted.values()];
    const values = tf.tidy(() => this.run(syms, new Map([[this.input.id, x]])));
    const byId = new Map<number, tf.Tensor>();
    syms.forEach((s, i) => byId.set(s.id, values[i]));
    // The input itself may be a crossing tensor (a skip from the input); keep our own copy of it.
    if (!byId.has(this.input.id)) byId.set(this.input.id, x.clone());
    const logits = byId.get(this.logitsSym.id) as tf.Tensor2D;
    return {
      logits,
      activations: targets.map((t) => byId.get(t.id) as tf.Tensor4D),
      head: (i: number, a: tf.Tensor4D) => {
        const n = a.shape[0];
        const feeds = new Map<number, tf.Tensor>([[targets[i].id, a]]);
        for (const c of crossings[i]) feeds.set(c.id, tileBatch(byId.get(c.id)!, n));
        return this.run([this.logitsSym], feeds)[0] as tf.Tensor2D;
      },
      dispose: () => {
        for (const v of new Set(byId.values())) v.dispose();
      },
    };
  }

  randomizeWeights(seed: number): void {
    const shuffled = this.model.getWeights().map((w, i) => tf.tensor(shuffledValues(w.dataSync(), seed + i), w.shape));
    this.model.setWeights(shuffled);
    shuffled.forEach((t) => t.dispose());
  }

  dispose(): void {
    this.model.dispose();
  }
}
