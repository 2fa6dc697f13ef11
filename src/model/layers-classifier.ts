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
import { CamHead, camHeadFromRule, Classifier, ForwardPass, LayerInfo, resolveLayerName, shuffledValues, tileBatch } from './classifier';
import { camRule, HeadInfo, HeadStep, isClassVector, presentLogits } from './head';
import { ModelError } from '../util/errors';
import { FullGradPieces, fullGradPieces, FullGradPlan, fullGradPlan } from './fullgrad';
import { withUnfusedOps } from '../backend/gradient-mode';
import { FusedGroup, FusedInference, findFusedGroups, fusedInferenceEnabled, recordingGradient, withoutFusedInference } from './fused-inference';

// tfjs-layers does not export its SymbolicTensor type; this is the part we use.
interface Sym {
  id: number;
  name: string;
  shape: (number | null)[];
  sourceLayer: tf.layers.Layer;
  inputs: Sym[];
  outputTensorIndex?: number;
}

/** Layers that pass their input on unchanged at inference (no computation worth explaining). */
export const PASS_THROUGH = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization', 'Masking']);
/** Layers that only reshape: the same values in the same order. */
export const RESHAPING = new Set(['Flatten', 'Reshape']);

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

function isLinearActivation(l: tf.layers.Layer): boolean {
  const a = layerConfig(l).activation;
  return a == null || a === 'linear';
}

/** Passes its input on as it is: Dropout and friends, a linear Activation. */
function isPassThrough(l: tf.layers.Layer): boolean {
  const c = className(l);
  return PASS_THROUGH.has(c) || (c === 'Activation' && isLinearActivation(l));
}

/** The final activation a layer applies on its own (not fused into a Dense or Conv), if any. */
function standaloneActivation(l: tf.layers.Layer): 'softmax' | 'sigmoid' | null {
  const c = className(l);
  if (c === 'Softmax') {
    const axis = layerConfig(l).axis;
    return axis == null || axis === -1 || (Array.isArray(axis) && axis.length === 1 && axis[0] === -1) ? 'softmax' : null;
  }
  if (c === 'Activation') {
    const a = layerConfig(l).activation;
    return a === 'softmax' || a === 'sigmoid' ? a : null;
  }
  return null;
}

function spatialShape(shape: (number | null)[]): boolean {
  return shape.length === 4 && (shape[1] ?? 2) * (shape[2] ?? 2) > 1;
}

export interface LayersClassifierOptions {
  /** The final activation fused into a Dense/Conv layer, removed from the topology before the model was built. */
  strippedActivation?: { kind: 'softmax' | 'sigmoid'; layer: string };
  /** Flat layer name -> name qualified by the nested models that held it (see topology/flatten). */
  qualifiedNames?: Map<string, string>;
  /**
   * Makes a view (Classifier.outputView): the output of this layer (flat name; null: the model's raw output, a final
   * softmax stepped over) is the logits, flattened, with no activation; the model is shared, not disposed.
   */
  outputAt?: { layer: string | null };
}

/** Layers whose output is a pooled vector: the default embedding of similar-to targets. */
const GLOBAL_POOLING = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);

export class LayersClassifier implements Classifier {
  readonly format = 'layers-model' as const;
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  readonly softmaxSteppedOver: boolean;
  readonly head: HeadInfo;
  readonly segmentation?: { height: number; width: number; classes: number };
  private readonly input: Sym;
  /** A view shares its model with the classifier it came from (see outputView). */
  private readonly shared: boolean;
  private readonly logitsSym: Sym;
  private readonly qualified: (flat: string) => string;
  /** Conv -> BN -> activation chains run as one folded op in passes that take no gradient. */
  private readonly fused: FusedInference;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly opts: LayersClassifierOptions = {},
  ) {
    const names = opts.qualifiedNames;
    this.qualified = (flat) => names?.get(flat) ?? flat;
    // Channels-first first: its input [c, h, w] would otherwise be read as a c-channel image.
    for (const l of model.layers) {
      const format = layerConfig(l).dataFormat;
      if (format === 'channels_first' || format === 'channelsFirst') {
        const shape = (model.inputs[0] as unknown as Sym).shape;
        throw new ModelError(`the model is channels-first (layer '${this.qualified(l.name)}' has data_format channels_first; input [${showShape(shape)}] is batch, channels, height, width): only channels-last (height, width, channels) models are supported`);
      }
    }
    if (model.inputs.length !== 1) throw new ModelError(`the model has ${model.inputs.length} inputs; only single-input image classifiers are supported`);
    if (model.outputs.length !== 1) throw new ModelError(`the model has ${model.outputs.length} outputs; only single-output classifiers are supported`);
    this.input = model.inputs[0] as unknown as Sym;
    const shape = this.input.shape;
    if (shape.length !== 4) throw new ModelError(`not an image model: input shape is [${showShape(shape)}], expected [batch, height, width, channels]`);
    const [, h, w, c] = shape;
    if (h == null || w == null || c == null) throw new ModelError(`the model's input size is not fixed ([${showShape(shape)}]); give a model with a fixed height, width and channels`);
    this.inputShape = [h, w, c];
    // The logits: back from the output over layers that only pass values on or reshape them, to a standalone
    // softmax/sigmoid (stepped over) or to the layer whose fused activation load.ts removed.
    let out = model.outputs[0] as unknown as Sym;
    let kind: HeadInfo['kind'] = opts.strippedActivation?.kind ?? 'linear';
    let activationAt = opts.strippedActivation ? `'${this.qualified(opts.strippedActivation.layer)}' (activation ${opts.strippedActivation.kind})` : undefined;
    if (!opts.strippedActivation) {
      let t = out;
      while (t.inputs.length === 1 && (isPassThrough(t.sourceLayer) || RESHAPING.has(className(t.sourceLayer)))) t = t.inputs[0];
      const act = t.inputs.length === 1 ? standaloneActivation(t.sourceLayer) : null;
      // A softmax over the classes of every pixel (a segmentation model's) is stepped over too.
      if (act && (isClassVector(t.inputs[0].shape.slice(1)) || (act === 'softmax' && spatialShape(t.inputs[0].shape)))) {
        out = t.inputs[0];
        kind = act;
        activationAt = `'${this.qualified(t.sourceLayer.name)}' (${className(t.sourceLayer)} ${act})`;
      }
    }
    this.shared = !!opts.outputAt;
    if (opts.outputAt) {
      // A view: its logits are the chosen tensor's values, as they are.
      if (opts.outputAt.layer != null) {
        const layer = model.getLayer(opts.outputAt.layer);
        const syms = this.topo([model.outputs[0] as unknown as Sym], new Set()).filter((t) => t.sourceLayer === layer);
        if (syms.length !== 1) throw new ModelError(`layer '${this.qualified(opts.outputAt.layer)}' is ${syms.length ? 'used more than once in the model' : 'not on the way to the output'}`);
        out = syms[0];
      }
      this.logitsSym = out;
      this.head = { kind: 'linear', binary: false };
      this.numClasses = out.shape.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
      this.softmaxSteppedOver = false;
    } else {
      if (spatialShape(out.shape)) {
        this.segmentation = { height: out.shape[1]!, width: out.shape[2]!, classes: out.shape[3]! };
      } else if (!isClassVector(out.shape.slice(1))) throw new ModelError(`the model's output shape is [${showShape(out.shape)}], expected [batch, classes] (or a per-pixel class map [batch, height, width, classes])`);
      this.logitsSym = out;
      const raw = out.shape[out.shape.length - 1]!;
      const binary = kind === 'sigmoid' && raw === 1 && !this.segmentation;
      this.head = { kind, binary, ...(activationAt ? { activationAt } : {}) };
      this.numClasses = binary ? 2 : raw;
      this.softmaxSteppedOver = kind === 'softmax';
    }
    const order = this.topo([model.outputs[0] as unknown as Sym], new Set());
    const consumers = new Map<number, Sym[]>();
    for (const t of order) for (const i of t.inputs) consumers.set(i.id, [...(consumers.get(i.id) ?? []), t]);
    // The model's output and the logits are read by the caller: never hidden inside a group.
    for (const t of [model.outputs[0] as unknown as Sym, this.logitsSym]) consumers.set(t.id, [...(consumers.get(t.id) ?? []), t, t]);
    this.fused = new FusedInference(findFusedGroups(order, consumers));
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
    const keep = new Set(outputs.map((o) => o.id));
    // Fused groups stand in for their layers only where no gradient is recorded and no caller needs a tensor
    // inside them; the tensors they skip are then never computed.
    const groupAt = new Map<number, FusedGroup>();
    const skipped = new Set<number>();
    if (this.fused.size && fusedInferenceEnabled() && !recordingGradient()) {
      for (const t of order) {
        const g = this.fused.groupEndingAt(t, (id) => keep.has(id) || feeds.has(id));
        if (!g || feeds.has(t.id)) continue;
        groupAt.set(t.id, g);
        for (const i of g.interior) skipped.add(i.id);
      }
    }
    const inputsOf = (t: Sym): Sym[] => {
      const g = groupAt.get(t.id);
      return g ? (g.conv.inputs as Sym[]) : t.inputs;
    };
    const consumers = new Map<number, number>();
    for (const t of order) if (!feeds.has(t.id) && !skipped.has(t.id)) for (const i of inputsOf(t)) consumers.set(i.id, (consumers.get(i.id) ?? 0) + 1);
    const values = new Map<number, tf.Tensor>(feeds);
    for (const t of order) {
      if (values.has(t.id) || skipped.has(t.id)) continue;
      if (t.inputs.length === 0) throw new ModelError(`no value for the model input '${t.name}'`);
      const group = groupAt.get(t.id);
      const ins = inputsOf(t).map((i) => values.get(i.id)!);
      let value: tf.Tensor;
      if (group) value = this.fused.run(group, ins[0] as tf.Tensor4D);
      else {
        const out = t.sourceLayer.apply(ins.length === 1 ? ins[0] : ins, {}) as tf.Tensor | tf.Tensor[];
        value = Array.isArray(out) ? out[t.outputTensorIndex ?? 0] : out;
        if (Array.isArray(out)) out.forEach((o) => o !== value && o.dispose());
      }
      values.set(t.id, value);
      for (const i of inputsOf(t)) {
        const left = (consumers.get(i.id) ?? 0) - 1;
        consumers.set(i.id, left);
        if (left === 0 && !keep.has(i.id) && !feeds.has(i.id)) values.get(i.id)!.dispose();
      }
    }
    return outputs.map((o) => values.get(o.id)!);
  }

  /** Flat layer name by the name it is shown under. */
  private flatName(shown: string): string {
    const l = this.model.layers.find((x) => this.qualified(x.name) === shown);
    return l ? l.name : shown;
  }

  private layerSym(name: string): Sym {
    const layer = this.model.getLayer(this.flatName(this.resolveLayer(name)));
    const syms = this.topo([this.logitsSym], new Set()).filter((t) => t.sourceLayer === layer);
    if (syms.length === 0) throw new ModelError(this.shared ? `layer '${name}' does not lead to '${this.shown(this.logitsSym)}' (the layer must come before it)` : `layer '${name}' does not lead to the model's output`);
    if (syms.length > 1) throw new ModelError(`layer '${name}' is used more than once in the model; pick a layer applied once`);
    return syms[0];
  }

  private shown(t: Sym): string {
    return this.qualified(t.sourceLayer.name);
  }

  resolveLayer(name: string): string {
    return resolveLayerName(
      name,
      this.model.layers.map((l) => ({ name: this.qualified(l.name), shortName: l.name })),
    );
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
      const name = this.shown(t);
      return {
        name,
        ...(name !== t.sourceLayer.name ? { shortName: t.sourceLayer.name } : {}),
        type: className(t.sourceLayer),
        outputShape: shape,
        spatial: spatialShape(t.shape),
      };
    });
  }

  defaultTargetLayer(): string {
    // Walk back from the logits, through the head (Dense, pooling, flatten...), to the first spatial output.
    const queue: Sym[] = [this.logitsSym];
    const seen = new Set<number>();
    while (queue.length) {
      let t = queue.shift()!;
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      // The input image itself is not a layer's activation (and cannot be a target): a model that flattens its
      // input straight into Dense layers has no spatial layer at all.
      if (t.id === this.input.id) continue;
      if (spatialShape(t.shape)) {
        // A Dropout or linear Activation only repeats its input: the layer that computed it is the target.
        while (isPassThrough(t.sourceLayer) && t.inputs.length === 1 && t.inputs[0].id !== this.input.id && spatialShape(t.inputs[0].shape)) t = t.inputs[0];
        return this.shown(t);
      }
      queue.push(...t.inputs);
    }
    throw new ModelError('the model has no layer with a spatial (height x width x channels) output on the way to its logits: class activation maps need one');
  }

  /** One layer after the target, described for CAM (see head.ts). `input` is the tensor it reads. */
  private headStep(t: Sym, input: Sym): HeadStep {
    const l = t.sourceLayer;
    const type = className(l);
    const at = this.shown(t);
    const cfg = layerConfig(l);
    const inShape = input.shape;
    const spatialIn = spatialShape(inShape);
    const blocker = (why: string): HeadStep => ({ kind: 'blocker', at, type, why });
    if (isPassThrough(l)) return { kind: 'pass', at, type };
    if (RESHAPING.has(type)) {
      return spatialIn ? blocker(`turns the ${showShape(inShape.slice(1))} map into ${showShape(t.shape.slice(1))}: what follows weighs each position separately, which CAM cannot express`) : { kind: 'pass', at, type };
    }
    if (type === 'GlobalAveragePooling2D') return { kind: 'gap', at, type };
    if (type === 'AveragePooling2D') {
      const pool = cfg.poolSize as number[];
      const whole = pool[0] === inShape[1] && pool[1] === inShape[2] && t.shape[1] === 1 && t.shape[2] === 1;
      return whole ? { kind: 'gap', at, type } : blocker(`averages ${pool.join('x')} windows, not the whole ${inShape[1]}x${inShape[2]} map`);
    }
    if (type === 'GlobalMaxPooling2D' || type === 'MaxPooling2D') return blocker('takes a maximum, which is not linear');
    if (type === 'Activation') return blocker(`applies activation '${cfg.activation}'`);
    if (type === 'Dense' || type === 'Conv2D') {
      if (!isLinearActivation(l)) return blocker(`applies activation '${cfg.activation}'`);
      const kernel = l.getWeights()[0];
      const ks = kernel.shape as number[];
      if (type === 'Conv2D') {
        const strides = cfg.strides as number[];
        const onePosition = !spatialIn;
        if (ks[0] === 1 && ks[1] === 1 && (onePosition || strides.every((v) => v === 1))) {
          return { kind: 'linear', at, type, weights: kernel.dataSync() as Float32Array, rows: ks[2], cols: ks[3] };
        }
        if (onePosition && cfg.padding === 'same') {
          // A k x k convolution of a 1x1 input with 'same' padding sees only its centre tap.
          const centre = tf.tidy(() => kernel.slice([Math.floor(ks[0] / 2), Math.floor(ks[1] / 2), 0, 0], [1, 1, ks[2], ks[3]]).dataSync() as Float32Array);
          return { kind: 'linear', at, type, weights: centre, rows: ks[2], cols: ks[3] };
        }
        return blocker(`is a ${ks[0]}x${ks[1]} convolution: it mixes neighbouring positions`);
      }
      // Dense on a 4-D tensor acts on each position's channels: a 1x1 convolution.
      return { kind: 'linear', at, type, weights: kernel.dataSync() as Float32Array, rows: ks[0], cols: ks[1] };
    }
    if (type === 'BatchNormalization') {
      const axis = cfg.axis as number;
      if (axis !== -1 && axis !== inShape.length - 1) return blocker(`normalises axis ${axis}, not the channels`);
      const find = (suffix: string) => l.weights.find((v) => v.name.endsWith(`/${suffix}`) || v.originalName.endsWith(`/${suffix}`));
      const variance = find('moving_variance')!.read().dataSync();
      const gamma = cfg.scale === false ? null : find('gamma')?.read().dataSync();
      const eps = (cfg.epsilon as number) ?? 1e-3;
      const scale = new Float32Array(variance.length);
      for (let i = 0; i < scale.length; i++) scale[i] = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + eps);
      return { kind: 'scale', at, type, scale };
    }
    return blocker('is not a linear layer');
  }

  camHead(layerName: string): CamHead {
    if (this.segmentation) return { kind: 'none', reason: 'the model outputs a per-pixel class map (segmentation), not pooled class scores' };
    const target = this.layerSym(layerName);
    // Follow the single chain of consumers from the target to the logits.
    const order = this.topo([this.logitsSym], new Set());
    const consumersOf = (t: Sym) => order.filter((o) => o.inputs.some((i) => i.id === t.id));
    const steps: HeadStep[] = [];
    let t = target;
    while (t.id !== this.logitsSym.id) {
      const cs = consumersOf(t);
      if (cs.length !== 1) return { kind: 'none', reason: `the output of '${this.shown(t)}' feeds ${cs.length} layers (a branching head)` };
      const next = cs[0];
      if (next.inputs.length !== 1) {
        return { kind: 'none', reason: `'${this.shown(next)}' (${className(next.sourceLayer)}) combines '${this.shown(t)}' with other tensors (a connection around the target)` };
      }
      const step = this.headStep(next, t);
      steps.push(step);
      if (step.kind === 'blocker') break;
      t = next;
    }
    const channels = target.shape[target.shape.length - 1] ?? 0;
    const raw = this.logitsSym.shape[this.logitsSym.shape.length - 1]!;
    return camHeadFromRule(camRule(this.shown(target), steps, channels, raw), this.head);
  }

  /** Kept once made (every session asks for it); it holds weight values, so shuffling the weights drops it. */
  private plannedFullGrad: FullGradPlan | null = null;

  fullGradPlan(): FullGradPlan {
    if (!this.plannedFullGrad) {
      const layers = [...new Set(this.topo([this.logitsSym], new Set()).map((t) => t.sourceLayer))];
      this.plannedFullGrad = fullGradPlan(layers, this.qualified);
    }
    return this.plannedFullGrad;
  }

  fullGradPieces(x: tf.Tensor4D, score: (logits: tf.Tensor2D) => tf.Tensor1D): FullGradPieces {
    const plan = this.fullGradPlan();
    if (plan.kind === 'none') throw new ModelError(`FullGrad is not possible for this model: ${plan.reason}`);
    // FullGrad wraps the layers' own calls: every layer must run as itself.
    return withoutFusedInference(() => withUnfusedOps(() => fullGradPieces(plan.layers, (n) => this.model.getLayer(n), x, (t) => this.predict(t), score)));
  }

  /** Raw output -> presented logits: a segmentation model's are each class's mean logit over the pixels. */
  private present(raw: tf.Tensor): tf.Tensor2D {
    return this.segmentation ? tf.tidy(() => tf.mean(raw, [1, 2]) as tf.Tensor2D) : presentLogits(raw, this.head);
  }

  predict(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.present(this.run([this.logitsSym], new Map([[this.input.id, x]]))[0]));
  }

  outputView(layer: string | null): Classifier {
    return new LayersClassifier(this.model, { ...this.opts, outputAt: { layer: layer == null ? null : this.flatName(this.resolveLayer(layer)) } });
  }

  defaultEmbeddingLayer(): string {
    // Breadth-first back from the logits: the global pooling nearest to them.
    const queue: Sym[] = [this.logitsSym];
    const seen = new Set<number>();
    while (queue.length) {
      const t = queue.shift()!;
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      if (GLOBAL_POOLING.has(className(t.sourceLayer))) return this.shown(t);
      queue.push(...t.inputs);
    }
    throw new ModelError('the model has no global pooling layer (GlobalAveragePooling2D, GlobalMaxPooling2D) on the way to its logits, the default embedding layer');
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
    const rawLogits = byId.get(this.logitsSym.id)!;
    const logits = this.present(rawLogits);
    return {
      logits,
      activations: targets.map((t) => byId.get(t.id) as tf.Tensor4D),
      head: (i: number, a: tf.Tensor4D) => {
        const n = a.shape[0];
        const feeds = new Map<number, tf.Tensor>([[targets[i].id, a]]);
        for (const c of crossings[i]) feeds.set(c.id, tileBatch(byId.get(c.id)!, n));
        return tf.tidy(() => this.present(this.run([this.logitsSym], feeds)[0]));
      },
      dispose: () => {
        for (const v of new Set([...byId.values(), logits])) v.dispose();
      },
    };
  }

  randomizeWeights(seed: number): void {
    // In each weight's own dtype: a Normalization's `count` is int32 (its variable refuses float values).
    const shuffled = this.model.getWeights().map((w, i) => tf.tensor(shuffledValues(w.dataSync(), seed + i), w.shape, w.dtype));
    this.model.setWeights(shuffled);
    shuffled.forEach((t) => t.dispose());
    this.fused.refold();
    // The plan holds bias and BatchNorm values read from the weights.
    this.plannedFullGrad = null;
  }

  dispose(): void {
    this.fused.dispose();
    if (!this.shared) this.model.dispose();
  }
}
