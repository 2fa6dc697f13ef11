/**
 * loadModel: artifacts -> tfjs model -> Classifier, plus the model's sidecar configuration.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadArtifacts, memoryHandler, LoadedArtifacts } from './artifacts';
import { Classifier } from './classifier';
import { LayersClassifier } from './layers-classifier';
import { GraphClassifier } from './graph-classifier';
import { Sidecar, readSidecar } from './config';
import { ModelError, UserError } from '../util/errors';

export interface LoadedModel {
  classifier: Classifier;
  /** Where it came from, as given. */
  source: string;
  sha256: string;
  format: Classifier['format'];
  /** Folder (or URL prefix) of model.json. */
  baseDir: string;
  sidecar: Sidecar | null;
  dispose(): void;
}

type Json = Record<string, unknown>;

/**
 * Finds the output layer's config in a Keras/tfjs layers topology. Two shapes exist: the Keras converter's
 * {model_config: {class_name, config}} and tfjs' own {class_name, config}.
 */
function outputLayerConfig(topology: Json): Json | null {
  const modelConfig = (topology.model_config ?? topology) as Json;
  const config = modelConfig.config as Json | Json[] | undefined;
  if (!config) return null;
  const layers = (Array.isArray(config) ? config : (config.layers as Json[] | undefined)) ?? [];
  if (modelConfig.class_name === 'Sequential') return layers[layers.length - 1] ?? null;
  const outs = (config as Json).output_layers as unknown[][] | undefined;
  if (!outs || outs.length !== 1) return null;
  const name = outs[0][0];
  return layers.find((l) => l.name === name || (l.config as Json | undefined)?.name === name) ?? null;
}

/**
 * Class scores are the logits before a final softmax. Where the softmax is the activation of the last Dense
 * layer, there is no separate tensor for the logits, so we load the model with that activation set to linear
 * and apply softmax ourselves for probabilities.
 */
function stripFinalDenseSoftmax(artifacts: tf.io.ModelArtifacts): { artifacts: tf.io.ModelArtifacts; stripped: boolean } {
  const topology = JSON.parse(JSON.stringify(artifacts.modelTopology)) as Json;
  const out = outputLayerConfig(topology);
  const cfg = out?.config as Json | undefined;
  if (out && cfg && out.class_name === 'Dense' && cfg.activation === 'softmax') {
    cfg.activation = 'linear';
    return { artifacts: { ...artifacts, modelTopology: topology }, stripped: true };
  }
  return { artifacts, stripped: false };
}

function wrapLoadError(e: unknown, where: string, specs: tf.io.WeightsManifestEntry[] = []): never {
  // Our own checks (not an image model, several inputs...) get the file name too: the user may have many models.
  if (e instanceof UserError) throw e.message.startsWith(where) ? e : new ModelError(`${where}: ${e.message}`);
  const msg = (e as Error)?.message?.split('\n')[0] ?? String(e);
  // tfjs says "Shape mismatch: [model's] vs. [manifest's]" without naming the weight: find it by its manifest shape.
  const m = /Shape mismatch: \[([\d,\s]*)\] vs\. \[([\d,\s]*)\]/.exec(msg);
  if (m) {
    const norm = (s: string) => s.replace(/\s+/g, '');
    const named = specs.filter((w) => w.shape.join(',') === norm(m[2])).map((w) => `'${w.name}'`);
    if (named.length) throw new ModelError(`${where}: weight ${named.join(' or ')} has shape [${norm(m[2])}] in the weights manifest, but its layer needs [${norm(m[1])}]`);
  }
  throw new ModelError(`${where}: cannot build the model: ${msg}`);
}

export async function loadModelFrom(given: string): Promise<LoadedModel> {
  const loaded: LoadedArtifacts = await loadArtifacts(given);
  const where = loaded.source.modelJson;
  let classifier: Classifier;
  if (loaded.format === 'graph-model') {
    let model: tf.GraphModel;
    try {
      model = await tf.loadGraphModel(memoryHandler(loaded.artifacts));
    } catch (e) {
      wrapLoadError(e, where, loaded.artifacts.weightSpecs);
    }
    try {
      classifier = new GraphClassifier(model);
    } catch (e) {
      model.dispose();
      wrapLoadError(e, where);
    }
  } else {
    const { artifacts, stripped } = stripFinalDenseSoftmax(loaded.artifacts);
    let model: tf.LayersModel;
    try {
      model = await tf.loadLayersModel(memoryHandler(artifacts));
    } catch (e) {
      wrapLoadError(e, where, artifacts.weightSpecs);
    }
    try {
      classifier = new LayersClassifier(model, stripped);
    } catch (e) {
      model.dispose();
      wrapLoadError(e, where);
    }
  }
  const sidecar = loaded.source.isUrl ? null : readSidecar(loaded.baseDir);
  return {
    classifier,
    source: given,
    sha256: loaded.sha256,
    format: loaded.format,
    baseDir: loaded.baseDir,
    sidecar,
    dispose: () => classifier.dispose(),
  };
}

export function sidecarPath(model: LoadedModel, rel: string): string {
  return path.resolve(model.baseDir, rel);
}
