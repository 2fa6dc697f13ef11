/**
 * loadModel: artifacts -> tfjs model -> Classifier, plus the model's sidecar configuration.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadArtifacts, memoryHandler, LoadedArtifacts } from './artifacts';
import { Classifier } from './classifier';
import { LayersClassifier, PASS_THROUGH, RESHAPING } from './layers-classifier';
import { GraphClassifier } from './graph-classifier';
import { Sidecar, readSidecar } from './config';
import { ModelError, UserError } from '../util/errors';
import { normalizeLayersTopology } from './topology';

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
 * Class scores are the logits before a final softmax or sigmoid. Where that activation is fused into the last
 * Dense or Conv layer (possibly followed by Reshape, Flatten, Dropout...), there is no tensor for the logits, so
 * the model is built with that activation set to linear and the tool applies it itself. `topology` is the flat
 * functional form made by normalizeLayersTopology, a fresh copy that is changed in place; a standalone
 * Activation/Softmax layer is left as it is (the classifier steps over it).
 */
function stripFinalActivation(topology: Json): { kind: 'softmax' | 'sigmoid'; layer: string } | undefined {
  const config = ((topology.model_config ?? topology) as Json).config as Json;
  const layers = (config.layers as Json[]) ?? [];
  const outs = config.output_layers as unknown[][] | undefined;
  if (!outs || outs.length !== 1) return undefined;
  const byName = new Map(layers.map((l) => [l.name as string, l]));
  let layer = byName.get(outs[0][0] as string);
  for (let guard = 0; layer && guard < layers.length; guard++) {
    const cfg = layer.config as Json;
    const inbound = layer.inbound_nodes as unknown[][][] | undefined;
    const linearActivation = layer.class_name === 'Activation' && (cfg.activation === 'linear' || cfg.activation == null);
    // Layers that pass values on or only reshape them may stand between the activation and the output.
    const cls = layer.class_name as string;
    if ((PASS_THROUGH.has(cls) || RESHAPING.has(cls) || linearActivation) && inbound?.length === 1 && inbound[0].length === 1) {
      layer = byName.get(inbound[0][0][0] as string);
      continue;
    }
    if (layer.class_name !== 'Activation' && (cfg.activation === 'softmax' || cfg.activation === 'sigmoid')) {
      const kind = cfg.activation;
      cfg.activation = 'linear';
      return { kind, layer: layer.name as string };
    }
    break;
  }
  return undefined;
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
    const normal = normalizeLayersTopology(loaded.artifacts.modelTopology as Json, loaded.artifacts.weightSpecs ?? [], where);
    const stripped = stripFinalActivation(normal.modelTopology as Json);
    const artifacts: tf.io.ModelArtifacts = { ...loaded.artifacts, modelTopology: normal.modelTopology, weightSpecs: normal.weightSpecs };
    let model: tf.LayersModel;
    try {
      model = await tf.loadLayersModel(memoryHandler(artifacts));
    } catch (e) {
      wrapLoadError(e, where, artifacts.weightSpecs);
    }
    try {
      classifier = new LayersClassifier(model, { strippedActivation: stripped, qualifiedNames: normal.qualifiedNames });
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
