/** One-line error messages and their exit codes; stack traces only with --debug. */
import { err, printable } from './output';
import { UserError, errorMessage } from '../util/errors';
import { removePendingTempFiles } from '../report/files';

export function reportError(e: unknown, debug: boolean): number {
  // An output that exists without --force is the user's choice to make, like any usage error.
  const known = e instanceof UserError || (e instanceof Error && e.name === 'OutputExistsError');
  // Our messages are one line by design: a newline in one comes from a name in it (a path), escaped with the rest.
  const message = known ? (e as Error).message : errorMessage(e);
  process.stderr.write(err.red(`tfjs-cam: error: ${printable(message)}`) + '\n');
  if (debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  else if (!known) process.stderr.write('(unexpected error: run again with --debug for details)\n');
  // Usage and model errors stop the run before any image: exit 2. Unexpected errors: 1.
  return known ? 2 : 1;
}

/** How long the first Ctrl-C waits for `stop` before the process exits anyway. */
const STOP_WAIT_MS = 1500;

export interface InterruptSteps {
  /** Stops work that runs elsewhere (a thread writing files) before the exit; waited for at most 1.5 s. */
  stop?: () => Promise<void>;
  /** Synchronous clean-up once it has stopped (or is about to be stopped with the process): e.g. its temp files. */
  cleanup?: () => void;
}

/**
 * Ctrl-C (and SIGTERM) while a command writes files: files being written are removed (finished ones are whole:
 * they were written by rename), `message` says what is left, and the process exits with code 130. With `steps`,
 * the first signal stops the work elsewhere first (within 1.5 s), a second one exits at once. Returns the function
 * that removes the handler.
 */
export function exitCleanlyOnInterrupt(message: string, exitCode: number, steps: InterruptSteps = {}): () => void {
  let stopping = false;
  const exit = () => {
    removePendingTempFiles();
    try {
      steps.cleanup?.();
    } catch {
      // Nothing more can be done while exiting.
    }
    process.stderr.write(`\ninterrupted${message ? `: ${message}` : ''}\n`);
    process.exit(exitCode);
  };
  const onSignal = () => {
    if (stopping || !steps.stop) return exit();
    stopping = true;
    setTimeout(exit, STOP_WAIT_MS);
    steps.stop().then(exit, exit);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
