// A model whose maps are known by construction, and images with coloured squares where the maps must point.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { saveLayersModel } from '../../src/model/save';

/**
 * image [size, size, 3] -> 1x1 conv 'feat' (relu): channel 0 = red, channel 1 = blue -> GAP -> dense 'logits':
 * class 0 'red' = 60 * mean red, class 1 'blue' = 60 * mean blue. The Grad-CAM (and CAM) map of 'red' is the red
 * channel, of 'blue' the blue channel: the map of a class lies exactly on the squares of its colour.
 */
export function colourModel(size = 16): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [size, size, 3], filters: 2, kernelSize: 1, activation: 'relu', name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 2, name: 'logits' }),
    ],
  });
  m.getLayer('feat').setWeights([tf.tensor4d([1, 0, 0, 0, 0, 1], [1, 1, 3, 2]), tf.zeros([2])]);
  m.getLayer('logits').setWeights([tf.tensor2d([60, 0, 0, 60], [2, 2]), tf.zeros([2])]);
  return m;
}

export async function saveColourModel(dir: string, sidecar: object = {}, size = 16): Promise<void> {
  const m = colourModel(size);
  await saveLayersModel(m, dir);
  m.dispose();
  fs.writeFileSync(path.join(dir, 'tfjs-cam.json'), JSON.stringify({ labels: ['red', 'blue'], layer: 'feat', ...sidecar }));
}

export interface Square {
  x: number;
  y: number;
  size: number;
  color: [number, number, number];
}

/** A black image with coloured squares (x, y = top-left, in pixels). */
export async function squaresImage(file: string, w: number, h: number, squares: Square[]): Promise<void> {
  const px = Buffer.alloc(w * h * 3, 0);
  for (const s of squares) {
    for (let y = s.y; y < s.y + s.size; y++) for (let x = s.x; x < s.x + s.size; x++) px.set(s.color, (y * w + x) * 3);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

export const RED: [number, number, number] = [230, 0, 0];
export const BLUE: [number, number, number] = [0, 0, 230];

/** A mask PNG (white inside the given box, black elsewhere). */
export async function maskImage(file: string, w: number, h: number, box: { x: number; y: number; width: number; height: number }): Promise<void> {
  const px = Buffer.alloc(w * h, 0);
  for (let y = box.y; y < box.y + box.height; y++) px.fill(255, y * w + box.x, y * w + box.x + box.width);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(px, { raw: { width: w, height: h, channels: 1 } }).png().toFile(file);
}
