/**
 * loadModel: artifacts -> tfjs model -> Classifier, plus the model's sidecar configuration.
 */
import * as path from 'path';
import { loadArtifacts, LoadedArtifacts } from './artifacts';
import { Classifier } from './classifier';
import { buildClassifier } from './build';
import { Sidecar, readSidecar } from './config';

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

export async function loadModelFrom(given: string): Promise<LoadedModel> {
  const loaded: LoadedArtifacts = await loadArtifacts(given);
  const where = loaded.source.modelJson;
  const classifier = await buildClassifier(loaded.artifacts, loaded.format, where);
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
