/** Expanding the command line's images and folders into a sorted list of image files. */
import * as fs from 'fs';
import * as path from 'path';
import { IMAGE_EXTENSIONS } from '../image/decode';

export interface ImageJob {
  /** Path as it will be read. */
  file: string;
  /** Path relative to the folder given (or the base name for a single file): mirrored under --out. */
  rel: string;
  /**
   * Output name stem, relative to --out: `rel` without its extension, unique within the run (see uniqueStems).
   * Set by collectImages.
   */
  stem?: string;
}

export interface WalkResult {
  jobs: ImageJob[];
  /** Inputs that could not be used: missing paths, empty folders, unreadable sub-folders. */
  problems: { input: string; message: string }[];
}

export interface WalkOptions {
  /** A folder never read from (the output folder): skipped wherever it appears inside an input folder. */
  exclude?: string | null;
}

function isImage(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** `permission denied` rather than Node's `EACCES: permission denied, scandir '...'`. */
function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'no such file or folder';
  return `cannot read folder (${code ?? String(err)})`;
}

function walkDir(root: string, dir: string, out: ImageJob[], problems: WalkResult['problems'], exclude: string | null): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    // One unreadable sub-folder is one failure; the rest of the tree goes on.
    problems.push({ input: dir, message: reason(e) });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (exclude && path.resolve(full) === exclude) continue; // never read our own outputs
      walkDir(root, full, out, problems, exclude);
    } else if (e.isFile() && isImage(e.name)) out.push({ file: full, rel: path.relative(root, full) });
  }
}

const stemOf = (rel: string) => rel.slice(0, rel.length - path.extname(rel).length);

/**
 * Output stems unique per input file: `rel` without its extension, except where inputs of different extensions
 * would share a stem (`c.png` and `c.webp`): those keep their extension (`c.png`, `c.webp`). Compared
 * case-insensitively, as some file systems are. Any stem still shared (two files of the same name given from
 * different folders) gets `-2`, `-3`... in input order.
 */
export function uniqueStems(jobs: ImageJob[]): void {
  const key = (s: string) => s.toLowerCase();
  // The different names (with extension) sharing each stem: the extension is kept only where it tells them apart.
  const names = new Map<string, Set<string>>();
  for (const j of jobs) {
    const k = key(stemOf(j.rel));
    if (!names.has(k)) names.set(k, new Set());
    names.get(k)!.add(key(j.rel));
  }
  const taken = new Set<string>();
  for (const j of jobs) {
    let stem = stemOf(j.rel);
    if (names.get(key(stem))!.size > 1) stem = j.rel;
    let unique = stem;
    for (let n = 2; taken.has(key(unique)); n++) unique = `${stem}-${n}`;
    taken.add(key(unique));
    j.stem = unique;
  }
}

/**
 * Files and folders -> image jobs. A file given twice (or also found in a folder given) is explained once.
 * With one folder argument its tree is mirrored as it is; with several, each is mirrored under its own name
 * (`a/x.png` and `b/x.png` -> `a/x...`, `b/x...`), so same-named files in different folders never collide.
 */
export function collectImages(inputs: string[], opts: WalkOptions = {}): WalkResult {
  const exclude = opts.exclude ? path.resolve(opts.exclude) : null;
  const jobs: ImageJob[] = [];
  const problems: WalkResult['problems'] = [];
  const seen = new Set<string>();
  const folders = inputs.filter((i) => {
    try {
      return fs.statSync(i).isDirectory();
    } catch {
      return false;
    }
  });
  const several = new Set(folders.map((f) => path.resolve(f))).size > 1;
  const folderNames = new Set<string>();
  const add = (job: ImageJob) => {
    const id = path.resolve(job.file);
    if (seen.has(id)) return;
    seen.add(id);
    jobs.push(job);
  };
  for (const input of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(input);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push({ input, message: code === 'EACCES' || code === 'EPERM' ? 'permission denied' : 'no such file or folder' });
      continue;
    }
    if (exclude && (path.resolve(input) + path.sep).startsWith(exclude + path.sep) && path.resolve(input) !== exclude) {
      problems.push({ input, message: 'is inside the output folder (outputs are never read as inputs)' });
      continue;
    }
    if (st.isDirectory()) {
      if (seen.has(path.resolve(input) + path.sep)) continue; // the same folder twice
      seen.add(path.resolve(input) + path.sep);
      const found: ImageJob[] = [];
      const before = problems.length;
      walkDir(input, input, found, problems, exclude);
      if (found.length === 0 && problems.length === before) problems.push({ input, message: `no images in this folder (looked for ${IMAGE_EXTENSIONS.join(' ')})` });
      let prefix = '';
      if (several) {
        const base = path.basename(path.resolve(input)) || 'root';
        prefix = base;
        for (let n = 2; folderNames.has(prefix.toLowerCase()); n++) prefix = `${base}-${n}`;
        folderNames.add(prefix.toLowerCase());
      }
      for (const j of found) add(prefix ? { file: j.file, rel: path.join(prefix, j.rel) } : j);
    } else {
      // A file given by name is tried whatever its extension: the decoder says what is wrong with it.
      add({ file: input, rel: path.basename(input) });
    }
  }
  uniqueStems(jobs);
  return { jobs, problems };
}
