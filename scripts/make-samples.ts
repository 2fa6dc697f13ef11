/**
 * Writes samples/: 12 "digits in clutter" canvases as 8-bit grayscale PNGs (samples/digit-KK-L.png, L = label)
 * and samples/boxes.json with each one's label and exact target box (pixel coordinates, x/y = top-left).
 *
 *   npm run build && node dist/scripts/make-samples.js [--out samples]
 *
 * Deterministic: canvases come from MNIST test digits with the PRNG seeded from (SAMPLE_SEED, digit index).
 * The digits are taken from index EVAL_COUNT (1000) on, and the seed differs from EVAL_SEED, so no sample is one
 * of the held-out evaluation canvases. One sample per class 0-9, then the next two unused digits.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Box, Canvas, EVAL_COUNT, SAMPLE_SEED, loadMnist, seededCanvas } from './data/clutter';

export const SAMPLE_COUNT = 12;

/** The test digits the samples are made from, in sample order. */
export function sampleDigitIndices(): number[] {
  const test = loadMnist('test');
  const picked: number[] = [];
  for (let cls = 0; cls < 10; cls++) {
    let i = EVAL_COUNT;
    while (test.labels[i] !== cls || picked.includes(i)) i++;
    picked.push(i);
  }
  for (let i = EVAL_COUNT; picked.length < SAMPLE_COUNT; i++) if (!picked.includes(i)) picked.push(i);
  return picked;
}

export function sampleCanvases(): { file: string; canvas: Canvas }[] {
  const test = loadMnist('test');
  return sampleDigitIndices().map((d, k) => {
    const canvas = seededCanvas(test, d, SAMPLE_SEED);
    return { file: `digit-${String(k).padStart(2, '0')}-${canvas.label}.png`, canvas };
  });
}

export interface BoxesFile {
  version: 1;
  images: Record<string, { label: string; class: number; boxes: Box[] }>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outIdx = args.indexOf('--out');
  const out = outIdx >= 0 ? args[outIdx + 1] : 'samples';
  fs.mkdirSync(out, { recursive: true });
  const boxes: BoxesFile = { version: 1, images: {} };
  for (const { file, canvas } of sampleCanvases()) {
    const { size, pixels } = canvas;
    const png = await sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: 1 } })
      .toColourspace('b-w') // keep one channel: sharp would otherwise write RGB
      .png({ compressionLevel: 9 })
      .toBuffer();
    // The PNG must hold exactly the canvas bytes (decoding also needs 'b-w', or sharp expands to RGB).
    const back = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    if (back.info.channels !== 1 || !back.data.equals(Buffer.from(pixels))) throw new Error(`${file}: PNG round trip changed the pixels`);
    fs.writeFileSync(path.join(out, file), png);
    boxes.images[file] = { label: String(canvas.label), class: canvas.label, boxes: [canvas.box] };
    console.log(`${file}: MNIST test digit ${canvas.digitIndex}, box ${JSON.stringify(canvas.box)}`);
  }
  fs.writeFileSync(path.join(out, 'boxes.json'), JSON.stringify(boxes, null, 2) + '\n');
  console.log(`wrote ${Object.keys(boxes.images).length} images and boxes.json to ${out}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
