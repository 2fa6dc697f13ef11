/**
 * `--jobs auto` against `--jobs 1` and `--jobs 2` (issue 21), through the built CLI with the model load, on:
 *   - a folder of 500 small images: the shipped 64 x 64 samples, each turned four ways, with models/gap-cnn;
 *   - the photo folders (2 and 8 of ../shared/data/images) with MobileNetV2 from ../shared/data/zoo (both its
 *     LayersModel and its GraphModel), else darknet_tiny; skipped with a notice when neither is present.
 * The three settings run in turn, round after round, each round starting with the next one (a run right after
 * --jobs 2's, with both cores busy, was slower), so that drift in this shared machine's speed falls on all three.
 * The floor: auto never slower than --jobs 1 (its ratio at most 1x, within the noise of the machine).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import sharp from 'sharp';

const ROOT = path.resolve(__dirname, '..', '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'data');
const BIN = path.join(ROOT, 'bin', 'tfjs-cam');

export interface JobsBenchOptions {
  runs: number;
  quick: boolean;
  median(xs: number[]): number;
  line(label: string, value: string, note?: string): void;
  fmt(ms: number): string;
  ratio(a: number, b: number): string;
}

/** Wall ms of one CLI run, or null (said) when it failed. */
function cli(args: string[]): number | null {
  const t0 = performance.now();
  const p = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (p.status !== 0) {
    console.log(`    (failed: tfjs-cam ${args.slice(0, 2).join(' ')}...: ${(p.stderr || p.stdout).trim().split('\n').pop()})`);
    return null;
  }
  return performance.now() - t0;
}

/** One folder, the three settings in turn for `runs` rounds: medians and the ratios to --jobs 1. */
function compare(o: JobsBenchOptions, label: string, inDir: string, model: string, extra: string[], runs: number, tmp: string): void {
  const settings = [['--jobs', '1'], ['--jobs', '2'], ['--jobs', 'auto']];
  const times: number[][] = settings.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < settings.length; k++) {
      const i = (r + k) % settings.length;
      const t = cli(['explain', inDir, '-m', model, ...extra, ...settings[i], '-q', '-o', path.join(tmp, `out-${i}`), '--force']);
      if (t != null) times[i].push(t);
    }
  }
  if (times.some((t) => t.length < runs)) return;
  const [j1, j2, auto] = times.map((t) => o.median(t));
  const rounds = times[2].map((a, r) => (a / times[0][r]).toFixed(2)).join(', ');
  o.line(`${label}: --jobs 1 / 2 / auto`, `${o.fmt(j1)} /${o.fmt(j2)} /${o.fmt(auto)}`, `auto: ${o.ratio(auto, j1)} of --jobs 1 (floor: never above 1x; by round ${rounds}), --jobs 2: ${o.ratio(j2, j1)}`);
}

export async function benchJobs(o: JobsBenchOptions): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-cam-bench-jobs-'));
  const runs = o.quick ? 1 : 3;
  console.log(`\n--jobs auto vs 1 vs 2 (CLI wall time with the model load, median of ${runs}, settings alternated; ${os.availableParallelism()} cores)`);
  try {
    // 500 small images: the samples (64 x 64), each turned 0/90/180/270 degrees, so that no two files are alike.
    const small = path.join(tmp, 'small');
    fs.mkdirSync(small);
    const samples = fs.readdirSync(path.join(ROOT, 'samples')).filter((f) => f.endsWith('.png')).sort();
    for (let i = 0; i < 500; i++) await sharp(path.join(ROOT, 'samples', samples[i % samples.length])).rotate(90 * (Math.floor(i / samples.length) % 4)).toFile(path.join(small, `s${String(i).padStart(3, '0')}.png`));
    compare(o, 'folder of 500 small images (64 x 64, models/gap-cnn, top-3)', small, path.join(ROOT, 'models', 'gap-cnn'), [], runs, tmp);

    const photos = fs.existsSync(path.join(SHARED, 'images')) ? fs.readdirSync(path.join(SHARED, 'images')).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort() : [];
    const models = [
      ['MobileNetV2', path.join(SHARED, 'zoo', 'nsfwjs-mobilenet-v2')],
      ['MobileNetV2 GraphModel', path.join(SHARED, 'zoo', 'nsfwjs-mobilenet-v2-mid')],
    ].filter(([, d]) => fs.existsSync(path.join(d, 'model.json')));
    if (!models.length && fs.existsSync(path.join(SHARED, 'darknet_tiny', 'model.json'))) models.push(['darknet_tiny', path.join(SHARED, 'darknet_tiny')]);
    if (!photos.length || !models.length) {
      console.log('  skipped the photo folders: ../shared/data (images, zoo or darknet_tiny) is not present');
      return;
    }
    for (const n of [2, 8]) {
      const dir = path.join(tmp, `photos${n}`);
      fs.mkdirSync(dir);
      for (let i = 0; i < n; i++) fs.copyFileSync(path.join(SHARED, 'images', photos[i % photos.length]), path.join(dir, `${String(i).padStart(2, '0')}-${photos[i % photos.length]}`));
      for (const [name, model] of models) compare(o, `folder of ${n} photos (${name}, top-3)`, dir, model, ['-k', '3'], o.quick ? 2 : 4, tmp);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
