/**
 * One run at a time per output folder: `<out>/.tfjs-cam.lock` holds the pid of the run writing there. Two runs
 * with --force into one folder used to interleave their files and reports silently; the second now stops at once
 * (exit 2) naming the folder and the other run's pid. A lock whose pid is gone (a killed run) is taken over.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OutputError } from '../util/errors';

export const LOCK_NAME = '.tfjs-cam.lock';

const held = new Set<string>();
let exitHook = false;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Takes the lock of dir (which exists) or throws an OutputError; release() gives it back. */
export function lockOutputDir(dir: string): { release(): void } {
  const file = path.join(dir, LOCK_NAME);
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new OutputError(`cannot lock output folder ${dir}: ${code ?? String(e)}`);
      const pid = readPid(file);
      // Our own pid: another run of this process (library use) holds it; a live pid: another run.
      if (pid != null && (pid === process.pid || pidAlive(pid)) || attempt > 0) {
        throw new OutputError(`output folder ${dir} is in use by another tfjs-cam run (pid ${pid ?? 'unknown'}); wait for it to finish or use another --out`);
      }
      fs.rmSync(file, { force: true }); // stale: its run is gone
    }
  }
  held.add(file);
  if (!exitHook) {
    exitHook = true;
    // process.exit() (Ctrl-C) skips finally blocks: the lock goes with the process all the same.
    process.on('exit', releaseAllLocks);
  }
  return {
    release: () => {
      if (!held.delete(file)) return;
      if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
    },
  };
}

/** Synchronous, for exit: removes every lock this process holds. */
export function releaseAllLocks(): void {
  for (const file of held) {
    try {
      if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
    } catch {
      // exiting anyway
    }
  }
  held.clear();
}

/** The pid of a live run holding dir's lock, else null (no lock, or its run is gone). Reads only. */
export function lockHolder(dir: string): number | null {
  const pid = readPid(path.join(dir, LOCK_NAME));
  return pid != null && pidAlive(pid) ? pid : null;
}
