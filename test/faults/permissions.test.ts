// Unreadable sub-folders and files: one FAIL line each, the rest of the batch goes on (exit 1). Root ignores
// permission bits, so as root the CLI runs as `nobody` (setpriv): the kernel's own EACCES, not a mock.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { ROOT, tempDir } from '../helpers/cli';
import { saveModel, smallCnn, spotPng } from './fixtures';
import { stderrLines } from './cli';

const isRoot = process.getuid?.() === 0;
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
const can = !isRoot || !!setpriv;
if (!can) console.log('skipped permission tests: running as root without setpriv');
const maybe = can ? test : test.skip;

let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('perm');
  fs.chmodSync(dir, 0o777);
  await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  const inDir = path.join(dir, 'in');
  fs.mkdirSync(path.join(inDir, 'locked'), { recursive: true });
  fs.writeFileSync(path.join(inDir, 'a.png'), await spotPng(30, 30));
  fs.writeFileSync(path.join(inDir, 'locked', 'b.png'), await spotPng(30, 30));
  fs.writeFileSync(path.join(inDir, 'secret.png'), await spotPng(30, 30));
  fs.writeFileSync(path.join(inDir, 'z.png'), await spotPng(30, 30));
  fs.chmodSync(path.join(inDir, 'locked'), 0o000);
  fs.chmodSync(path.join(inDir, 'secret.png'), 0o000);
  fs.mkdirSync(path.join(dir, 'out'), { mode: 0o777 });
  fs.chmodSync(path.join(dir, 'out'), 0o777);
});

afterAll(() => {
  fs.chmodSync(path.join(dir, 'in', 'locked'), 0o755);
  fs.rmSync(dir, { recursive: true, force: true });
});

maybe('an unreadable sub-folder and an unreadable file: "permission denied" each, the others explained, exit 1', () => {
  const args = [path.join(ROOT, 'bin', 'tfjs-cam'), 'explain', path.join(dir, 'in'), '-m', path.join(dir, 'model'), '-o', path.join(dir, 'out', 'o'), '-j', '1'];
  const cmd = isRoot ? setpriv! : process.execPath;
  const argv = isRoot ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args] : args;
  const r = spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', HOME: dir }, timeout: 540_000 });
  const res = { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  expect(stderrLines(res)).toEqual([`FAIL ${path.join(dir, 'in', 'locked')}: permission denied`, `FAIL ${path.join(dir, 'in', 'secret.png')}: permission denied`]);
  expect(res.stdout).toMatch(/ok {3}.*a\.png/);
  expect(res.stdout).toMatch(/ok {3}.*z\.png/);
  expect(res.stdout).toMatch(/4 images: 2 explained, 2 failed/);
  expect(res.code).toBe(1);
});
