// Taking an image's faithfulness rows in chunks from a shared counter (src/batch/row-chunks.ts), on one thread:
// the other threads' turns are played by hand on the same control words.
import { allDone, chunkRows, chunkSize, CTRL_WORDS, DONE, markFailed, NEXT, scoreChunks } from '../../src/batch/row-chunks';

const control = () => new Int32Array(new SharedArrayBuffer(CTRL_WORDS * 4));

test('about 8 chunks per thread, at least 1 row, at most a batch', () => {
  expect(chunkSize(65, 2, 32)).toBe(5); // darknet_tiny's 65 rows, --jobs 2: 13 chunks
  expect(chunkSize(65, 16, 32)).toBe(1);
  expect(chunkSize(65, 1, 32)).toBe(9);
  expect(chunkSize(1000, 2, 32)).toBe(32);
  expect(chunkSize(3, 8, 32)).toBe(1);
  expect(chunkSize(0, 2, 32)).toBe(1);
});

test('the chunks cover rows [0, total) once each, in order, then there are none', () => {
  for (const [total, size] of [
    [65, 9],
    [64, 8],
    [1, 5],
    [17, 1],
  ]) {
    const seen: number[] = [];
    let k = 0;
    for (let c = chunkRows(k, total, size); c; c = chunkRows(++k, total, size)) {
      expect(c.to - c.from).toBeLessThanOrEqual(size);
      expect(c.to).toBeGreaterThan(c.from);
      for (let r = c.from; r < c.to; r++) seen.push(r);
    }
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(k).toBe(Math.ceil(total / size));
    expect(chunkRows(k + 3, total, size)).toBeNull();
  }
});

test('one thread alone scores every chunk and counts the rows done', async () => {
  const ctrl = control();
  const scored: [number, number][] = [];
  const progress: number[] = [];
  scoreChunks(ctrl, 20, 6, (from, to) => scored.push([from, to]), (d) => progress.push(d));
  expect(scored).toEqual([
    [0, 6],
    [6, 12],
    [12, 18],
    [18, 20],
  ]);
  expect(progress).toEqual([6, 12, 18, 20]);
  expect(Atomics.load(ctrl, DONE)).toBe(20);
  await expect(allDone(ctrl, 20)).resolves.toBe(true);
});

test('chunks another thread took are skipped, and waited for until it counts them done', async () => {
  const ctrl = control();
  // another thread took chunk 0 (rows 0..5) and is still scoring it
  expect(chunkRows(Atomics.add(ctrl, NEXT, 1), 20, 6)).toEqual({ from: 0, to: 6 });
  const scored: number[] = [];
  scoreChunks(ctrl, 20, 6, (from) => scored.push(from));
  expect(scored).toEqual([6, 12, 18]);
  expect(Atomics.load(ctrl, DONE)).toBe(14);
  const changes: number[] = [];
  const waiting = allDone(ctrl, 20, (d) => changes.push(d));
  // it finishes later, as a worker does: the wait ends without this thread polling
  setImmediate(() => {
    Atomics.add(ctrl, DONE, 6);
    Atomics.notify(ctrl, DONE);
  });
  await expect(waiting).resolves.toBe(true);
  expect(changes).toEqual([20]);
});

test('a thread that comes after the last chunk was taken scores nothing', () => {
  const ctrl = control();
  scoreChunks(ctrl, 10, 4, () => undefined);
  const late = jest.fn();
  scoreChunks(ctrl, 10, 4, late);
  expect(late).not.toHaveBeenCalled();
  expect(Atomics.load(ctrl, DONE)).toBe(10);
});

test('a failed image stops the other threads and ends the wait with false, whatever finishes after', async () => {
  const ctrl = control();
  const waiting = allDone(ctrl, 20);
  // this thread's second chunk throws: the error goes on, the image is failed
  let calls = 0;
  expect(() =>
    scoreChunks(ctrl, 20, 5, () => {
      if (++calls === 2) throw new Error('out of memory');
    }),
  ).toThrow('out of memory');
  markFailed(ctrl);
  await expect(waiting).resolves.toBe(false);
  // a worker's chunk that ends after the failure does not make the image whole again, and nobody takes more
  Atomics.add(ctrl, DONE, 5);
  await expect(allDone(ctrl, 20)).resolves.toBe(false);
  const after = jest.fn();
  scoreChunks(ctrl, 20, 5, after);
  expect(after).not.toHaveBeenCalled();
});
