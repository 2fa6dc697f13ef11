// Output files appear whole or not at all: write a temp file beside the target, fsync, then rename/link into place.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { errorMessage, OutputError } from '../util/errors';

export class OutputExistsError extends Error {
  constructor(readonly file: string) {
    super(`${file} exists (use --force to overwrite)`);
    this.name = 'OutputExistsError';
  }
}

export interface WriteOptions {
  /** Replace an existing file (default false: throw OutputExistsError). */
  overwrite?: boolean;
}

// Temp files being written right now, so a SIGINT handler can remove them synchronously.
const pending = new Set<string>();

// Hard links are how "create only if absent" stays atomic; some file systems (FAT, some network mounts) lack them.
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

export async function writeFileAtomic(file: string, data: Buffer | string, opts: WriteOptions = {}): Promise<void> {
  const overwrite = opts.overwrite ?? false;
  // Fail early, before writing anything (the final link below re-checks atomically).
  if (!overwrite && (await exists(file))) throw new OutputExistsError(file);
  const tmp = tempNameFor(file);
  try {
    createTemp(tmp);
  } catch (err) {
    throw writeError(err, file);
  }
  try {
    // Opened again without O_CREAT: if Ctrl-C's handler removed the temp file meanwhile, this fails (ENOENT) and
    // creates nothing.
    const fh = await fsp.open(tmp, 'r+');
    try {
      await fh.writeFile(data);
      await fh.sync(); // the data must be on disk before the name points at it, or a crash can leave an empty file
    } finally {
      await fh.close();
    }
    if (overwrite) {
      await fsp.rename(tmp, file);
    } else {
      await placeIfAbsent(tmp, file);
    }
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw writeError(err, file);
  } finally {
    pending.delete(tmp);
  }
}

/**
 * Copies src to file as writeFileAtomic writes: a temp copy beside the target, synced, then moved into place
 * (never over an existing file unless overwrite). src is only read.
 */
export async function copyFileAtomic(src: string, file: string, opts: WriteOptions = {}): Promise<void> {
  const overwrite = opts.overwrite ?? false;
  if (!overwrite && (await exists(file))) throw new OutputExistsError(file);
  let data: Buffer;
  try {
    data = await fsp.readFile(src);
  } catch (err) {
    throw new OutputError(`cannot copy ${src} to ${file}: ${describe(err)}`);
  }
  await writeFileAtomic(file, data, { overwrite });
}

function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Creates the (empty) temp file synchronously, on purpose: a SIGINT handler runs between two JavaScript tasks, so
 * with a synchronous create every temp file that exists is in `pending` when it runs. An asynchronous create could
 * still be running on libuv's thread pool while the handler removed `pending`'s files and exited, leaving the new
 * temp file behind (seen on a machine whose cores were busy with other work).
 */
function createTemp(tmp: string): void {
  fs.closeSync(fs.openSync(tmp, 'wx', 0o666));
  pending.add(tmp);
}

// Failures that every later write would meet too: they stop the run rather than fail each image in turn.
const RUN_LEVEL = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG']);

/** A one-line error naming the output file (Node's own says "ENOSPC: no space left on device, write"). */
function writeError(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (err instanceof OutputExistsError || !code) return err;
  return new OutputError(`cannot write ${file}: ${describe(err)}`, RUN_LEVEL.has(code));
}

/** Moves tmp to file unless file exists, without a window in which another writer's file could be replaced. */
async function placeIfAbsent(tmp: string, file: string): Promise<void> {
  try {
    await fsp.link(tmp, file); // fails with EEXIST rather than replacing
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new OutputExistsError(file);
    if (!code || !NO_LINK.has(code)) throw err;
    // No hard links here: best effort (a file created between the check and the rename is replaced).
    if (await exists(file)) throw new OutputExistsError(file);
    await fsp.rename(tmp, file);
    return;
  }
  // The output is in place and complete; a leftover temp name is only untidy.
  await fsp.rm(tmp, { force: true }).catch(() => undefined);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Deletes every temp file still being written. Synchronous, for a SIGINT/SIGTERM handler that exits right after:
 * Ctrl-C then leaves neither half-written outputs nor temp files behind.
 */
export function removePendingTempFiles(): void {
  for (const tmp of pending) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing more can be done while exiting.
    }
  }
  pending.clear();
}

/**
 * Creates dir (and parents) and checks that files can be created in it. Errors are OutputErrors (one line, exit 2
 * when it is the run's output folder).
 */
/**
 * Writes one image's files (paths relative to `outDir`), each atomically. A file that cannot be written fails that
 * image only: its message is returned (null when all were written). A full disk or a read-only file system would
 * fail every later image too: that OutputError is thrown, and stops the run (exit 2).
 */
export async function writeImageFiles(files: { rel: string; data: Uint8Array }[], outDir: string, overwrite: boolean): Promise<string | null> {
  try {
    for (const f of files) {
      const target = path.join(outDir, f.rel);
      await ensureDir(path.dirname(target));
      await writeFileAtomic(target, Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), { overwrite });
    }
    return null;
  } catch (e) {
    if (e instanceof OutputError && e.stopsRun) throw e;
    return errorMessage(e);
  }
}

export async function ensureDir(dir: string): Promise<void> {
  try {
    await makeDirs(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new OutputError(`output folder ${dir}: a file of that name (or of a parent) is in the way`);
    // mkdir answers ENOENT under an existing parent where the file system allows no folders (/proc).
    const why = code === 'ENOENT' ? 'the file system does not allow creating it' : describe(err);
    throw new OutputError(`cannot create output folder ${dir}: ${why}`, RUN_LEVEL.has(code ?? ''));
  }
  const st = await fsp.stat(dir);
  if (!st.isDirectory()) throw new OutputError(`output folder ${dir}: a file of that name (or of a parent) is in the way`);
  try {
    await fsp.access(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    throw new OutputError(`output folder ${dir} is not writable: ${describe(err)}`);
  }
}

/**
 * mkdir -p, one level at a time. Node's `mkdir(dir, {recursive: true})` never returns where mkdir fails with
 * ENOENT on an existing parent (`/proc/foo`: it loops at 100% CPU); here every failure is an error at once.
 */
export async function makeDirs(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let d = target; ; d = path.dirname(d)) {
    try {
      await fsp.stat(d);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(d) === d) throw err;
      missing.push(d);
    }
  }
  for (const d of missing.reverse()) {
    try {
      await fsp.mkdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile by someone else: fine
    }
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EFBIG: 'file too large (file size limit reached)',
    ENAMETOOLONG: 'name too long',
  };
  return (e.code && reasons[e.code]) ?? e.code ?? String(err);
}

/** `.<name>.<pid>.<12 hex>.tmp`, as writeFileAtomic names its temp files. */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files that a killed run left in dir's tree (a power cut, SIGKILL: nothing could remove them then).
 * Only names writeFileAtomic makes, and only those of processes that are gone; returns how many were removed.
 */
export function removeStrayTempFiles(dir: string): number {
  return removeTempFiles(dir, (pid) => !alive(pid));
}

/**
 * Removes this process's own temp files in dir's tree: for when a thread of it that was writing there (evaluate's,
 * see batch/evaluate-thread.ts) has been stopped, or is about to be with the process, and cannot remove its own.
 */
export function removeOwnTempFiles(dir: string): number {
  return removeTempFiles(dir, (pid) => pid === process.pid);
}

function removeTempFiles(dir: string, whose: (pid: number) => boolean): number {
  let removed = 0;
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) {
        const m = TEMP_NAME.exec(e.name);
        if (m && whose(Number(m[1]))) {
          fs.rmSync(full, { force: true });
          removed++;
        }
      }
    }
  };
  walk(dir);
  return removed;
}
