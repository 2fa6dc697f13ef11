// Ctrl-C during a folder run: stops within a second with exit 130, leaves no temp or half-written file; then
// --resume finishes the run without redoing what was done, and ends exactly where an uninterrupted run ends.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend';
import { JOURNAL_NAME } from '../../src/pipeline/resume';
import { ROOT, tempDir } from '../helpers/cli';
import { listFiles, saveModel, smallCnn, snapshot, spotPng } from './fixtures';
import { runCli } from './cli';

const N = 30;
let dir: string;
let model: string;
let inDir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('faults-sigint');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  inDir = path.join(dir, 'in');
  fs.mkdirSync(inDir);
  // Big enough that a run takes a few seconds (rendering and PNG encoding dominate), so Ctrl-C lands mid-run.
  for (let i = 0; i < N; i++) fs.writeFileSync(path.join(inDir, `p${String(i).padStart(2, '0')}.png`), await spotPng(640, 480, 100 + i * 15, 200));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * CPU seconds a process has used so far, all its threads (utime + stime in /proc/<pid>/stat, in clock ticks of
 * 1/100 s); null where there is no /proc. The tests below wait for CPU time, not wall time, before Ctrl-C: on a
 * machine whose cores are busy with other work, 2.5 s of wall time after the spawn can still be Node's start-up,
 * before tfjs-cam has its handler (the process then dies of the signal, which is not what is tested).
 */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Calls `then` once the child has used `cpu` seconds of CPU (or, without /proc, after `cpu` seconds). */
function afterCpu(pid: number, cpu: number, then: () => void): () => void {
  if (cpuSeconds(pid) == null) {
    const t = setTimeout(then, cpu * 1000);
    return () => clearTimeout(t);
  }
  const poll = setInterval(() => {
    const used = cpuSeconds(pid);
    if (used == null || used >= cpu) {
      clearInterval(poll);
      if (used != null) then();
    }
  }, 20);
  return () => clearInterval(poll);
}

// How soon Ctrl-C must end a run, from the signal to the exit. tfjs-cam answers within a few hundred ms on a quiet
// machine (docs/troubleshooting.md); the bound leaves room for a machine whose cores are shared many ways and still
// tells "answered at once" from "finished its passes first" (a minute of CPU, many minutes of wall time there).
const PROMPT_MS = 10_000;

const ARGS = (out: string) => ['explain', inDir, '-m', model, '-o', out, '-k', '3', '--heatmap', '--no-timings'];

/** Spawns the CLI, sends SIGINT as soon as the first output PNG is in place, and times the exit. */
function interruptAfterFirstOutput(out: string): Promise<{ code: number | null; signal: string | null; stopMs: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tfjs-cam'), ...ARGS(out)], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    let sentAt = 0;
    const poll = setInterval(() => {
      if (sentAt || !fs.existsSync(out)) return;
      if (fs.readdirSync(out).some((f) => f.endsWith('.png'))) {
        sentAt = Date.now();
        child.kill('SIGINT');
      }
    }, 10);
    const giveUp = setTimeout(() => child.kill('SIGKILL'), 540_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(giveUp);
      resolve({ code, signal, stopMs: sentAt ? Date.now() - sentAt : -1, stderr });
    });
  });
}

test('SIGINT mid-run: exit 130 at once, no temp or partial files; --resume finishes like an uninterrupted run', async () => {
  const out = path.join(dir, 'out');
  const r = await interruptAfterFirstOutput(out);
  expect(r.stopMs).toBeGreaterThanOrEqual(0);
  expect(r.code).toBe(130);
  expect(r.stopMs).toBeLessThan(PROMPT_MS);
  expect(r.stderr).toMatch(/interrupted: finished outputs were kept, nothing half-written is left/);
  expect(r.stderr).not.toMatch(/\n\s+at /);

  const files = listFiles(out);
  expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  expect(files).not.toContain('report.json'); // the run really was cut short
  for (const f of files.filter((x) => x.endsWith('.png'))) await sharp(path.join(out, f), { failOn: 'truncated' }).raw().toBuffer();
  // The journal lists the images whose outputs are all written.
  const journal = fs.readFileSync(path.join(out, JOURNAL_NAME), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
  expect(journal.length).toBeLessThan(N);
  for (const e of journal) {
    expect(e.maps).toHaveLength(3);
    for (const m of e.maps) {
      expect(files).toContain(m.files.overlay);
      expect(files).toContain(m.files.heatmap);
    }
  }
  const done = snapshot(out);

  const resumed = runCli([...ARGS(out), '--resume']);
  expect(resumed.code).toBe(0);
  expect((resumed.stdout.match(/^done .*: outputs from the earlier run kept$/gm) ?? []).length).toBe(journal.length);
  expect((resumed.stdout.match(/^ok /gm) ?? []).length).toBe(N - journal.length);
  const after = snapshot(out);
  // Files of images finished before Ctrl-C were not rewritten (same bytes and mtime).
  for (const e of journal) for (const m of e.maps) for (const f of [m.files.overlay, m.files.heatmap]) expect(after[f]).toBe(done[f]);
  expect(listFiles(out)).not.toContain(JOURNAL_NAME);

  // The same as one uninterrupted run: identical files, byte for byte, and the same report (but for the folder).
  const clean = path.join(dir, 'clean');
  expect(runCli(ARGS(clean)).code).toBe(0);
  expect(listFiles(out)).toEqual(listFiles(clean));
  for (const f of listFiles(clean)) {
    if (f === 'report.json') continue;
    expect([f, fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(clean, f)))]).toEqual([f, true]);
  }
  const a = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  const b = JSON.parse(fs.readFileSync(path.join(clean, 'report.json'), 'utf8'));
  expect(a.output.dir).toBe(out);
  a.output.dir = b.output.dir;
  expect(a).toEqual(b);
  expect(a.summary).toEqual({ images: N, succeeded: N, failed: 0 });
});

/** 256 channels at 96 x 96: Score-CAM needs 256 forward passes, about a minute on WASM. Made once. */
let slowModelDir: string | null = null;
async function slowScoreCamModel(): Promise<string> {
  if (slowModelDir) return slowModelDir;
  const tf = await import('@tensorflow/tfjs');
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const slow = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [96, 96, 3], filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'c1' }),
      tf.layers.conv2d({ filters: 256, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2), name: 'feat' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 4, kernelInitializer: init(3), name: 'fc' }),
    ],
  });
  slowModelDir = await saveModel(slow, path.join(dir, 'slow'));
  slow.dispose();
  return slowModelDir;
}

test('Ctrl-C during a long Score-CAM on one image stops at once (the synchronous work runs off the main thread)', async () => {
  const slowModel = await slowScoreCamModel();
  const out = path.join(dir, 'out-slow');
  const r = await new Promise<{ code: number | null; stopMs: number; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tfjs-cam'), 'explain', path.join(inDir, 'p00.png'), '-m', slowModel, '-o', out, '--method', 'scorecam', '-k', '1', '-j', '1'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    let sentAt = 0;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    // After 2.5 s of CPU the model is loaded and Score-CAM's passes (a minute of CPU) are running.
    const cancel = afterCpu(child.pid!, 2.5, () => {
      sentAt = Date.now();
      child.kill('SIGINT');
    });
    const giveUp = setTimeout(() => child.kill('SIGKILL'), 540_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      cancel();
      clearTimeout(giveUp);
      resolve({ code, stopMs: sentAt ? Date.now() - sentAt : -1, stderr });
    });
  });
  expect(r.stopMs).toBeGreaterThanOrEqual(0); // it was still running when interrupted
  expect(r.code).toBe(130);
  expect(r.stopMs).toBeLessThan(PROMPT_MS); // it used to finish every pass first (a minute of CPU here)
  expect(r.stderr).toMatch(/interrupted: finished outputs were kept/);
  expect(listFiles(out).filter((f) => f.endsWith('.tmp') || f.endsWith('.png'))).toEqual([]);
});

/** Runs the CLI, sends `signals` SIGINTs (20 ms apart) after `cpu` seconds of its CPU time, and times the exit from the first. */
function interruptAfter(args: string[], cpu: number, signals = 1): Promise<{ code: number | null; signal: string | null; stopMs: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tfjs-cam'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    let sentAt = 0;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    const timers: NodeJS.Timeout[] = [];
    const cancel = afterCpu(child.pid!, cpu, () => {
      for (let i = 0; i < signals; i++)
        timers.push(
          setTimeout(() => {
            sentAt ||= Date.now();
            child.kill('SIGINT');
          }, 20 * i),
        );
    });
    const giveUp = setTimeout(() => child.kill('SIGKILL'), 540_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      cancel();
      timers.forEach(clearTimeout);
      clearTimeout(giveUp);
      resolve({ code, signal, stopMs: sentAt ? Date.now() - sentAt : -1, stderr });
    });
  });
}

// evaluate's work per image is synchronous (the maps, then hundreds of passes); it runs on a thread of its own, so
// Ctrl-C is answered at once, as in explain. Here the first image's Score-CAM alone takes about a minute.
test('evaluate: Ctrl-C mid-image exits 130 at once, nothing half-written; a second Ctrl-C ends at once', async () => {
  const slowModel = await slowScoreCamModel();
  const images = path.join(dir, 'eval-in');
  fs.mkdirSync(images, { recursive: true });
  for (const f of ['p00.png', 'p01.png']) fs.copyFileSync(path.join(inDir, f), path.join(images, f));
  const box = { class: 0, boxes: [{ x: 60, y: 160, width: 80, height: 80 }] };
  fs.writeFileSync(path.join(images, 'boxes.json'), JSON.stringify({ version: 1, images: { 'p00.png': box, 'p01.png': box } }));
  for (const signals of [1, 2]) {
    const out = path.join(dir, `eval-out-${signals}`);
    const r = await interruptAfter(['evaluate', '-m', slowModel, '--boxes', path.join(images, 'boxes.json'), '--method', 'scorecam', '--overlays', '--jobs', '1', '-o', out], 2.5, signals);
    expect([r.code, r.signal]).toEqual([130, null]); // it used to die of the signal, by default, after nothing
    expect(r.stopMs).toBeGreaterThanOrEqual(0); // it was still running when interrupted
    expect(r.stopMs).toBeLessThan(PROMPT_MS);
    expect(r.stderr).toMatch(/interrupted: finished outputs were kept, nothing half-written is left\n$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const left = fs.existsSync(out) ? listFiles(out) : [];
    expect(left.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(left).not.toContain('evaluation.json'); // the run really was cut short
  }
});
