// Models for the diff tests: quantised copies (as the converter writes them), a copy with its last block's weights
// shuffled, and a model with another number of classes.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readModelWeights, writeModelWeights, writeQuantizedCopy } from '../../scripts/quantize-model';
import { saveLayersModel } from '../../src/model/save';
import { ROOT } from '../helpers/cli';

export const GAP_CNN = path.join(ROOT, 'models', 'gap-cnn');
export const SAMPLES = path.join(ROOT, 'samples');

/**
 * A copy of `src` whose weights named `prefix...` have their values permuted within each tensor (seeded
 * Fisher-Yates): the same values, so the same statistics, in the wrong places.
 */
export function writeShuffledCopy(src: string, dst: string, prefix: string, seed = 12345): void {
  const { json, weights } = readModelWeights(src);
  let s = seed >>> 0;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  writeModelWeights(
    src,
    dst,
    json,
    weights.map(({ spec, values }) => {
      const v = values.slice();
      if (spec.name.startsWith(prefix)) {
        for (let i = v.length - 1; i > 0; i--) {
          const j = Math.floor(rnd() * (i + 1));
          const t = v[i];
          v[i] = v[j];
          v[j] = t;
        }
      }
      const { quantization: _q, ...plain } = spec;
      return { spec: plain, bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
    }),
  );
}

/** gap-cnn's uint8 and float16 copies, and the copy with its last block (conv5, the target layer) shuffled. */
export function writeVariants(dir: string): { uint8: string; float16: string; shuffled: string } {
  const out = { uint8: path.join(dir, 'gap-cnn-uint8'), float16: path.join(dir, 'gap-cnn-float16'), shuffled: path.join(dir, 'gap-cnn-shuffled') };
  writeQuantizedCopy(GAP_CNN, out.uint8, 'uint8');
  writeQuantizedCopy(GAP_CNN, out.float16, 'float16');
  writeShuffledCopy(GAP_CNN, out.shuffled, 'conv5/');
  return out;
}

/** A 64x64 grey-image model with 12 classes (conv 'feat' -> GAP -> dense), labelled '0'..'11' or not at all. */
export async function saveTwelveClassModel(dir: string, labelled: boolean): Promise<void> {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [64, 64, 1], filters: 4, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: init(1), name: 'feat' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 12, kernelInitializer: init(2), name: 'logits' }),
    ],
  });
  await saveLayersModel(m, dir);
  m.dispose();
  const sidecar = { layer: 'feat', preprocess: { grayscale: true }, ...(labelled ? { labels: Array.from({ length: 12 }, (_, i) => String(i)) } : {}) };
  fs.writeFileSync(path.join(dir, 'tfjs-cam.json'), JSON.stringify(sidecar));
}
