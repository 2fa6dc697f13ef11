/**
 * One image's faithfulness rows (metrics/faithfulness.ts) scored by several threads at once, through shared
 * memory: each thread takes the next chunk of rows from a counter, scores it into the shared results and adds
 * its rows to the done count, until no row is left. Whoever is free takes the next chunk, so the threads end
 * together whatever their speed, and a thread that comes late (a worker still loading its model) takes what is
 * left, or nothing. A row's probability does not depend on the batch it was scored in (checked bit for bit on
 * WASM), so the numbers are those of one thread.
 */

/** The control words of one image (an Int32Array over a SharedArrayBuffer of CTRL_WORDS x 4 bytes). */
export const NEXT = 0; // the first row no thread has taken yet
export const DONE = 1; // rows scored so far by every thread, waited on; negative once a thread failed
export const CTRL_WORDS = 2;
/** Stored in DONE by a failing thread: chunks finished after it cannot bring DONE back to 0 or more. */
const FAILED = -(2 ** 30);

/** How an image's rows are cut: rows [0, total), about `threads` threads taking them, at most `batch` at a time. */
export interface RowSplit {
  total: number;
  threads: number;
  batch: number;
}

/**
 * The chunk a thread takes where rows [0, next) are taken: a share of what is left, so chunks shrink towards the
 * end (guided self-scheduling). When one thread runs out of rows the others are within a chunk of the end, and
 * the last chunks are single rows: the threads end within about a row of each other, where chunks of a fixed
 * size left one waiting for half a chunk on average. A chunk is at most a batch; smaller ones cost next to
 * nothing where a pass is heavy (darknet_tiny at 224 x 224: 65 rows took the same time in batches of 1, 5, 8 or
 * 32) and little in all where passes are light. null: no row is left.
 */
export function nextChunk(next: number, { total, threads, batch }: RowSplit): { from: number; to: number } | null {
  if (next >= total) return null;
  const size = Math.max(1, Math.min(batch, Math.ceil((total - next) / (2 * Math.max(1, threads)))));
  return { from: next, to: Math.min(total, next + size) };
}

/** Takes the next chunk for this thread (atomically: no row is taken twice), or null where none is left. */
export function takeChunk(ctrl: Int32Array, split: RowSplit): { from: number; to: number } | null {
  for (;;) {
    const next = Atomics.load(ctrl, NEXT);
    const chunk = nextChunk(next, split);
    if (!chunk || Atomics.compareExchange(ctrl, NEXT, next, chunk.to) === next) return chunk;
  }
}

/**
 * Takes chunks and scores them (`score` writes rows [from, to) into the shared results) until none is left or
 * another thread failed; `onChunk` after each, with every thread's rows done so far. A throwing `score` is
 * passed on; the caller says why before it marks the image failed (markFailed).
 */
export function scoreChunks(ctrl: Int32Array, split: RowSplit, score: (from: number, to: number) => void, onChunk?: (done: number) => void): void {
  while (Atomics.load(ctrl, DONE) >= 0) {
    const rows = takeChunk(ctrl, split);
    if (!rows) return;
    score(rows.from, rows.to);
    const done = Atomics.add(ctrl, DONE, rows.to - rows.from) + rows.to - rows.from;
    Atomics.notify(ctrl, DONE);
    if (done >= 0) onChunk?.(done);
  }
}

/** Marks the image failed and wakes whoever waits for its rows. */
export function markFailed(ctrl: Int32Array): void {
  Atomics.store(ctrl, DONE, FAILED);
  Atomics.notify(ctrl, DONE);
}

// Atomics.waitAsync is in Node 16+ but not in the ES2022 lib this project compiles against.
type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * Resolves true once every row is done, false if a thread failed first; `onChange` with the rows done at each
 * change. Waits without blocking the event loop, so that a worker's exit (which marks the image failed, see
 * channel-pool.ts) is seen meanwhile. Success and failure both change the one word waited on, so neither can
 * slip in between a look and the wait.
 */
export async function allDone(ctrl: Int32Array, total: number, onChange?: (done: number) => void): Promise<boolean> {
  for (;;) {
    const done = Atomics.load(ctrl, DONE);
    if (done < 0) return false;
    if (done >= total) return true;
    const w = waitAsync(ctrl, DONE, done);
    if (w.async) await w.value;
    const now = Atomics.load(ctrl, DONE);
    if (now >= 0 && now !== done) onChange?.(now);
  }
}
