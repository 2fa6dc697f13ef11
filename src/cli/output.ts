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
