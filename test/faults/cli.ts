// Shared checks of the fault tests: the CLI's one-line errors, exit codes, and nothing else touched.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { CliResult, ROOT, runCli } from '../helpers/cli';

export { runCli };

/** The error lines on stderr (the summary and progress go elsewhere or say nothing of failures). */
export function stderrLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** A run-level failure: exactly one line `tfjs-cam: error: ...` matching `re`, the exit code, and no stack trace. */
export function expectRunError(r: CliResult, code: number, re: RegExp): void {
  const lines = stderrLines(r);
  if (lines.length !== 1 || !re.test(lines[0]) || r.code !== code) {
    throw new Error(`expected exit ${code} and one line matching ${re}, got exit ${r.code}:\n${r.stderr}\nstdout:\n${r.stdout}`);
  }
  expect(lines[0]).toMatch(/^tfjs-cam: error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toMatch(/unexpected error/);
}

/** The one FAIL line naming `file` in a batch run. */
export function failLine(r: CliResult, file: string): string {
  const lines = stderrLines(r).filter((l) => l.includes(file + ':'));
  if (lines.length !== 1) throw new Error(`expected one line about ${file}, got:\n${r.stderr}`);
  expect(lines[0].startsWith(`FAIL ${file}: `)).toBe(true);
  return lines[0].slice(`FAIL ${file}: `.length);
}

/** The CLI under `ulimit -f <kb>` (files larger than that cannot be written: EFBIG, as on a full disk). */
export function runCliWithFileSizeLimit(kb: number, args: string[]): CliResult {
  const bin = path.join(ROOT, 'bin', 'tfjs-cam');
  // Node ignores SIGXFSZ itself, so a write past the limit fails with EFBIG instead of killing the process.
  const r = spawnSync('bash', ['-c', `ulimit -f ${kb} && exec "$0" "$@"`, process.execPath, bin, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 540_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
