/**
 * loadModel: artifacts -> tfjs model -> Classifier, plus the model's sidecar and the reader of the other files
 * beside model.json (on disk, or fetched for a URL model) that the model resolution (./resolve.ts) reads.
 */
import { loadArtifacts, LoadedArtifacts } from './artifacts';
import { Classifier } from './classifier';
import { buildClassifier } from './build';
import { Sidecar } from './config';
import { modelFilesAt } from './files';
import { ModelFileReader, readSidecar } from './resolve';

export interface LoadedModel {
  classifier: Classifier;
  /** Where it came from, as given. */
  source: string;
  sha256: string;
  format: Classifier['format'];
  /** Folder (or URL prefix) of model.json. */
  baseDir: string;
  /** tfjs-cam.json beside model.json (fetched from the same URL folder for a URL model), or null. */
  sidecar: Sidecar | null;
  /** The files beside model.json, as the model resolution reads them. */
  files: ModelFileReader;
  /** model.json's userDefinedMetadata (where some exporters keep the labels), or undefined. */
  metadata?: unknown;
  dispose(): void;
}

/**
 * Builds the model on the backend that is active: the caller chooses it first (openSession, the library's
 * loadModel), or the model's tensors would live on tfjs's default backend and move later.
 */
export async function loadModelFrom(given: string): Promise<LoadedModel> {
  const loaded: LoadedArtifacts = await loadArtifacts(given);
  const where = loaded.source.modelJson;
  const classifier = await buildClassifier(loaded.artifacts, loaded.format, where);
  const files = modelFilesAt(loaded.baseDir);
  let sidecar: Sidecar | null;
  try {
    sidecar = await readSidecar(files);
  } catch (e) {
    classifier.dispose();
    throw e;
  }
  return {
    classifier,
    source: given,
    sha256: loaded.sha256,
    format: loaded.format,
    baseDir: loaded.baseDir,
    sidecar,
    files,
    metadata: loaded.artifacts.userDefinedMetadata,
    dispose: () => classifier.dispose(),
  };
}
