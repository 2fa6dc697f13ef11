// Beyond one machine, end to end with the built CLI: explain --shard auto/3 as three processes, each told its index
// the way Kubernetes, Slurm and AWS Batch tell an array-job task, then tfjs-cam merge: the same files and the same
// report as one run over the whole input, apart from timings. The shard folders are left as they were.
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { shardOf } from '../../src/batch/shard';
import { ROOT, runCli, tempDir, CliResult } from '../helpers/cli';

const BIN = path.join(ROOT, 'bin', 'tfjs-cam');
const NO_INDEX = { JOB_COMPLETION_INDEX: '', SLURM_ARRAY_TASK_ID: '', SLURM_ARRAY_TASK_MIN: '', SLURM_ARRAY_TASK_COUNT: '', AWS_BATCH_JOB_ARRAY_INDEX: '' };
// Two folders and a path that does not exist (a failed entry of the list, reported once). The second folder holds
// g.png, g.webp and g.jpg, which the split puts in shards 0, 1 and 2: each keeps its extension in its output names
// only because every shard names outputs from the whole list.
let INPUTS: string[];
const FLAGS = ['-m', 'models/gap-cnn', '--method', 'gradcam,gradcam++', '-k', '2', '--heatmap', '--html', '-j', '1', '-q'];

let dir: string;

/** The CLI as a separate process, run side by side with others (as array-job tasks are). */
function runAsync(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...NO_INDEX, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Every file under d (relative path -> sha256). */
function tree(d: string, rel = '', out: Record<string, string> = {}): Record<string, string> {
  for (const e of fs.readdirSync(path.join(d, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) tree(d, r, out);
    else out[r] = createHash('sha256').update(fs.readFileSync(path.join(d, r))).digest('hex');
  }
  return out;
}

/** A report without its timings (the only part a merge may change). */
function untimed(file: string): unknown {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  delete r.timings;
  for (const i of r.images) delete i.timings;
  return r;
}

beforeAll(async () => {
  dir = tempDir('shard');
  const dup = path.join(dir, 'dup');
  fs.mkdirSync(dup);
  const digit = path.join(ROOT, 'samples', 'digit-05-5.png');
  fs.copyFileSync(digit, path.join(dup, 'g.png'));
  await sharp(digit).webp({ lossless: true }).toFile(path.join(dup, 'g.webp'));
  await sharp(digit).jpeg({ quality: 95 }).toFile(path.join(dup, 'g.jpg'));
  INPUTS = ['samples', dup, 'samples-gone/x.png'];
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('3 shards as 3 processes (Kubernetes, Slurm, AWS Batch indices), merged: the files and report of one run', async () => {
  const shards = [path.join(dir, 's0'), path.join(dir, 's1'), path.join(dir, 's2')];
  const envs: Record<string, string>[] = [
    { JOB_COMPLETION_INDEX: '0' },
    // sbatch --array=1-3: task ids 1..3 are shards 0..2
    { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' },
    { AWS_BATCH_JOB_ARRAY_INDEX: '2' },
  ];
  expect(['dup/g.png', 'dup/g.webp', 'dup/g.jpg'].map((rel) => shardOf(rel, 3))).toEqual([0, 1, 2]);
  const runs = await Promise.all(shards.map((out, k) => runAsync(['explain', ...INPUTS, ...FLAGS, '--shard', 'auto/3', '-o', out], envs[k])));
  const counts = runs.map((r, k) => {
    expect(r.stdout).toMatch(new RegExp(`images? \\(shard ${k}/3 of 16\\)`));
    return JSON.parse(fs.readFileSync(path.join(shards[k], 'report.json'), 'utf8')).images.length as number;
  });
  expect(counts.reduce((a, b) => a + b)).toBe(16);
  expect(counts.every((c) => c > 0)).toBe(true);
  // exactly one shard owns the missing path and fails it (exit 1); the others succeed
  expect(runs.map((r) => r.code).sort()).toEqual([0, 0, 1]);
  expect(runs.map((r) => r.stderr).join('').match(/FAIL samples-gone\/x.png: no such file or folder/g)).toHaveLength(1);

  // One run over the whole input; its folder is then moved aside so that the merge can take its place
  // (report.json and index.html name the output folder).
  const one = path.join(dir, 'one');
  const single = runCli(['explain', ...INPUTS, ...FLAGS, '-o', one]);
  expect(single.code).toBe(1);
  const ref = path.join(dir, 'ref');
  fs.renameSync(one, ref);

  const before = shards.map((s) => tree(s));
  const merged = runCli(['merge', ...shards, '-o', one]);
  expect(merged.stdout).toBe(`16 images from 3 shards: 15 explained, 1 failed; ${Object.keys(tree(ref)).length - 2} files copied; outputs in ${one}\n`);
  expect(merged.code).toBe(1); // as the single run: an image failed
  expect(shards.map((s) => tree(s))).toEqual(before); // shard folders only read

  // Byte-identical outputs (overlays, heatmaps, sheets, index.html), the same file names, nothing more or less.
  const got = tree(one);
  const want = tree(ref);
  delete got['report.json'];
  delete want['report.json'];
  expect(Object.keys(want).length).toBeGreaterThan(15 * 4);
  expect(got).toEqual(want);
  // The same report apart from timings, down to the key order.
  expect(JSON.stringify(untimed(path.join(one, 'report.json')))).toBe(JSON.stringify(untimed(path.join(ref, 'report.json'))));
  const report = JSON.parse(fs.readFileSync(path.join(one, 'report.json'), 'utf8'));
  expect(report.shard).toBeUndefined();
  const names = report.images.filter((i: { file: string }) => i.file.includes('dup')).map((i: { maps: { files: { overlay: string } }[] }) => i.maps[0].files.overlay);
  expect(names).toEqual(['dup/g.jpg.gradcam.5-5.png', 'dup/g.png.gradcam.5-5.png', 'dup/g.webp.gradcam.5-5.png']);
  expect(report.timings.totalMs).toBeGreaterThan(0);

  // Refusals: one line naming the folder, exit 2, nothing written.
  const refuse = (args: string[], message: string) => {
    const r = runCli(['merge', ...args]);
    expect(r.stderr).toBe(`tfjs-cam: error: ${message}\n`);
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  };
  const x = path.join(dir, 'x');
  refuse([shards[0], shards[2], '-o', x], `shard 1/3 missing: ${shards[0]}, ${shards[2]} hold shards 0, 2 of 3`);
  fs.cpSync(shards[1], path.join(dir, 's1-copy'), { recursive: true });
  refuse([...shards, path.join(dir, 's1-copy'), '-o', x], `${path.join(dir, 's1-copy')}: shard 1/3 again (also in ${shards[1]})`);
  refuse([...shards, '-o', one], `${path.join(one, 'report.json')} exists (use --force to overwrite)`);
  refuse([...shards, '-o', path.join(shards[1], 'all')], `${path.join(shards[1], 'all')}: the output folder is (inside) the shard folder ${shards[1]}; shard folders are only read, choose another -o`);
  refuse([ref, '-o', x], `${path.join(ref, 'report.json')}: not a shard's report (made without --shard K/N)`);
  // shard 2 made with another model: refused, whatever its images
  const other = path.join(dir, 's2-other');
  expect(runCli(['explain', ...INPUTS, ...FLAGS.map((f) => (f === 'models/gap-cnn' ? 'models/resnet-bn' : f)), '--shard', '2/3', '-o', other]).code).toBeLessThan(2);
  const r = runCli(['merge', shards[0], shards[1], other, '-o', x]);
  expect(r.stderr).toMatch(new RegExp(`^tfjs-cam: error: ${other}: not a shard of the same run as ${shards[0]} \\(.*model\\.sha256 "[0-9a-f]{64}" there, "[0-9a-f]{64}" in ${shards[0]}.*\\)\\n$`));
  expect(r.code).toBe(2);

  // --force replaces the merged folder's files with the same bytes
  expect(runCli(['merge', ...shards, '-o', one, '--force']).code).toBe(1);
  const again = tree(one);
  delete again['report.json'];
  expect(again).toEqual(want);
});

test('shards left empty by the split still write their report, and merge to the single run', () => {
  const file = 'samples/digit-03-3.png';
  const flags = ['-m', 'models/gap-cnn', '-j', '1', '-q', '--no-timings'];
  const outs = [0, 1, 2].map((k) => path.join(dir, `e${k}`));
  const images = outs.map((out, k) => {
    const r = runCli(['explain', file, ...flags, '--shard', `${k}/3`, '-o', out]);
    expect(r.code).toBe(0);
    return JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).images.length;
  });
  expect(images.sort()).toEqual([0, 0, 1]);
  // a retried task (--resume, as the README's Job and sbatch script run it) leaves its shard as it was
  for (const [k, out] of outs.entries()) expect(runCli(['explain', file, ...flags, '--shard', `${k}/3`, '--resume', '-o', out]).code).toBe(0);
  const one = path.join(dir, 'e-one');
  expect(runCli(['explain', file, ...flags, '-o', one]).code).toBe(0);
  fs.renameSync(one, one + '-ref');
  expect(runCli(['merge', ...outs, '-o', one]).code).toBe(0);
  // --no-timings everywhere: byte-identical reports
  expect(tree(one)).toEqual(tree(one + '-ref'));
});

test('--shard errors: one line, exit 2, before any work', () => {
  const out = path.join(dir, 'never');
  const cases: [string, Record<string, string>, string][] = [
    ['auto/3', {}, '--shard auto/3: none of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX is set; give K yourself (--shard K/3, K from 0)'],
    ['auto/3', { JOB_COMPLETION_INDEX: '5' }, '--shard auto/3: K is 5 (from JOB_COMPLETION_INDEX=5), but must be from 0 to 2 (K is 0-based)'],
    ['auto/3', { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '4' }, '--shard auto/3: the Slurm array has 4 tasks (SLURM_ARRAY_TASK_COUNT) but N is 3; use --shard auto/4'],
    ['3/3', {}, '--shard 3/3: K is 3, but must be from 0 to 2 (K is 0-based)'],
    ['1-3', {}, "--shard must be K/N (K from 0 to N-1) or auto/N (got '1-3')"],
  ];
  for (const [spec, env, message] of cases) {
    const r = runCli(['explain', 'samples', '-m', 'models/gap-cnn', '--shard', spec, '-o', out], { env: { ...NO_INDEX, ...env } });
    expect(r.stderr).toBe(`tfjs-cam: error: ${message}\n`);
    expect(r.code).toBe(2);
  }
  expect(fs.existsSync(out)).toBe(false);
});

test('merge run from another folder than the shards links the originals as one run does; other -k is refused; -q', () => {
  // shards run in w/ on imgs/, merged from w/sh: the report's image paths are relative to w/, not to w/sh
  const w = path.join(dir, 'w');
  fs.mkdirSync(path.join(w, 'imgs'), { recursive: true });
  for (const f of ['digit-03-3.png', 'digit-05-5.png', 'digit-07-7.png']) fs.copyFileSync(path.join(ROOT, 'samples', f), path.join(w, 'imgs', f));
  const flags = ['-m', path.join(ROOT, 'models', 'gap-cnn'), '-k', '1', '--html', '-j', '1', '-q', '--no-timings'];
  for (const k of [0, 1]) expect(runCli(['explain', 'imgs', ...flags, '--shard', `${k}/2`, '-o', `sh/s${k}`], { cwd: w }).code).toBe(0);
  // one run from w/ into the folder the merge will write, then moved aside
  expect(runCli(['explain', 'imgs', ...flags, '-o', 'sh/merged'], { cwd: w }).code).toBe(0);
  fs.renameSync(path.join(w, 'sh', 'merged'), path.join(w, 'sh', 'ref'));
  const sh = path.join(w, 'sh');
  const merged = runCli(['merge', 's0', 's1', '-o', 'merged', '-q'], { cwd: sh });
  expect(merged.code).toBe(0);
  expect(merged.stdout).toBe(`3 images from 2 shards: 3 explained, 0 failed; 3 files copied; outputs in ${path.join(sh, 'merged')}\n`);
  expect(merged.stderr).toBe('');
  const html = fs.readFileSync(path.join(sh, 'merged', 'index.html'), 'utf8');
  expect([...html.matchAll(/href="([^"]*)">original image/g)].map((m) => m[1])).toEqual(['../../imgs/digit-03-3.png', '../../imgs/digit-05-5.png', '../../imgs/digit-07-7.png']);
  // byte for byte the single run's folder (--no-timings: reports too)
  expect(tree(path.join(sh, 'merged'))).toEqual(tree(path.join(sh, 'ref')));

  // a shard asked for other classes (-k 2) is not a shard of this run
  expect(runCli(['explain', 'imgs', ...flags.map((f) => (f === '1' ? '2' : f)), '--shard', '1/2', '-o', 'sh/s1-k2'], { cwd: w }).code).toBe(0);
  const r = runCli(['merge', 's0', 's1-k2', '-o', 'merged-k'], { cwd: sh });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('tfjs-cam: error: s1-k2: not a shard of the same run as s0 (explained.topK 2 there, 1 in s0)\n');
});

test('shards whose methods ran with other options (noise seed, Score-CAM channels, IG baseline) are refused by merge and --resume', () => {
  const w = path.join(dir, 'opts');
  fs.mkdirSync(path.join(w, 'imgs'), { recursive: true });
  for (const f of ['digit-03-3.png', 'digit-05-5.png']) fs.copyFileSync(path.join(ROOT, 'samples', f), path.join(w, 'imgs', f));
  const base = ['-m', path.join(ROOT, 'models', 'gap-cnn'), '-k', '1', '-j', '1', '-q', '--no-timings', '--noise-samples', '2', '--ig-steps', '2', '--max-channels', '4'];
  const run = (k: number, out: string, extra: string[] = [], method = 'smoothgrad,scorecam,integrated-gradients') => runCli(['explain', 'imgs', ...base, '--method', method, ...extra, '--shard', `${k}/2`, '-o', out], { cwd: w });
  expect(run(0, 's0').code).toBe(0);
  const report = JSON.parse(fs.readFileSync(path.join(w, 's0', 'report.json'), 'utf8'));
  expect(report.methodSettings).toEqual({ noiseSamples: 2, noiseLevel: 0.15, seed: 0, igSteps: 2, baselineSha256: null, maxChannels: 4 });
  const refused = (out: string, extra: string[], setting: string) => {
    expect(run(1, out, extra).code).toBe(0);
    const r = runCli(['merge', 's0', out, '-o', `m-${out}`], { cwd: w });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`tfjs-cam: error: ${out}: not a shard of the same run as s0 (${setting})\n`);
  };
  refused('s1-seed', ['--seed', '7'], 'methodSettings.seed 7 there, 0 in s0');
  refused('s1-channels', ['--max-channels', '6'], 'methodSettings.maxChannels 6 there, 4 in s0');
  // A baseline image: the hash of its model-input values (any file name, any folder).
  fs.copyFileSync(path.join(ROOT, 'samples', 'digit-07-7.png'), path.join(w, 'baseline.png'));
  expect(run(1, 's1-base', ['--baseline', 'baseline.png']).code).toBe(0);
  const hash = JSON.parse(fs.readFileSync(path.join(w, 's1-base', 'report.json'), 'utf8')).methodSettings.baselineSha256;
  expect(hash).toMatch(/^[0-9a-f]{64}$/);
  const r = runCli(['merge', 's0', 's1-base', '-o', 'm-base'], { cwd: w });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`tfjs-cam: error: s1-base: not a shard of the same run as s0 (methodSettings.baselineSha256 "${hash}" there, null in s0)\n`);
  // The same options merge; options of methods that did not run are not compared (Grad-CAM reads no noise).
  expect(run(1, 's1').code).toBe(0);
  expect(runCli(['merge', 's0', 's1', '-o', 'm'], { cwd: w }).code).toBe(0);
  expect(run(0, 'g0', ['--seed', '3'], 'gradcam').code).toBe(0);
  expect(run(1, 'g1', [], 'gradcam').code).toBe(0);
  expect(JSON.parse(fs.readFileSync(path.join(w, 'g0', 'report.json'), 'utf8')).methodSettings).toBeUndefined();
  expect(runCli(['merge', 'g0', 'g1', '-o', 'mg'], { cwd: w }).code).toBe(0);
  // --resume of a folder made with another seed is refused, naming it.
  const again = run(0, 's0', ['--seed', '7', '--resume']);
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/--resume: .* was made with other settings \(methodSettings\.seed 7 now, 0 then\)/);
});
