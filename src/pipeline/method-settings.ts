/**
 * The options that change a method's maps (the noise of SmoothGrad and Smooth Grad-CAM++, Integrated Gradients'
 * steps and baseline, Score-CAM's channels, FEM's k, KPCA-CAM's kernel, Finer-CAM's comparison, how layers are
 * combined): checked once per run before any image, and recorded in the report only where a method that reads them
 * runs, so that --resume and merge compare them exactly where they change a map. (--batch-size changes no map.)
 */
import { createHash } from 'crypto';
import { CamMethod, DEFAULT_METHOD_OPTIONS, getMethod, KPCA_KERNELS, LayerAggregation, MethodOptions } from '../methods';
import { finerBaseProblem } from '../methods/finercam';
import type { Target } from '../capture/targets';
import { UsageError } from '../util/errors';

/** What the report says about the method options in force (absent keys: no method that reads them ran). */
export interface MethodSettings {
  /** Noisy copies, their noise (a fraction of the input's range) and its seed: smoothgrad, smoothgradcam++. */
  noiseSamples?: number;
  noiseLevel?: number;
  seed?: number;
  /**
   * Integrated Gradients' steps, and its baseline: the SHA-256 of the baseline image's model-input values (float32,
   * as fitted and preprocessed; null: the black image). The values, not the file's name: shards run from other
   * folders name the same file differently.
   */
  igSteps?: number;
  baselineSha256?: string | null;
  /** Score-CAM's and Ablation-CAM's channels (0: all). */
  maxChannels?: number;
  femK?: number;
  kpcaKernel?: string;
  /** null: 1 / channels of the target layer (scikit-learn's default). */
  kpcaGamma?: number | null;
  finerAlpha?: number;
  finerBase?: string;
  /** null: the 3 classes whose logits are closest to the explained class's, per image. */
  finerCompare?: number[] | null;
  /** Only with several target layers and --aggregate product. */
  aggregate?: LayerAggregation;
}

/**
 * The method options with Finer-CAM's comparison classes resolved (index or label), each option checked: a bad one
 * is a UsageError naming its flag. `explained`: the run's targets where given (undefined: the top k of each image).
 */
export function checkMethodOptions(
  given: Partial<MethodOptions> | undefined,
  finerCompare: (number | string)[] | undefined,
  classIndex: (c: number | string) => number,
  explained: Target[] | undefined,
  methods: CamMethod[],
): Partial<MethodOptions> {
  const o = { ...given };
  if (o.femK != null && !(Number.isFinite(o.femK) && o.femK > 0)) throw new UsageError(`--fem-k must be a number > 0 (got '${o.femK}'): it is how many standard deviations above its mean an activation counts`);
  if (o.kpcaKernel != null && !KPCA_KERNELS.includes(o.kpcaKernel)) throw new UsageError(`--kpca-kernel must be one of ${KPCA_KERNELS.join(', ')} (got '${o.kpcaKernel}')`);
  if (o.kpcaGamma != null && !(Number.isFinite(o.kpcaGamma) && o.kpcaGamma > 0)) throw new UsageError(`--kpca-gamma must be a number > 0 (got '${o.kpcaGamma}')`);
  if (o.finerAlpha != null && !Number.isFinite(o.finerAlpha)) throw new UsageError(`--finer-alpha must be a number (got '${o.finerAlpha}')`);
  if (o.finerBase != null) {
    const base = getMethod(o.finerBase).name;
    const why = finerBaseProblem(base);
    if (why) throw new UsageError(`--finer-base ${base}: ${why}`);
    o.finerBase = base;
  }
  if (finerCompare?.length) {
    o.finerCompare = finerCompare.map((c) => {
      try {
        return classIndex(c);
      } catch (e) {
        throw new UsageError(`--finer-compare: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  }
  if (o.finerCompare?.length) {
    if (new Set(o.finerCompare).size !== o.finerCompare.length) throw new UsageError(`--finer-compare names a class twice (${o.finerCompare.join(', ')})`);
    if (methods.some((m) => m.finer)) {
      for (const t of explained ?? []) {
        if (t.kind === 'class' && o.finerCompare.includes(t.index)) throw new UsageError(`--finer-compare names class ${t.index}, which is the class explained: a class is compared with other classes`);
      }
    }
  }
  if (methods.some((m) => m.finer)) {
    const notClass = explained?.find((t) => t.kind !== 'class');
    if (notClass) throw new UsageError(`finercam explains classes against similar classes, not --target ${notClass.kind} targets (use --class or --top-k)`);
  }
  return o;
}

/** The report's record of the method options that change a map of this run. */
export function methodSettingsOf(methods: CamMethod[], layers: string[], given: Partial<MethodOptions> | undefined, aggregate: LayerAggregation | undefined): { methodSettings?: MethodSettings } {
  const o = { ...DEFAULT_METHOD_OPTIONS, ...given };
  // Finer-CAM runs its base method, whose options then change its maps too.
  const names = new Set(methods.flatMap((m) => (m.finer ? [m.name, o.finerBase] : [m.name])));
  const has = (...any: string[]) => any.some((n) => names.has(n));
  const s: MethodSettings = {
    ...(has('smoothgrad', 'smoothgradcam++') ? { noiseSamples: o.noiseSamples, noiseLevel: o.noiseLevel, seed: o.seed } : {}),
    ...(has('integrated-gradients') ? { igSteps: o.igSteps, baselineSha256: given?.baseline ? sha256Of(given.baseline) : null } : {}),
    ...(has('scorecam', 'ablationcam') ? { maxChannels: o.maxChannels } : {}),
    ...(has('fem') ? { femK: o.femK } : {}),
    ...(has('kpca-cam') ? { kpcaKernel: o.kpcaKernel, kpcaGamma: o.kpcaGamma ?? null } : {}),
    ...(methods.some((m) => m.finer) ? { finerAlpha: o.finerAlpha, finerBase: o.finerBase, finerCompare: o.finerCompare?.length ? o.finerCompare : null } : {}),
    ...(layers.length > 1 && aggregate === 'product' ? { aggregate } : {}),
  };
  return Object.keys(s).length ? { methodSettings: s } : {};
}

function sha256Of(values: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
}
