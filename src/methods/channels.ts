/** Channel selection for the forward-pass methods (the Faster Score-CAM idea). */
import * as tf from '@tensorflow/tfjs';

/** Indices of the `n` channels of [1, h, w, K] with the highest spatial variance (all channels when n <= 0 or n >= K), ascending. */
export function channelsToScore(activations: tf.Tensor4D, n: number): number[] {
  const K = activations.shape[3];
  if (n <= 0 || n >= K) return Array.from({ length: K }, (_, i) => i);
  const variance = tf.tidy(() => tf.moments(activations, [0, 1, 2]).variance.dataSync());
  return Array.from({ length: K }, (_, i) => i)
    .sort((a, b) => variance[b] - variance[a] || a - b)
    .slice(0, n)
    .sort((a, b) => a - b);
}

/** Channels of [1, h, w, K] whose value is the same at every position. */
export function constantChannels(activations: tf.Tensor4D): Set<number> {
  const [max, min] = tf.tidy(() => [tf.max(activations, [0, 1, 2]).dataSync(), tf.min(activations, [0, 1, 2]).dataSync()]);
  const out = new Set<number>();
  for (let k = 0; k < max.length; k++) if (max[k] === min[k]) out.add(k);
  return out;
}

/** Runs fn over consecutive batches of `items`, each in its own tidy scope, reporting progress. */
export function inBatches<T>(items: number[], batchSize: number, fn: (batch: number[]) => T, onProgress?: (done: number, total: number) => void): T[] {
  const out: T[] = [];
  const size = Math.max(1, batchSize);
  for (let i = 0; i < items.length; i += size) {
    const batch = items.slice(i, i + size);
    out.push(fn(batch));
    onProgress?.(Math.min(i + size, items.length), items.length);
  }
  return out;
}
