/**
 * Global pooling with `keepdims: true` (tf.keras >= 2.6 and Keras 3 write it, e.g. in MobileNet v1's head:
 * GlobalAveragePooling2D(keepdims=True) -> Dropout -> 1x1 Conv2D). tfjs-layers 4.22 has no such option and would
 * silently drop the kept dimensions, so the model either fails to build or computes something else. The same
 * values come from the pooling without keepdims followed by a Reshape to [1, (1,) channels]: this pass rewrites
 * the flat functional topology that way, pointing every reader of the pooling at the Reshape.
 */
import { ModelError } from '../../util/errors';
import { FunctionalConfig, isObject, JsonObject, Keras2Layer, TensorRef } from './validate';

const KEEPDIMS_POOLING = /^Global(Average|Max)Pooling([123])D$/;

/** Layers whose output has as many channels as their (first) input. */
const SAME_CHANNELS = /^(BatchNormalization|LayerNormalization|Activation|ReLU|LeakyReLU|PReLU|ELU|ThresholdedReLU|Softmax|Dropout|SpatialDropout[123]D|GaussianNoise|GaussianDropout|AlphaDropout|(Max|Average)Pooling[123]D|ZeroPadding[123]D|Cropping[123]D|UpSampling[123]D|Add|Subtract|Multiply|Average|Maximum|Minimum|Rescaling|Normalization|Resizing|CenterCrop|Masking)$/;

/**
 * The channel count (last axis) of a layer's output, read from the topology: tfjs' Reshape cannot infer a -1
 * while the batch size is unknown, so the Reshape after a keepdims pooling needs the number itself.
 */
function channelsOf(name: string, byName: Map<string, Keras2Layer>, seen = new Set<string>()): number | null {
  const l = byName.get(name);
  if (!l || seen.has(name)) return null;
  seen.add(name);
  const c = l.config as JsonObject;
  const last = (shape: unknown) => (Array.isArray(shape) && typeof shape[shape.length - 1] === 'number' ? (shape[shape.length - 1] as number) : null);
  const inputs = (l.inbound_nodes[0] ?? []).map((e) => e[0]);
  const first = () => (inputs.length ? channelsOf(inputs[0], byName, seen) : null);
  if (l.class_name === 'InputLayer') return last(c.batch_input_shape ?? c.batchInputShape);
  if (/^(Conv[123]D|SeparableConv[12]D|Conv[23]DTranspose)$/.test(l.class_name) && typeof c.filters === 'number') return c.filters;
  if (l.class_name === 'Dense' && typeof c.units === 'number') return c.units;
  if (l.class_name === 'DepthwiseConv2D') {
    const input = first();
    return input == null ? null : input * (typeof c.depth_multiplier === 'number' ? c.depth_multiplier : 1);
  }
  if (l.class_name === 'Reshape') return last(c.target_shape);
  if (l.class_name === 'Concatenate' && (c.axis == null || c.axis === -1)) {
    const parts = inputs.map((i) => channelsOf(i, byName, new Set(seen)));
    return parts.every((p) => p != null) ? (parts as number[]).reduce((a, b) => a + b, 0) : null;
  }
  if (SAME_CHANNELS.test(l.class_name) || /^Global(Average|Max)Pooling[123]D$/.test(l.class_name)) return first();
  return null;
}

export function expandKeepdimsPooling(config: FunctionalConfig, where: string): { config: FunctionalConfig; expanded: string[] } {
  const layers = config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const names = new Set(layers.map((l) => l.name));
  const renamed = new Map<string, string>();
  const out: Keras2Layer[] = [];
  for (const l of layers) {
    const m = KEEPDIMS_POOLING.exec(l.class_name);
    const cfg = l.config as JsonObject;
    if (!m || !isObject(cfg) || cfg.keepdims !== true) {
      out.push(l);
      continue;
    }
    const { keepdims: _k, ...plain } = cfg;
    out.push({ ...l, config: plain });
    let reshapeName = `${l.name}_keepdims`;
    for (let i = 2; names.has(reshapeName); i++) reshapeName = `${l.name}_keepdims_${i}`;
    names.add(reshapeName);
    renamed.set(l.name, reshapeName);
    // One Reshape call per call of the pooling, so node indices carry over unchanged.
    const calls = l.inbound_nodes.length;
    const channels = channelsOf(l.inbound_nodes[0]?.[0]?.[0] ?? '', byName);
    if (channels == null) throw new ModelError(`${where}: layer '${l.name}' (${l.class_name}, keepdims=true): cannot tell how many channels it pools, which the Reshape that replaces keepdims needs`);
    const targetShape = [...Array.from({ length: Number(m[2]) }, () => 1), channels];
    out.push({
      name: reshapeName,
      class_name: 'Reshape',
      config: { name: reshapeName, trainable: false, dtype: (cfg.dtype as string | undefined) ?? 'float32', target_shape: targetShape },
      inbound_nodes: Array.from({ length: calls }, (_, k) => [[l.name, k, 0, {}]]),
    } as Keras2Layer);
  }
  if (renamed.size === 0) return { config, expanded: [] };
  // Every reader of a pooling now reads its Reshape; the Reshapes themselves still read the pooling.
  const reshapes = new Set(renamed.values());
  for (const l of out) {
    if (reshapes.has(l.name)) continue;
    l.inbound_nodes = l.inbound_nodes.map((node) => node.map((e) => (renamed.has(e[0]) ? ([renamed.get(e[0])!, ...e.slice(1)] as typeof e) : e)));
  }
  const outputs = config.output_layers.map(([n, k, t]): TensorRef => [renamed.get(n) ?? n, k, t]);
  return { config: { ...config, layers: out, output_layers: outputs }, expanded: [...renamed.keys()] };
}
