/**
 * Small files read from disk (Node): the sidecar (for messages about a model not yet loaded) and labels files
 * given by the user. What they may contain is ./sidecar.ts, and how settings combine ./resolve.ts, both shared with
 * the browser build; ./sidecar.ts is re-exported here for the modules that import it from this file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../util/errors';
import { MAX_LABELS_BYTES, MAX_SIDECAR_BYTES, parseLabels, parseSidecar, Sidecar, SIDECAR_NAME } from './sidecar';

export * from './sidecar';

/** Reads a text file that must stay small (labels, sidecar, spec), refusing it by its size before reading it. */
export function readSmallFile(file: string, limit: number, what: string): string {
  const st = fs.statSync(file);
  if (st.size > limit) throw new UsageError(`${file}: ${what} is ${st.size} bytes, over the limit of ${limit}`);
  return fs.readFileSync(file, 'utf8');
}

/** Reads the sidecar next to model.json, if any. Errors name the file and the field. */
export function readSidecar(modelDir: string): Sidecar | null {
  const file = path.join(modelDir, SIDECAR_NAME);
  if (!fs.existsSync(file)) return null;
  return parseSidecar(readSmallFile(file, MAX_SIDECAR_BYTES, 'the sidecar'), file);
}

/** Labels from a JSON array, a JSON object with a `labels` array, or a text file with one label per line. */
export function readLabels(file: string): string[] {
  if (!fs.existsSync(file)) throw new UsageError(`${file}: labels file not found`);
  return parseLabels(readSmallFile(file, MAX_LABELS_BYTES, 'the labels file'), file);
}
