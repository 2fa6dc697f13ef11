/**
 * The library's loadModel: the backend first, chosen as the CLI chooses it (initBackend: 'auto' is the best one
 * available), then the model built on it. Loading first would build the model on tfjs's default backend (the
 * pure-JS CPU one, which greets Node users with its "install tfjs-node" banner) and move every weight when
 * explain() then starts the real one.
 */
import { BackendChoice, initBackend } from '../backend';
import { loadModelFrom, LoadedModel } from '../model/load';

export interface LoadModelOptions {
  /** Default 'auto', as explain's. */
  backend?: BackendChoice;
  /** WASM: threads for one image's kernels (see backend/wasm-threads.ts). */
  threads?: number;
}

/** A model folder, model.json, or http(s) URL, with its sidecar (from the same URL folder for a URL). */
export async function loadModel(given: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  await initBackend(opts.backend ?? 'auto', { threads: opts.threads });
  return loadModelFrom(given);
}
