/**
 * Writes docs/images/readme-grid.png, the picture on the README's front page: eight methods' maps for one real
 * photo and a real ImageNet model, as the comparison sheet `tfjs-cam explain` writes for several methods.
 *
 *   npm run build && node dist/scripts/make-readme-grid.js [--data ../shared/data] [--out docs/images/readme-grid.png]
 *
 * Inputs (not in the repository): Darknet-tiny (ml5's ImageNet classifier, darknet_tiny/), its labels
 * (labels/imagenet_darknet_names.json) and scikit-image's coffee.png (images/coffee.png, CC0, photographer Rachel
 * Michetti). The target layer is the last feature map before the 1x1 classifier convolution (leaky_re_lu_15):
 * at the default layer, whose channels are the class maps themselves, CAM and the Grad-CAM family all draw the
 * same map, which would make a dull picture.
 *
 * The sheet is explain()'s own, pixel for pixel, re-encoded as a 256-colour PNG only to keep the file small
 * (about 120 KB instead of 650 KB). Everything is seeded, so a rerun writes the same bytes on the same backend.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { explain } from '../src';

const METHODS = ['gradcam', 'gradcam++', 'scorecam', 'ablationcam', 'eigencam', 'layercam', 'smoothgrad', 'guided-gradcam'];
const LAYER = 'leaky_re_lu_15';
const MAX_BYTES = 300_000;

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const data = path.resolve(flag(args, '--data', path.join('..', 'shared', 'data')));
  const out = path.resolve(flag(args, '--out', path.join('docs', 'images', 'readme-grid.png')));
  const model = path.join(data, 'darknet_tiny');
  const labels = path.join(data, 'labels', 'imagenet_darknet_names.json');
  const photo = path.join(data, 'images', 'coffee.png');
  for (const f of [path.join(model, 'model.json'), labels, photo]) {
    if (!fs.existsSync(f)) throw new Error(`${f}: not found (give the shared data folder with --data)`);
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-grid-'));
  try {
    const { report } = await explain([photo], {
      model,
      labels,
      layers: [LAYER],
      method: METHODS.join(','),
      topK: 1,
      maxSize: 256,
      out: tmp,
      timings: false,
    });
    const image = report.images[0];
    if (image.status !== 'ok' || !image.files?.sheet) throw new Error(`${photo}: ${image.error ?? 'no comparison sheet written'}`);
    const sheet = path.join(tmp, image.files.sheet);
    const png = await sharp(sheet).png({ palette: true, colours: 256, effort: 10, compressionLevel: 9 }).toBuffer();
    if (png.length > MAX_BYTES) throw new Error(`${out}: ${png.length} bytes, over the ${MAX_BYTES} the README's picture may take`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, png);
    const top = image.top?.[0];
    const shown = top ? `${top.label} ${(top.probability * 100).toFixed(1)}%` : 'no class';
    console.log(`${path.relative(process.cwd(), out)}: ${png.length} bytes; ${shown}, ${METHODS.join(', ')} at ${LAYER} (${report.backend})`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`make-readme-grid: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
