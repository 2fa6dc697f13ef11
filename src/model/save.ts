/** Saving a LayersModel to a folder (model.json + one weights.bin) without tfjs-node's file:// handler. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

export function artifactsToFiles(a: tf.io.ModelArtifacts, weightsFile = 'weights.bin'): { modelJson: string; weights: Buffer } {
  const data = a.weightData == null ? new ArrayBuffer(0) : Array.isArray(a.weightData) ? tf.io.concatenateArrayBuffers(a.weightData) : a.weightData;
  const json = {
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [weightsFile], weights: a.weightSpecs ?? [] }],
  };
  return { modelJson: JSON.stringify(json), weights: Buffer.from(data) };
}

export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const { modelJson, weights } = artifactsToFiles(a);
      fs.writeFileSync(path.join(dir, 'model.json'), modelJson);
      fs.writeFileSync(path.join(dir, 'weights.bin'), weights);
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
}
