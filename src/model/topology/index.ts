/**
 * Any LayersModel topology users have -> one flat Keras-2 functional topology that tfjs-layers 4.22 builds.
 *
 * Keras 3 form is translated to Keras 2 form (keras3.ts), nested models are inlined (flatten.ts), and the result is
 * checked for everything that would make tfjs loop or crash while building (validate.ts). Pure JSON work: callers
 * build the model with tf.loadLayersModel from the returned topology and weight specs.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../util/errors';
import { flattenTopology } from './flatten';
import { expandKeepdimsPooling } from './keepdims';
import { isKeras3Topology, keras3ToKeras2, keras3WeightSpecs } from './keras3';
import { FunctionalConfig, JsonObject, MODEL_CLASSES, describeValue, isObject, layerNameOf, validateFunctionalTopology } from './validate';

export { isKeras3Topology, keras3ToKeras2, keras3WeightSpecs } from './keras3';
export { flattenTopology } from './flatten';
export type { FlattenResult } from './flatten';
export { validateFunctionalTopology } from './validate';
export type { FunctionalConfig, Keras2Layer, NodeEntry, TensorRef } from './validate';

/** The shape tfjs-converter writes, and the one returned here. */
export type LayersTopology = {
  model_config: JsonObject;
  keras_version?: string;
  backend?: string;
};

export interface NormalizedTopology {
  modelTopology: { model_config: { class_name: 'Model'; config: FunctionalConfig }; keras_version?: string; backend?: string };
  /** The manifest entries in the original order, renamed where their layer had to be. */
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** Every layer name of the flat model -> its path of model names from the top model down. */
  qualifiedNames: Map<string, string>;
  notes: {
    /** The topology was in Keras 3 form and was translated. */
    keras3: boolean;
    /** Qualified names of the nested models that were inlined. */
    flattened: string[];
  };
}

/**
 * Splits the two topology shapes: the converter's {model_config: {class_name, config}, keras_version, backend} and
 * tfjs' own bare {class_name, config} (which may carry keras_version/backend beside them). `config` may be a bare
 * list of layers (old Sequential).
 */
function splitTopology(modelTopology: object, where: string): LayersTopology {
  const t = modelTopology as JsonObject;
  if (!isObject(t)) throw new ModelError(`${where}: modelTopology is ${describeValue(t)}, not an object`);
  let modelConfig: JsonObject;
  if (isObject(t.model_config)) {
    modelConfig = t.model_config;
  } else if (typeof t.class_name === 'string') {
    const { keras_version: _v, backend: _b, ...rest } = t;
    modelConfig = rest;
  } else {
    throw new ModelError(`${where}: modelTopology has neither model_config nor class_name: not a Keras/tfjs layers model`);
  }
  const out: LayersTopology = { model_config: modelConfig };
  if (typeof t.keras_version === 'string') out.keras_version = t.keras_version;
  if (typeof t.backend === 'string') out.backend = t.backend;
  return out;
}

/**
 * Validates every functional model in a (possibly nested) Keras 2 model config, each in its own scope: what a
 * nested build would loop on is refused even where the model is not flattened.
 */
function validateNested(modelConfig: JsonObject, where: string, path: string[]): void {
  const config = modelConfig.config;
  const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (modelConfig.class_name !== 'Sequential') validateFunctionalTopology(config, where, path.length > 0 ? path.join('/') : undefined);
  if (!Array.isArray(layers)) return;
  for (const l of layers) {
    if (isObject(l) && typeof l.class_name === 'string' && MODEL_CLASSES.has(l.class_name)) validateNested(l, where, [...path, layerNameOf(l) ?? '?']);
  }
}

/**
 * The translation step alone: Keras 3 form -> Keras 2 form (nested models kept nested), in the
 * {model_config, keras_version, backend} shape, with the weight specs renamed where Keras 3 names a weight
 * differently. A Keras 2 topology comes back as it was (reshaped only). Every functional model in it, nested ones
 * included, is validated, so what comes back can be given to tf.loadLayersModel without the risk of an endless
 * build.
 */
export function translateLayersTopology(
  modelTopology: object,
  weightSpecs: tf.io.WeightsManifestEntry[],
  where: string,
): { modelTopology: LayersTopology; weightSpecs: tf.io.WeightsManifestEntry[]; keras3: boolean } {
  const split = splitTopology(modelTopology, where);
  const keras3 = isKeras3Topology(modelTopology);
  const modelConfig = keras3 ? keras3ToKeras2(split.model_config, where) : split.model_config;
  validateNested(modelConfig, where, []);
  return {
    modelTopology: { ...split, model_config: modelConfig },
    weightSpecs: keras3 ? keras3WeightSpecs(split.model_config, weightSpecs) : weightSpecs.slice(),
    keras3,
  };
}

/**
 * Keras 3 translation (when detected) -> flattening -> validation. Throws a one-line ModelError starting with
 * `where` for anything tfjs could not build or would loop on.
 */
export function normalizeLayersTopology(modelTopology: object, weightSpecs: tf.io.WeightsManifestEntry[], where: string): NormalizedTopology {
  const { modelTopology: translated, weightSpecs: specs, keras3 } = translateLayersTopology(modelTopology, weightSpecs, where);
  const flat = flattenTopology(translated.model_config, specs, where);
  // The flat graph is new: check it as tfjs will read it, so a flattening mistake cannot become an endless build.
  validateFunctionalTopology(flat.topology.config, where);
  const pooled = expandKeepdimsPooling(flat.topology.config, where);
  validateFunctionalTopology(pooled.config, where);
  return {
    modelTopology: { ...translated, model_config: { ...flat.topology, config: pooled.config } },
    weightSpecs: flat.weightSpecs,
    qualifiedNames: flat.qualifiedNames,
    notes: { keras3, flattened: flat.flattened },
  };
}
