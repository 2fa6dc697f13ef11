// --jobs auto's rule (src/batch/auto-jobs.ts) on the timings this thread measures: workers start where the work left
// pays for their start-up, decided again after each image, from the steady time per image.
import { PAYBACK, steadyPerImageMs, WORKER_START_MS, workersToStart } from '../../src/batch/auto-jobs';

/** Finishing times (ms from the start) of images that took `first`, then `each` ms. */
const times = (first: number, each: number, n: number) => Array.from({ length: n }, (_, k) => first + k * each);

test('the steady time per image leaves the first image out (one-time costs, or a quick failure)', () => {
  expect(steadyPerImageMs([700])).toBeNull();
  expect(steadyPerImageMs(times(700, 40, 2))).toBe(40);
  expect(steadyPerImageMs(times(2, 80, 5))).toBe(80);
});

test('a folder of 500 small images: a worker starts once a second image gives the steady time', () => {
  // 40 ms an image after a first of 700 ms (kernels compiled on it), model loaded in 350 ms
  const state = (k: number) => ({ finishedAt: times(700, 40, k), left: 500 - k - 1, loadMs: 350, max: 1 });
  expect(workersToStart(state(1))).toBe(0); // no steady time yet: decided again after the next image
  expect(workersToStart(state(2))).toBe(1); // 497 x 40 ms = 19.9 s left, over 4 x (350 + 500) ms
});

test('a first image that failed at once no longer decides for the whole folder', () => {
  // The old rule, on the first image alone: 498 images x 2 ms < 4 worker start-ups, so no worker, ever.
  const old = (first: number, left: number, loadMs: number) => Math.min(1, left, Math.floor((left * first) / (PAYBACK * (loadMs + WORKER_START_MS))));
  expect(old(2, 498, 350)).toBe(0);
  // Now: 2 ms (the failure), then 80 ms images: the steady time after the third image is (80 + 80) / 2
  expect(workersToStart({ finishedAt: [2, 82], left: 497, loadMs: 350, max: 1 })).toBe(1);
});

test('photo folders: no worker where the start-up would not be paid back (8 photos, 2 photos)', () => {
  // MobileNetV2 photos: 250 ms each after a first of 600 ms, model load 800 ms: 5 left x 250 ms = 1.25 s < 4 x 1.3 s
  expect(workersToStart({ finishedAt: times(600, 250, 2), left: 5, loadMs: 800, max: 1 })).toBe(0);
  expect(workersToStart({ finishedAt: times(600, 250, 6), left: 1, loadMs: 800, max: 1 })).toBe(0);
  // 2 photos: the second is taken before the first is done: nothing left
  expect(workersToStart({ finishedAt: [600], left: 0, loadMs: 800, max: 1 })).toBe(0);
});

test('never more workers than allowed, than images left, nor than the work left pays for', () => {
  expect(workersToStart({ finishedAt: times(100, 100, 3), left: 10_000, loadMs: 100, max: 7 })).toBe(7);
  expect(workersToStart({ finishedAt: times(100, 100, 3), left: 3, loadMs: 0, max: 7 })).toBe(0); // 300 ms < 4 x 500 ms
  expect(workersToStart({ finishedAt: times(100, 1000, 3), left: 3, loadMs: 0, max: 7 })).toBe(1); // 3 s / 2 s
  expect(workersToStart({ finishedAt: times(100, 100, 3), left: 10_000, loadMs: 100, max: 0 })).toBe(0);
});
