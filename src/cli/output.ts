/** Terminal output: colour only on a TTY and never with NO_COLOR; progress only on a TTY. */
import chalk from 'chalk';

const useColor = (stream: NodeJS.WriteStream) => !process.env.NO_COLOR && !!stream.isTTY && chalk.supportsColor !== false;

export const out = new chalk.Instance({ level: useColor(process.stdout) ? Math.max(1, chalk.level) as 1 | 2 | 3 : 0 });
export const err = new chalk.Instance({ level: useColor(process.stderr) ? Math.max(1, chalk.level) as 1 | 2 | 3 : 0 });

/** A one-line progress bar on stderr, redrawn in place; silent when stderr is not a terminal. */
export class Progress {
  private readonly enabled: boolean;
  private readonly started = Date.now();
  constructor(private readonly total: number, enabled = !!process.stderr.isTTY) {
    this.enabled = enabled && total > 1;
  }
  tick(done: number, label: string): void {
    if (!this.enabled) return;
    const width = 24;
    const filled = Math.round((done / this.total) * width);
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : 0;
    const name = label.length > 40 ? '…' + label.slice(-39) : label;
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
