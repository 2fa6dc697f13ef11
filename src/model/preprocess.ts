/** Pixels (8-bit, already at the model's input size) -> the model's input tensor. Pure arithmetic. */
import * as tf from '@tensorflow/tfjs';
import type { Preprocessing } from './sidecar';

/**
 * value = ((pixel / 255) * (hi - lo) + lo - mean[c]) / std[c], channels optionally swapped to BGR.
 * `pixels` holds height*width*channels bytes (channels 1 or 3, matching the model's input).
 */
export function preprocessPixels(pixels: Uint8Array, height: number, width: number, channels: number, p: Preprocessing): Float32Array {
  const [lo, hi] = p.scale;
  const k = (hi - lo) / 255;
  const mean = (c: number) => p.mean[p.mean.length === 1 ? 0 : c] ?? 0;
  const std = (c: number) => p.std[p.std.length === 1 ? 0 : c] ?? 1;
  const out = new Float32Array(height * width * channels);
  const n = height * width;
  for (let c = 0; c < channels; c++) {
    const src = p.bgr && channels === 3 ? 2 - c : c;
    const m = mean(c);
    const s = std(c);
    for (let i = 0; i < n; i++) out[i * channels + c] = (pixels[i * channels + src] * k + lo - m) / s;
  }
  return out;
}

export function toInputTensor(pixels: Uint8Array, height: number, width: number, channels: number, p: Preprocessing): tf.Tensor4D {
  return tf.tensor4d(preprocessPixels(pixels, height, width, channels, p), [1, height, width, channels]);
}
