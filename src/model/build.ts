/**
 * Model artifacts in memory -> tfjs model -> Classifier. No I/O: Node (./load.ts) and the browser
 * (src/browser/load.ts) fetch or read the artifacts their own way and build the classifier here.
 */
import * as tf from '@tensorflow/tfjs';
import { memoryHandler } from './manifest';
import { Classifier } from './classifier';
import { LayersClassifier, PASS_THROUGH, RESHAPING } from './layers-classifier';
import { GraphClassifier } from './graph-classifier';
import { ModelError, UserError } from '../util/errors';
import { normalizeLayersTopology } from './topology';
import { describeStoredNormalization, KerasNormalization } from './normalization-layer';
import { InputRange, layersInputSteps, rangeOfSteps } from './input-range';

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

/** What the layers right after the input say about the range it takes (./input-range.ts). */
function layersInputRange(model: tf.LayersModel, config: Json, qualified: Map<string, string>): InputRange | null {
  const statistics = (name: string) => {
    const layer = model.getLayer(name);
    return layer instanceof KerasNormalization ? layer.values() : null;
  };
  return rangeOfSteps(layersInputSteps(config, statistics, (n) => qualified.get(n) ?? n));
}

/** Builds the classifier; errors name `where` (the model.json path or URL). */
export async function buildClassifier(artifacts: tf.io.ModelArtifacts, format: Classifier['format'], where: string): Promise<Classifier> {
  let classifier: Classifier;
  if (format === 'graph-model') {
    let model: tf.GraphModel;
    try {
      model = await tf.loadGraphModel(memoryHandler(artifacts));
    } catch (e) {
      wrapLoadError(e, where, artifacts.weightSpecs);
    }
    try {
      classifier = new GraphClassifier(model);
    } catch (e) {
      model.dispose();
      wrapLoadError(e, where);
    }
  } else {
    const normal = normalizeLayersTopology(artifacts.modelTopology as Json, artifacts.weightSpecs ?? [], where);
    const stripped = stripFinalActivation(normal.modelTopology as Json);
    const flatConfig = normal.modelTopology.model_config.config as unknown as Json;
    describeStoredNormalization(flatConfig.layers as Json[], normal.weightSpecs);
    const built: tf.io.ModelArtifacts = { ...artifacts, modelTopology: normal.modelTopology, weightSpecs: normal.weightSpecs };
    let model: tf.LayersModel;
    try {
      model = await tf.loadLayersModel(memoryHandler(built));
    } catch (e) {
      wrapLoadError(e, where, built.weightSpecs);
    }
    try {
      classifier = new LayersClassifier(model, { strippedActivation: stripped, qualifiedNames: normal.qualifiedNames });
    } catch (e) {
      model.dispose();
      wrapLoadError(e, where);
    }
    classifier.inputRange = layersInputRange(model, flatConfig, normal.qualifiedNames);
  }
  return classifier;
}
