/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // @swc/jest strips types only (fast); `npm run typecheck` does the type checking.
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  // A guard against hangs, not a speed check (speed lives in `npm run bench`): long enough that a machine whose two
  // cores are shared with other work (CI neighbours, a build) never fails a test for being slow.
  testTimeout: 600000,
  maxWorkers: 2,
  setupFiles: ['<rootDir>/test/helpers/setup.ts'],
};
