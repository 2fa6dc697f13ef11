/** The exit codes every command uses: 0 all good, 1 some image (or check) failed, 2 usage or model errors, 130 interrupted. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, INTERRUPTED: 130 } as const;
