/**
 * Issue 24's figure: `tfjs-cam diff` on a folder of 16 photos with MobileNetV2 (zoo/nsfwjs-mobilenet-v2, a Keras
 * MobileNetV2; the head is its float16 copy as the converter writes it), against one `explain` run of the same
 * folder with the same model (defaults: Grad-CAM top-3, overlays written). Both through the built CLI, model
 * loading included, run alternately round after round so that drift in the machine's speed falls on both; median
 * wall times and their ratio (goal: diff at most 2.2x explain). Also diff --html (three overlays per image) and
 * diff --jobs 2. Skipped with a notice when ../shared/data/zoo is absent.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { writeQuantizedCopy } from '../scripts/quantize-model';

const ROOT = path.resolve(__dirname, '..', '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'data');
const MODEL = path.join(SHARED, 'zoo', 'nsfwjs-mobilenet-v2');
const IMAGES = path.join(SHARED, 'images');
const BIN = path.join(ROOT, 'bin', 'tfjs-cam');

export interface DiffBenchOptions {
  quick: boolean;
  median(xs: number[]): number;
  line(label: string, value: string, note?: string): void;
  fmt(ms: number): string;
  ratio(a: number, b: number): string;
}

function cli(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  // diff exits 1 when an image fails a threshold; none is given here, so anything but 0 is a failure.
  if (r.status !== 0) throw new Error(`tfjs-cam ${args[0]} failed (${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  return performance.now() - t0;
}

export async function benchDiff(o: DiffBenchOptions): Promise<void> {
  if (!fs.existsSync(path.join(MODEL, 'model.json'))) {
    console.log('\nskipped diff vs explain: ../shared/data/zoo is not present');
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-cam-bench-diff-'));
  try {
    const head = path.join(tmp, 'mobilenet-v2-float16');
    writeQuantizedCopy(MODEL, head, 'float16');
    const photos = fs.readdirSync(IMAGES).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
    const folder = path.join(tmp, 'photos');
    fs.mkdirSync(folder);
    for (let i = 0; i < 16; i++) fs.copyFileSync(path.join(IMAGES, photos[i % photos.length]), path.join(folder, `${String(i).padStart(2, '0')}-${photos[i % photos.length]}`));
    const runs = o.quick ? 3 : 5;
    console.log(`\nzoo/nsfwjs-mobilenet-v2: diff vs explain, folder of 16 photos, Grad-CAM, CLI wall time (model loads included), median of ${runs}`);
    const settings: [string, string[]][] = [
      ['explain', ['explain', folder, '-m', MODEL, '-o', path.join(tmp, 'explain'), '--force']],
      ['diff', ['diff', '--base', MODEL, '--head', head, folder]],
      ['diff --html', ['diff', '--base', MODEL, '--head', head, folder, '--html', '-o', path.join(tmp, 'diff-html')]],
      ['diff --jobs 2', ['diff', '--base', MODEL, '--head', head, folder, '--jobs', '2']],
    ];
    const times: number[][] = settings.map(() => []);
    for (let r = 0; r < runs; r++) {
      // Each round starts with the next setting: a run right after a two-core one was slower.
      for (let k = 0; k < settings.length; k++) {
        const i = (r + k) % settings.length;
        times[i].push(cli(settings[i][1]));
      }
    }
    const [ex, df, html, jobs] = times.map((t) => o.median(t));
    o.line('explain (top-3 maps, overlays, report)', o.fmt(ex));
    o.line('diff (both models, base top-1, compared)', o.fmt(df), `${o.ratio(df, ex)} of explain (goal: at most 2.2x)`);
    o.line('diff --html (three overlays per image, page)', o.fmt(html), `${o.ratio(html, ex)} of explain`);
    o.line('diff --jobs 2', o.fmt(jobs), `${o.ratio(jobs, df)} of diff --jobs 1`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
