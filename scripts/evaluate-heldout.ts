/**
 * Localisation and faithfulness of every method on every shipped model, on the 1,000 held-out evaluation
 * canvases (MNIST test digits, seeded: the same canvases every run), plus the untrained-model baseline
 * (weights shuffled). The canvases are written as PNG with a boxes file and go through `evaluate` exactly
 * as a user's images would.
 *
 *   npm run build && node dist/scripts/evaluate-heldout.js [--n 1000] [--models gap-cnn,resnet-bn] [--methods all] [--steps 16]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { makeEvalCanvases } from './data/clutter';
import { evaluate, EvaluateReport } from '../src/pipeline/evaluate';
import { evaluationTable } from '../src/cli/evaluate';

const ROOT = path.resolve(__dirname, '..', '..');
const arg = (name: string, def: string) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : def);

async function main(): Promise<void> {
  const n = Number(arg('n', '1000'));
  const models = arg('models', 'gap-cnn,resnet-bn,flatten-dense,resnet-bn-graph').split(',');
  const methods = arg('methods', 'all');
  const steps = Number(arg('steps', '16'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-cam-heldout-'));
  const canvases = makeEvalCanvases(n);
  const images: Record<string, unknown> = {};
  for (const [i, c] of canvases.entries()) {
    const name = `eval-${String(i).padStart(4, '0')}.png`;
    await sharp(Buffer.from(c.pixels), { raw: { width: c.size, height: c.size, channels: 1 } }).toColourspace('b-w').png().toFile(path.join(dir, name));
    images[name] = { class: c.label, label: String(c.label), boxes: [c.box] };
  }
  fs.writeFileSync(path.join(dir, 'boxes.json'), JSON.stringify({ version: 1, images }));
  console.log(`${n} held-out canvases in ${dir}\n`);
  const results: Record<string, EvaluateReport> = {};
  for (const m of models) {
    const modelDir = path.join(ROOT, 'models', m);
    if (!fs.existsSync(path.join(modelDir, 'model.json'))) continue;
    for (const shuffled of [false, true]) {
      if (shuffled && m.endsWith('-graph')) continue; // shuffling is for layers models
      const t0 = Date.now();
      const r = await evaluate([dir], { model: modelDir, boxes: path.join(dir, 'boxes.json'), method: methods, steps, shuffleWeights: shuffled ? 1 : undefined, out: null, methodOptions: { maxChannels: 0, noiseSamples: 4 } });
      results[`${m}${shuffled ? ' (shuffled)' : ''}`] = r;
      console.log(`models/${m}${shuffled ? ' with shuffled weights (untrained baseline)' : ''}: top-1 accuracy ${r.images.top1Accuracy == null ? "n/a" : `${(r.images.top1Accuracy * 100).toFixed(1)}%`}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      console.log(evaluationTable(r) + '\n');
    }
  }
  fs.writeFileSync(path.join(ROOT, '.tmp-heldout.json'), JSON.stringify(results, null, 1));
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
