// The explorer's estimates (src/browser/explorer/estimate.ts), by hand: passes per method and the time left.
import { estimateLeft, formatDuration, passesOf } from '../../src/browser/explorer/estimate';

const OPTIONS = { igSteps: 32, noiseSamples: 8 };

test('passes: one per channel (and the all-zero mask) for Score-CAM and Ablation-CAM, 3 per step or noisy copy', () => {
  expect(passesOf('scorecam', 96, OPTIONS)).toBe(97);
  expect(passesOf('ablationcam', 128, OPTIONS)).toBe(129);
  expect(passesOf('integrated-gradients', 96, OPTIONS)).toBe(3 * 33); // 32 steps and the input itself
  expect(passesOf('smoothgrad', 96, { igSteps: 32, noiseSamples: 20 })).toBe(3 * 21);
  expect(passesOf('gradcam', 96, OPTIONS)).toBe(3);
});

test('time left at the rate so far; none before the first step or after the last', () => {
  expect(estimateLeft(1000, 1, 4)).toBe(3000);
  expect(estimateLeft(600, 24, 96)).toBe(1800);
  expect(estimateLeft(500, 0, 96)).toBeNull();
  expect(estimateLeft(500, 96, 96)).toBeNull();
});

test('durations rounded as an estimate should be', () => {
  expect([formatDuration(42), formatDuration(1234), formatDuration(42_400), formatDuration(200_000)]).toEqual(['0.1 s', '1.2 s', '42 s', '3 min']);
});
