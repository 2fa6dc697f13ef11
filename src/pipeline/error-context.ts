/**
 * Run-level errors name the file they are about: `<labels file>: the labels list has 3 entries...`,
 * `<model.json>: no layer named 'x'...`. Errors that already start with a path or URL are left as they are.
 */
import * as path from 'path';
import { ModelError, UserError } from '../util/errors';
import { readSidecar, SIDECAR_NAME } from '../model/config';
import { resolveModelSource } from '../model/artifacts';
import type { LoadedModel } from '../model/load';

const NAMES_A_FILE = /^(\/|[A-Za-z]:[\\/]|\.{0,2}[\\/]|https?:\/\/)/;

function modelFile(model: string | LoadedModel): string {
  if (typeof model !== 'string') return model.source;
  try {
    return resolveModelSource(model).modelJson;
  } catch {
    return model;
  }
}

function labelsFile(model: string | LoadedModel, labels: string | string[] | undefined): string | null {
  if (typeof labels === 'string') return labels;
  if (labels) return null;
  let dir: string;
  let sidecar;
  try {
    if (typeof model === 'string') {
      const src = resolveModelSource(model);
      if (src.isUrl) return src.modelJson.replace(/[^/]*$/, SIDECAR_NAME);
      dir = path.dirname(src.modelJson);
      sidecar = readSidecar(dir);
    } else {
      dir = model.baseDir;
      sidecar = model.sidecar;
    }
  } catch {
    return null;
  }
  if (typeof sidecar?.labels === 'string') return /^https?:\/\//.test(dir) ? new URL(sidecar.labels, dir).toString() : path.resolve(dir, sidecar.labels);
  return path.join(dir, SIDECAR_NAME);
}

export function withFileContext(e: unknown, model: string | LoadedModel, labels?: string | string[]): unknown {
  if (!(e instanceof UserError) || NAMES_A_FILE.test(e.message)) return e;
  let file: string | null = null;
  if (/^the labels list has/.test(e.message)) file = labelsFile(model, labels);
  else if (e instanceof ModelError || /^(no layer named|layer '|CAM is not possible|the model takes)/.test(e.message)) file = modelFile(model);
  if (!file) return e;
  const Ctor = e.constructor as new (message: string) => UserError;
  const named = new Ctor(`${file}: ${e.message}`);
  named.stack = e.stack;
  return named;
}
