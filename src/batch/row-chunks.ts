/**
 * One image's faithfulness rows (metrics/faithfulness.ts) scored by several threads at once, through shared
 * memory: each thread takes the next chunk of rows from a counter (Atomics.add), scores it into the shared
 * results and adds its rows to the done count, until no chunk is left. Whoever is free takes the next chunk, so
 * the threads end together whatever their speed, and a thread that comes late (a worker still loading its model)
 * takes what is left, or nothing. A row's probability does not depend on the batch it was scored in (checked
 * bit for bit on WASM), so the numbers are those of one thread.
 */

/** The control words of one image (an Int32Array over a SharedArrayBuffer of CTRL_WORDS x 4 bytes). */
export const NEXT = 0; // the next chunk to take (grows past the last one: every thread that finds none adds 1)
export const DONE = 1; // rows scored so far by every thread, waited on; negative once a thread failed
export const CTRL_WORDS = 2;
/** Stored in DONE by a failing thread: chunks finished after it cannot bring DONE back to 0 or more. */
const FAILED = -(2 ** 30);

/**
 * Rows per chunk: about 8 chunks per thread, at most a batch. When a thread runs out of chunks the others are
 * at most a chunk from the end, so the smaller the chunks the less a thread waits at the end of an image (half a
 * chunk on average); smaller batches cost next to nothing where a pass is heavy (darknet_tiny at 224 x 224: its
 * 65 rows took the same time in batches of 1, 5, 8 or 32), and little in all where passes are light.
 */
export function chunkSize(total: number, threads: number, batch: number): number {
  return Math.max(1, Math.min(batch, Math.ceil(total / (8 * Math.max(1, threads)))));
}

/** Rows [from, to) of chunk k, or null where chunk k starts past the last row. */
export function chunkRows(k: number, total: number, size: number): { from: number; to: number } | null {
  const from = k * size;
  return from < total ? { from, to: Math.min(total, from + size) } : null;
}

/**
 * Takes chunks and scores them (`score` writes rows [from, to) into the shared results) until none is left or
 * another thread failed; `onChunk` after each, with every thread's rows done so far. A throwing `score` is
 * passed on; the caller says why before it marks the image failed (markFailed).
 */
export function scoreChunks(ctrl: Int32Array, total: number, size: number, score: (from: number, to: number) => void, onChunk?: (done: number) => void): void {
  while (Atomics.load(ctrl, DONE) >= 0) {
    const rows = chunkRows(Atomics.add(ctrl, NEXT, 1), total, size);
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
