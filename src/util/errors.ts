/**
 * Errors that carry a one-line message meant for the user. The CLI prints `message` alone (no stack
 * unless --debug) and maps the class to an exit code.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A bad command line or spec: exit code 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A model that cannot be loaded or used as asked. */
export class ModelError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/**
 * The output folder cannot be used or written (not a folder, not writable, disk full). `stopsRun`: the same would
 * happen to every further image (no space, read-only file system...), so the run stops with exit 2 instead of
 * failing each image in turn.
 */
export class OutputError extends UserError {
  constructor(
    message: string,
    readonly stopsRun = false,
  ) {
    super(message);
    this.name = 'OutputError';
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0];
  return String(e);
}
