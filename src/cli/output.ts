/** Terminal output: colour only on a TTY and never with NO_COLOR; progress only on a TTY. */
import chalk from 'chalk';

const useColor = (stream: NodeJS.WriteStream) => !process.env.NO_COLOR && !!stream.isTTY && chalk.supportsColor !== false;

export const out = new chalk.Instance({ level: useColor(process.stdout) ? Math.max(1, chalk.level) as 1 | 2 | 3 : 0 });
export const err = new chalk.Instance({ level: useColor(process.stderr) ? Math.max(1, chalk.level) as 1 | 2 | 3 : 0 });

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A file name, label or message as it may appear inside one console line: control characters (a newline, tab or
 * escape in a file name) are written as `\n`, `\t`, `\x1b`..., so that each image stays one line and nothing in a
 * name can move the cursor or colour the terminal. C1 controls and the Unicode line separators too. The JSON
 * reports keep the real names (JSON escapes what it must).
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => NAMED_ESCAPES[c] ?? (c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/**
 * Time left from the work done: the rate is measured from the first report on (time since then / work done since
 * then), never from a start whose work is unknown. Counting the first batch's work but not its time made the
 * estimate half or less of the truth in the first seconds of a long method. A report of less work than the last
 * one starts a new measurement (the next image or method). Null until there are two reports to measure between.
 */
export class WorkEta {
  private t0 = 0;
  private d0 = 0;
  private last = -1;
  /** `done` and `total` in work units; returns the milliseconds left, or null when not yet known. */
  update(done: number, total: number, now = Date.now()): number | null {
    if (this.last < 0 || done < this.last) {
      this.t0 = now;
      this.d0 = done;
      this.last = done;
      return null;
    }
    this.last = done;
    if (done <= this.d0) return null;
    return ((now - this.t0) / (done - this.d0)) * Math.max(0, total - done);
  }
}

/** A one-line progress bar on stderr, redrawn in place; silent when stderr is not a terminal. */
export class Progress {
  private readonly enabled: boolean;
  private readonly eta = new WorkEta();
  private skipped = 0;
  constructor(private readonly total: number, enabled = !!process.stderr.isTTY) {
    this.enabled = enabled && total > 1;
  }
  /** `skipped`: an image done by an earlier run (--resume): no work, so not counted in the rate. */
  tick(done: number, label: string, skipped = false): void {
    if (skipped) this.skipped++;
    if (!this.enabled) return;
    const width = 24;
    const filled = Math.round((done / this.total) * width);
    const leftMs = skipped ? null : this.eta.update(done - this.skipped, this.total - this.skipped);
    const eta = leftMs == null ? 0 : leftMs / 1000;
    const shown = printable(label);
    const name = shown.length > 40 ? '…' + shown.slice(-39) : shown;
    process.stderr.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${eta > 0 ? `~${Math.ceil(eta)}s left ` : ''}${name}`);
  }
  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }
}

/**
 * A closed stdout or stderr (`tfjs-cam explain ... | head -1`) must not stop the run half way: Node reports the
 * broken pipe as an 'error' event that nothing handles, which crashed the process and left temp files and the
 * journal behind. The stream is silenced instead and the run finishes its files and report as usual.
 */
export function survivePipeClose(): void {
  for (const s of [process.stdout, process.stderr]) {
    if ((s as { tfjsCamGuarded?: boolean }).tfjsCamGuarded) continue;
    (s as { tfjsCamGuarded?: boolean }).tfjsCamGuarded = true;
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
      s.write = ((_chunk: unknown, encOrCb?: unknown, cb?: unknown) => {
        const done = typeof encOrCb === 'function' ? encOrCb : cb;
        if (typeof done === 'function') process.nextTick(done as () => void);
        return true;
      }) as typeof s.write;
    });
  }
}
