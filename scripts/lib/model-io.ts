/**
 * Reading and writing tfjs model folders (model.json + weights.bin) with plain fs, for Node without tfjs-node
 * (whose file:// handler is the only built-in one, and which does not install here). Works for LayersModels and,
 * on the loading side, for GraphModels too.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

export const WEIGHTS_FILE = 'weights.bin';

function weightBytes(a: tf.io.ModelArtifacts): Buffer {
  const d = a.weightData;
  if (d == null) return Buffer.alloc(0);
  return Buffer.from(Array.isArray(d) ? tf.io.concatenateArrayBuffers(d) : d);
}

/** Writes model.json (one weights shard) and weights.bin into dir; returns the total size in bytes. */
export function writeArtifacts(dir: string, a: tf.io.ModelArtifacts, extra: Record<string, unknown> = {}): number {
  fs.mkdirSync(dir, { recursive: true });
  const weights = weightBytes(a);
  const json = {
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: a.convertedBy ?? null,
    modelTopology: a.modelTopology,
    ...extra,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs ?? [] }],
  };
  const text = JSON.stringify(json);
  fs.writeFileSync(path.join(dir, 'model.json'), text);
  fs.writeFileSync(path.join(dir, WEIGHTS_FILE), weights);
  return Buffer.byteLength(text) + weights.length;
}

/** An IOHandler whose save() writes the model into dir (model.save(fileSaver(dir))). */
export function fileSaver(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (a) => {
    writeArtifacts(dir, a);
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        weightDataBytes: weightBytes(a).length,
      },
    };
  });
}

/**
 * An IOHandler whose load() reads dir/model.json and the shards its weightsManifest lists, concatenated in order
 * (tf.loadLayersModel(fileLoader(dir)) or tf.loadGraphModel(fileLoader(dir))).
 */
export function fileLoader(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest ?? []) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        modelInitializer: json.modelInitializer,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

/** Size of a model folder's model.json plus weight shards, in bytes. */
export function modelBytes(dir: string): number {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  let n = fs.statSync(path.join(dir, 'model.json')).size;
  for (const group of json.weightsManifest ?? []) for (const p of group.paths) n += fs.statSync(path.join(dir, p)).size;
  return n;
}
