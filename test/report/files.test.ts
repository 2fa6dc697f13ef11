import * as fs from 'fs';
import * as path from 'path';
import { ensureDir, OutputExistsError, removePendingTempFiles, writeFileAtomic } from '../../src/report/files';
import { tempDir } from '../image/fixtures';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('tfjs-cam-files-');
});
afterEach(() => {
  jest.restoreAllMocks();
  tmp.cleanup();
});

const ls = () => fs.readdirSync(tmp.dir).sort();
const TEMP_NAME = /^\.out\.json\.\d+\.[0-9a-f]{12}\.tmp$/;

test('writes the file whole, leaves no temp file', async () => {
  const file = path.join(tmp.dir, 'out.json');
  await writeFileAtomic(file, '{"a":1}\n');
  expect(fs.readFileSync(file, 'utf8')).toBe('{"a":1}\n');
  await writeFileAtomic(path.join(tmp.dir, 'b.bin'), Buffer.from([0, 1, 2, 255]));
  expect(Array.from(fs.readFileSync(path.join(tmp.dir, 'b.bin')))).toEqual([0, 1, 2, 255]);
  expect(ls()).toEqual(['b.bin', 'out.json']);
});

test('does not overwrite by default; overwrite: true replaces', async () => {
  const file = path.join(tmp.dir, 'out.json');
  await writeFileAtomic(file, 'first');
  const err = await writeFileAtomic(file, 'second').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OutputExistsError);
  expect((err as Error).message).toBe(`${file} exists (use --force to overwrite)`);
  expect((err as OutputExistsError).file).toBe(file);
  expect(fs.readFileSync(file, 'utf8')).toBe('first');
  await writeFileAtomic(file, 'third', { overwrite: true });
  expect(fs.readFileSync(file, 'utf8')).toBe('third');
  expect(ls()).toEqual(['out.json']);
});

test('a file that appears while writing is not replaced (the final step is an atomic link)', async () => {
  const file = path.join(tmp.dir, 'out.json');
  // The early existence check sees nothing; another writer creates the file before ours is placed.
  const realOpen = fs.promises.open;
  jest.spyOn(fs.promises, 'open').mockImplementation(async (...args: Parameters<typeof realOpen>) => {
    fs.writeFileSync(file, 'theirs');
    return realOpen(...args);
  });
  await expect(writeFileAtomic(file, 'ours')).rejects.toBeInstanceOf(OutputExistsError);
  expect(fs.readFileSync(file, 'utf8')).toBe('theirs');
  expect(ls()).toEqual(['out.json']);
});

test('the temp file is removed when placing it fails (target is a non-empty folder)', async () => {
  const file = path.join(tmp.dir, 'out.json');
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, 'keep'), 'x');
  await expect(writeFileAtomic(file, 'data', { overwrite: true })).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
  expect(ls()).toEqual(['out.json']);
});

test('the temp file is removed when writing fails', async () => {
  // Works as root too (where a read-only folder would not stop the write): the data itself cannot be written.
  const file = path.join(tmp.dir, 'out.json');
  await expect(writeFileAtomic(file, 42 as unknown as string)).rejects.toThrow();
  expect(ls()).toEqual([]);
  // And when the folder does not exist, nothing is left anywhere.
  await expect(writeFileAtomic(path.join(tmp.dir, 'missing', 'x.json'), 'a')).rejects.toThrow(/ENOENT/);
  expect(ls()).toEqual([]);
});

test('removePendingTempFiles() removes in-flight temp files synchronously; the interrupted write places nothing', async () => {
  const file = path.join(tmp.dir, 'out.json');
  // Hold the write at fsync, as if Ctrl-C arrived mid-write.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let reached!: () => void;
  const atSync = new Promise<void>((r) => (reached = r));
  const realOpen = fs.promises.open;
  jest.spyOn(fs.promises, 'open').mockImplementation(async (...args: Parameters<typeof realOpen>) => {
    const fh = await realOpen(...args);
    const sync = fh.sync.bind(fh);
    fh.sync = async () => {
      reached();
      await gate;
      return sync();
    };
    return fh;
  });
  const writing = writeFileAtomic(file, Buffer.alloc(1 << 20, 7));
  await atSync;
  const during = ls();
  expect(during.length).toBe(1);
  expect(during[0]).toMatch(TEMP_NAME);
  removePendingTempFiles();
  expect(ls()).toEqual([]);
  release();
  await expect(writing).rejects.toThrow(/ENOENT/);
  expect(ls()).toEqual([]);
  expect(() => removePendingTempFiles()).not.toThrow(); // nothing pending any more
});

test('a Ctrl-C right after a write starts leaves nothing: the temp file is pending from the moment it exists', async () => {
  // With overwrite there is no await before the temp file is made, so the handler can run right after the call.
  // The temp file used to be created on libuv's thread pool: the handler found nothing to remove, then the
  // create happened, and the write went on to place the file (or, with the process exiting, left the temp file).
  const file = path.join(tmp.dir, 'out.json');
  const writing = writeFileAtomic(file, 'data', { overwrite: true });
  expect(ls()).toEqual([expect.stringMatching(TEMP_NAME)]);
  removePendingTempFiles();
  expect(ls()).toEqual([]);
  await expect(writing).rejects.toThrow(/ENOENT/);
  expect(ls()).toEqual([]);
});

test('ensureDir creates nested folders and explains what is in the way', async () => {
  const nested = path.join(tmp.dir, 'a', 'b', 'c');
  await ensureDir(nested);
  expect(fs.statSync(nested).isDirectory()).toBe(true);
  await ensureDir(nested); // already there: fine
  const blocker = path.join(tmp.dir, 'file');
  fs.writeFileSync(blocker, 'x');
  await expect(ensureDir(blocker)).rejects.toThrow(`output folder ${blocker}: a file of that name (or of a parent) is in the way`);
  await expect(ensureDir(path.join(blocker, 'sub'))).rejects.toThrow(/is in the way/);
});
