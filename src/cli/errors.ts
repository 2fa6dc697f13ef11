/** One-line error messages and their exit codes; stack traces only with --debug. */
import { err } from './output';
import { UserError, errorMessage } from '../util/errors';

export function reportError(e: unknown, debug: boolean): number {
  // An output that exists without --force is the user's choice to make, like any usage error.
  const known = e instanceof UserError || (e instanceof Error && e.name === 'OutputExistsError');
  process.stderr.write(err.red(`tfjs-cam: error: ${errorMessage(e)}`) + '\n');
  if (debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  else if (!known) process.stderr.write('(unexpected error: run again with --debug for details)\n');
  // Usage and model errors stop the run before any image: exit 2. Unexpected errors: 1.
  return known ? 2 : 1;
}
