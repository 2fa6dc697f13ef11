// Taking an image's faithfulness rows in chunks from a shared counter (src/batch/row-chunks.ts), on one thread:
// the other threads' turns are played by hand on the same control words.
import { allDone, CTRL_WORDS, DONE, markFailed, NEXT, nextChunk, RowSplit, scoreChunks, takeChunk } from '../../src/batch/row-chunks';

const control = () => new Int32Array(new SharedArrayBuffer(CTRL_WORDS * 4));

/** Every chunk a lone thread takes, in order. */
function chunks(split: RowSplit): [number, number][] {
  const out: [number, number][] = [];
  for (let c = nextChunk(0, split); c; c = nextChunk(c.to, split)) out.push([c.from, c.to]);
  return out;
}

test('chunks shrink towards the end: a share of the rows left, at most a batch, at least 1 row', () => {
  // darknet_tiny's 65 rows with --jobs 2
  expect(chunks({ total: 65, threads: 2, batch: 32 }).map(([from, to]) => to - from)).toEqual([17, 12, 9, 7, 5, 4, 3, 2, 2, 1, 1, 1, 1]);
  expect(chunks({ total: 1000, threads: 2, batch: 32 })[0]).toEqual([0, 32]);
  expect(chunks({ total: 3, threads: 8, batch: 32 })).toEqual([
    [0, 1],
    [1, 2],
    [2, 3],
  ]);
  expect(nextChunk(65, { total: 65, threads: 2, batch: 32 })).toBeNull();
  expect(nextChunk(0, { total: 0, threads: 2, batch: 32 })).toBeNull();
});

test('the chunks cover rows [0, total) once each, in order', () => {
  for (const split of [
    { total: 65, threads: 2, batch: 32 },
    { total: 65, threads: 16, batch: 32 },
    { total: 4001, threads: 3, batch: 32 },
    { total: 1, threads: 1, batch: 5 },
    { total: 17, threads: 1, batch: 1 },
  ]) {
    const seen = chunks(split).flatMap(([from, to]) => Array.from({ length: to - from }, (_, i) => from + i));
    expect(seen).toEqual(Array.from({ length: split.total }, (_, i) => i));
    for (const [from, to] of chunks(split)) expect(to - from).toBeLessThanOrEqual(split.batch);
  }
});

test('takeChunk moves the shared counter past the rows it hands out', () => {
  const ctrl = control();
  const split = { total: 20, threads: 2, batch: 32 };
  expect(takeChunk(ctrl, split)).toEqual({ from: 0, to: 5 });
  expect(Atomics.load(ctrl, NEXT)).toBe(5);
  expect(takeChunk(ctrl, split)).toEqual({ from: 5, to: 9 });
  Atomics.store(ctrl, NEXT, 20);
  expect(takeChunk(ctrl, split)).toBeNull();
  expect(Atomics.load(ctrl, NEXT)).toBe(20);
});

test('one thread alone scores every chunk and counts the rows done', async () => {
  const ctrl = control();
  const scored: [number, number][] = [];
  const progress: number[] = [];
  scoreChunks(ctrl, { total: 20, threads: 1, batch: 6 }, (from, to) => scored.push([from, to]), (d) => progress.push(d));
  expect(scored).toEqual([
    [0, 6],
    [6, 12],
    [12, 16],
    [16, 18],
    [18, 19],
    [19, 20],
  ]);
  expect(progress).toEqual([6, 12, 16, 18, 19, 20]);
  expect(Atomics.load(ctrl, DONE)).toBe(20);
  await expect(allDone(ctrl, 20)).resolves.toBe(true);
});

test('rows another thread took are skipped, and waited for until it counts them done', async () => {
  const split = { total: 20, threads: 2, batch: 32 };
  const ctrl = control();
  // another thread took the first chunk (rows 0..4) and is still scoring it
  expect(takeChunk(ctrl, split)).toEqual({ from: 0, to: 5 });
  const scored: number[] = [];
  scoreChunks(ctrl, split, (from, to) => scored.push(to - from));
  expect(scored.reduce((a, b) => a + b)).toBe(15);
  expect(Atomics.load(ctrl, DONE)).toBe(15);
  const changes: number[] = [];
  const waiting = allDone(ctrl, 20, (d) => changes.push(d));
  // it finishes later, as a worker does: the wait ends without this thread polling
  setImmediate(() => {
    Atomics.add(ctrl, DONE, 5);
    Atomics.notify(ctrl, DONE);
  });
  await expect(waiting).resolves.toBe(true);
  expect(changes).toEqual([20]);
});

test('a thread that comes after the last chunk was taken scores nothing', () => {
  const split = { total: 10, threads: 2, batch: 4 };
  const ctrl = control();
  scoreChunks(ctrl, split, () => undefined);
  const late = jest.fn();
  scoreChunks(ctrl, split, late);
  expect(late).not.toHaveBeenCalled();
  expect(Atomics.load(ctrl, DONE)).toBe(10);
});

test('a failed image stops the other threads and ends the wait with false, whatever finishes after', async () => {
  const split = { total: 20, threads: 2, batch: 5 };
  const ctrl = control();
  const waiting = allDone(ctrl, 20);
  // this thread's second chunk throws: the error goes on, the image is failed
  let calls = 0;
  expect(() =>
    scoreChunks(ctrl, split, () => {
      if (++calls === 2) throw new Error('out of memory');
    }),
  ).toThrow('out of memory');
  markFailed(ctrl);
  await expect(waiting).resolves.toBe(false);
  // a worker's chunk that ends after the failure does not make the image whole again, and nobody takes more
  Atomics.add(ctrl, DONE, 5);
  await expect(allDone(ctrl, 20)).resolves.toBe(false);
  const after = jest.fn();
  scoreChunks(ctrl, split, after);
  expect(after).not.toHaveBeenCalled();
});
