/** The tfjs-cam.json sidecar every shipped model folder carries (read by the tool, see src/model/config.ts). */
import * as fs from 'fs';
import * as path from 'path';
import { LABELS } from '../data/clutter';

export interface ModelSidecar {
  preprocess: { scale: [number, number]; mean: number[]; std: number[]; bgr: boolean; resize: 'stretch'; grayscale: boolean };
  labels: string[];
  layer: string;
  method: string;
  description: string;
  trainedAccuracy: number;
}

/** Canvases are fed as pixel / 255 on one channel, which is what this preprocessing tells the tool to do. */
export function clutterSidecar(layer: string, description: string, accuracy: number): ModelSidecar {
  return {
    preprocess: { scale: [0, 1], mean: [0], std: [1], bgr: false, resize: 'stretch', grayscale: true },
    labels: [...LABELS],
    layer,
    method: 'gradcam',
    description,
    trainedAccuracy: Math.round(accuracy * 10000) / 10000,
  };
}

export function writeSidecar(dir: string, s: ModelSidecar): void {
  fs.writeFileSync(path.join(dir, 'tfjs-cam.json'), JSON.stringify(s, null, 2) + '\n');
}

export function readModelSidecar(dir: string): ModelSidecar {
  return JSON.parse(fs.readFileSync(path.join(dir, 'tfjs-cam.json'), 'utf8')) as ModelSidecar;
}
