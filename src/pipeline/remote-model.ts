/**
 * Models given as http(s) URLs get their sidecar from the same URL folder (src/model/remote-sidecar.ts). For
 * explain and evaluate the sidecar's settings become plain options (flags still win), so that worker threads,
 * which load the model again from its URL, see the same settings.
 */
import { resolveModelSource } from '../model/artifacts';
import { loadModelFrom, LoadedModel } from '../model/load';
import { fetchRemoteSidecar } from '../model/remote-sidecar';
import type { SessionOptions } from './session';
import type { Interpolation } from '../image/resize';

const isUrl = (m: unknown): m is string => typeof m === 'string' && /^https?:\/\//i.test(m);

/**
 * For a URL model: loads it (model.json and shards first, so their errors come first), then its sidecar, and
 * returns the loaded model plus the options with the sidecar's settings filled in (flags win).
 */
export async function resolveRemoteModel<T extends SessionOptions & { interpolation?: Interpolation; alignCorners?: boolean }>(opts: T): Promise<{ opts: T; model?: LoadedModel }> {
  if (!isUrl(opts.model)) return { opts };
  const model = await loadModelWithSidecar(opts.model);
  const sidecar = model.sidecar;
  if (!sidecar) return { opts, model };
  const layers = sidecar.layer == null ? undefined : Array.isArray(sidecar.layer) ? sidecar.layer : [sidecar.layer];
  const { grayscale: _g, interpolation, alignCorners, ...pre } = sidecar.preprocess ?? {};
  return {
    model,
    opts: {
      ...opts,
      layers: opts.layers?.length ? opts.layers : layers,
      method: opts.method ?? sidecar.method,
      interpolation: opts.interpolation ?? interpolation,
      alignCorners: opts.alignCorners ?? alignCorners,
      labels: opts.labels ?? sidecar.labels,
      preprocess: { ...pre, ...dropUndefined(opts.preprocess ?? {}) },
    },
  };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** loadModelFrom, plus the sidecar of a URL model (the library's loadModel, and check). */
export async function loadModelWithSidecar(given: string): Promise<LoadedModel> {
  const model = await loadModelFrom(given);
  if (isUrl(given) && !model.sidecar) {
    try {
      model.sidecar = await fetchRemoteSidecar(resolveModelSource(given).modelJson);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return model;
}
