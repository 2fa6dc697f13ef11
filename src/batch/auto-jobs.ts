/**
 * `--jobs auto` for a folder: how many worker threads to start, from what this thread has measured so far. This
 * thread starts on the images at once (its model is loaded); a worker costs a start-up (its own backend and model)
 * on cores this thread already uses in part (sharp encodes on its own threads), so it pays only where the work
 * left is long enough. Measured on 2 cores: one worker made a folder of 8 MobileNetV2 photos slower (2.9 s ->
 * 3.5 s), and a folder of 500 small images faster (43 s -> 35 s); what is left must take this thread over
 * PAYBACK worker start-ups.
 *
 * The decision is taken again after each image this thread finishes, until workers are started or nothing is
 * left, from the steady time per image: the first image's time holds one-time costs (kernel compilation, the first
 * pass) and may also be a quick failure or an odd one; deciding once, on it alone, both started workers that did
 * not pay and failed to start those that would have.
 */

/** A worker thread's start before its model load: Node, tfjs and the WASM backend (measured: 0.3-0.5 s). */
export const WORKER_START_MS = 500;
/** What is left must take this thread at least this many worker start-ups for workers to be started. */
export const PAYBACK = 4;

export interface AutoJobsState {
  /** ms from this thread's start on the images to each image it has finished, in order. */
  finishedAt: number[];
  /** Images no thread has taken yet. */
  left: number;
  /** This thread's model load in ms (a worker loads the same model). */
  loadMs: number;
  /** The most workers that may run: the cores (or --jobs n) minus this thread. */
  max: number;
}

/** This thread's steady time per image: from its first image's end to its last (null until two are done). */
export function steadyPerImageMs(finishedAt: number[]): number | null {
  const k = finishedAt.length;
  return k < 2 ? null : (finishedAt[k - 1] - finishedAt[0]) / (k - 1);
}

/** How many workers to start now: 0 to wait (decide again after the next image) or where none would pay. */
export function workersToStart(s: AutoJobsState): number {
  const perImage = steadyPerImageMs(s.finishedAt);
  if (perImage == null || s.left <= 0 || s.max <= 0) return 0;
  const start = s.loadMs + WORKER_START_MS;
  return Math.max(0, Math.min(s.max, s.left, Math.floor((s.left * perImage) / (PAYBACK * start))));
}
