/**
 * Keras' `Normalization` preprocessing layer, which tfjs-layers 4.22 does not have: without it a model that begins
 * with one (Keras 2 `tf.keras.layers.Normalization`, Keras 3 `keras.layers.Normalization`) does not load at all
 * ("Unknown layer: Normalization"). Both Keras versions compute, per feature along `axis`:
 *   y = (x - mean) / max(sqrt(variance), 1e-7)          (invert: y = mean + x * sqrt(variance))
 * with mean and variance either stored as weights (`<layer>/mean`, `<layer>/variance`, and a `<layer>/count` the
 * computation does not use; written by adapt()) or given in the config (`Normalization(mean=..., variance=...)`).
 * Registering the class once makes tf.loadLayersModel build it; ./build.ts tells it which weights the manifest has.
 */
import * as tf from '@tensorflow/tfjs';

/** Keras' backend.epsilon(), the floor of the standard deviation in both Keras versions. */
const EPSILON = 1e-7;

type Json = Record<string, unknown>;

/** Weights the manifest holds for one Normalization layer: their shapes, and the dtype of `count` (null: absent). */
export interface StoredNormalization {
  shape: number[];
  count: { dtype: tf.DataType; shape: number[] } | null;
}

/** The config key under which ./build.ts passes StoredNormalization (not a Keras key, never written back; camelCase: tfjs renames snake_case keys). */
export const STORED_KEY = 'tfjsCamStored';

/** `axis` as Keras writes it (-1, [-1], 3, null, []) -> the axes kept, or null when all are reduced (one mean). */
function keptAxes(axis: unknown): number[] | null {
  if (axis == null) return null;
  const list = Array.isArray(axis) ? axis : [axis];
  if (!list.every((a) => Number.isInteger(a))) throw new Error(`Normalization: axis ${JSON.stringify(axis)} is not a list of integers`);
  return list.length === 0 ? null : (list as number[]);
}

function numbers(v: unknown): number[] | null {
  if (v == null) return null;
  const list = Array.isArray(v) ? v.flat(Infinity) : [v];
  return list.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (list as number[]) : null;
}

export class KerasNormalization extends tf.layers.Layer {
  static className = 'Normalization';
  private readonly axis: number[] | null;
  private readonly invert: boolean;
  private readonly givenMean: number[] | null;
  private readonly givenVariance: number[] | null;
  private readonly stored: StoredNormalization | null;
  private meanVar: tf.LayerVariable | null = null;
  private varianceVar: tf.LayerVariable | null = null;

  constructor(args: Json) {
    super(args as tf.serialization.ConfigDict);
    this.axis = keptAxes(args.axis === undefined ? -1 : args.axis);
    this.invert = args.invert === true;
    this.givenMean = numbers(args.mean);
    this.givenVariance = numbers(args.variance);
    this.stored = (args[STORED_KEY] as StoredNormalization | undefined) ?? null;
    if ((this.givenMean == null) !== (this.givenVariance == null)) throw new Error(`Normalization '${String(args.name)}': give both mean and variance, or neither`);
    if (this.givenMean == null && this.stored == null) throw new Error(`Normalization '${String(args.name)}': no mean and variance, in its config or its weights`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    if (this.stored && this.givenMean == null) {
      const shape = this.stored.shape;
      this.meanVar = this.addWeight('mean', shape, 'float32', tf.initializers.zeros(), undefined, false);
      this.varianceVar = this.addWeight('variance', shape, 'float32', tf.initializers.ones(), undefined, false);
      // Loaded (tfjs requires every manifest weight to have its variable) but not used by the computation.
      if (this.stored.count) this.addWeight('count', this.stored.count.shape, this.stored.count.dtype, tf.initializers.zeros(), undefined, false);
    }
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** The mean and variance per feature, as plain numbers (one each: the same for every feature). */
  values(): { mean: number[]; variance: number[] } {
    if (!this.meanVar || !this.varianceVar) return { mean: this.givenMean!.slice(), variance: this.givenVariance!.slice() };
    return { mean: Array.from(this.meanVar.read().dataSync()), variance: Array.from(this.varianceVar.read().dataSync()) };
  }

  /** The per-feature mean and variance, shaped to broadcast against an input of `rank` dimensions. */
  private statistics(rank: number): { mean: tf.Tensor; variance: tf.Tensor } {
    return tf.tidy(() => {
      const mean = this.meanVar ? this.meanVar.read() : tf.tensor(this.givenMean!);
      const variance = this.varianceVar ? this.varianceVar.read() : tf.tensor(this.givenVariance!);
      const shape = new Array<number>(rank).fill(1);
      if (this.axis) {
        // Kept axes keep their size; the values are laid out in their order (Keras' broadcast_shape).
        for (const a of this.axis) shape[a < 0 ? rank + a : a] = -1;
        const kept = shape.filter((d) => d === -1).length;
        if (kept > 1) throw new Error('Normalization over several axes is not supported');
      }
      const size = mean.size;
      const target = shape.map((d) => (d === -1 ? size : d));
      return { mean: size === 1 ? mean.reshape([]) : mean.reshape(target), variance: size === 1 ? variance.reshape([]) : variance.reshape(target) };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const xf = x.dtype === 'float32' ? x : x.toFloat();
      const { mean, variance } = this.statistics(xf.rank);
      if (this.invert) return tf.add(mean, tf.mul(xf, tf.sqrt(variance)));
      return tf.div(tf.sub(xf, mean), tf.maximum(tf.sqrt(variance), EPSILON));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { axis: this.axis, invert: this.invert, mean: this.givenMean, variance: this.givenVariance };
    return { ...config, ...super.getConfig() };
  }
}

tf.serialization.registerClass(KerasNormalization);

/**
 * Tells every Normalization layer of a flat Keras 2 topology (changed in place) which weights the manifest holds for
 * it, found by their names `<layer>/mean`, `<layer>/variance`, `<layer>/count`.
 */
export function describeStoredNormalization(layers: Json[], weightSpecs: tf.io.WeightsManifestEntry[]): void {
  const byName = new Map(weightSpecs.map((w) => [w.name, w]));
  for (const l of layers) {
    if (l.class_name !== 'Normalization') continue;
    const name = (l.name ?? (l.config as Json | undefined)?.name) as string;
    const mean = byName.get(`${name}/mean`);
    if (!mean || !byName.has(`${name}/variance`)) continue;
    const count = byName.get(`${name}/count`);
    (l.config as Json)[STORED_KEY] = { shape: mean.shape, count: count ? { dtype: count.dtype as tf.DataType, shape: count.shape } : null } satisfies StoredNormalization;
  }
}
