/**
 * The files beside model.json for the Node build: read from disk for a local model, fetched (./http-files.ts,
 * with the loader's timeout) for a model given as an http(s) URL. What is read, and what it means, is ./resolve.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelError, UsageError } from '../util/errors';
import { fetchTimeoutMs } from './artifacts';
import { httpModelFiles } from './http-files';
import type { ModelFileReader } from './resolve';

/** A local model folder. Names are paths relative to it (a sidecar may name a labels file elsewhere on the disk). */
export function diskModelFiles(dir: string): ModelFileReader {
  return {
    locate: (name) => path.resolve(dir, name),
    async read(name, limit, what) {
      const file = path.resolve(dir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        return null;
      }
      if (!st.isFile()) return null;
      // Refused by its size before it is read.
      if (st.size > limit) throw new UsageError(`${file}: ${what} is ${st.size} bytes, over the limit of ${limit}`);
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (e) {
        // There but unreadable (permissions): said, rather than labels silently replaced by class numbers.
        throw new ModelError(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    },
  };
}

/** The reader for a loaded model's folder: `baseDir` is a folder, or the URL folder of model.json. */
export function modelFilesAt(baseDir: string): ModelFileReader {
  return /^https?:\/\//i.test(baseDir) ? httpModelFiles(baseDir, { timeoutMs: fetchTimeoutMs() }) : diskModelFiles(baseDir);
}
