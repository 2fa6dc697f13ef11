/** Expanding the command line's images and folders into a sorted list of image files. */
import * as fs from 'fs';
import * as path from 'path';
import { IMAGE_EXTENSIONS } from '../image/decode';

export interface ImageJob {
  /** Path as it will be read. */
  file: string;
  /** Path relative to the folder given (or the base name for a single file): mirrored under --out. */
  rel: string;
}

export interface WalkResult {
  jobs: ImageJob[];
  /** Inputs that could not be used: missing paths, empty folders. */
  problems: { input: string; message: string }[];
}

function isImage(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

function walkDir(root: string, dir: string, out: ImageJob[]): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walkDir(root, full, out);
    else if (e.isFile() && isImage(e.name)) out.push({ file: full, rel: path.relative(root, full) });
  }
}

export function collectImages(inputs: string[]): WalkResult {
  const jobs: ImageJob[] = [];
  const problems: WalkResult['problems'] = [];
  for (const input of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(input);
    } catch {
      problems.push({ input, message: 'no such file or folder' });
      continue;
    }
    if (st.isDirectory()) {
      const found: ImageJob[] = [];
      walkDir(input, input, found);
      if (found.length === 0) problems.push({ input, message: `no images in this folder (looked for ${IMAGE_EXTENSIONS.join(' ')})` });
      jobs.push(...found);
    } else {
      // A file given by name is tried whatever its extension: the decoder says what is wrong with it.
      jobs.push({ file: input, rel: path.basename(input) });
    }
  }
  return { jobs, problems };
}
