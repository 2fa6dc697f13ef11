// Timings: perImageMs is wall time per image (images overlap), and the time-left estimate is based on work done.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { WorkEta } from '../../src/cli/output';
import { tempDir } from '../helpers/cli';
import { saveModel, smallCnn, spotPng } from '../faults/fixtures';

test('time left from work done: Score-CAM batches of 32 every second, 512 channels', () => {
  const eta = new WorkEta();
  // The first report comes after the first batch (its start was never reported): no estimate yet.
  expect(eta.update(32, 512, 1000)).toBeNull();
  // After the second batch: 1 s per 32 channels, 448 channels left = 14 s (the old estimate said 7 s).
  expect(eta.update(64, 512, 2000)).toBe(14_000);
  expect(eta.update(256, 512, 8000)).toBe(8_000);
  // The next image's method starts again from 32: a new measurement.
  expect(eta.update(32, 512, 20_000)).toBeNull();
  expect(eta.update(96, 512, 22_000)).toBe(13_000);
});

test('perImageMs is the run wall time (without loading the model) per image, not the mean of overlapping times', async () => {
  await initBackend('wasm');
  const dir = tempDir('timings');
  try {
    const model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
    for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(dir, `${n}.png`), await spotPng(300, 200));
    const { report } = await explain([dir], { model, out: path.join(dir, 'out'), topK: 2, jobs: 1 });
    const t = report.timings!;
    expect(report.summary.succeeded).toBe(3);
    expect(t.perImageMs).toBeCloseTo((t.totalMs - t.loadMs) / 3, 0);
    // Each image's own totalMs overlaps its neighbours' work: their sum exceeds the wall time.
    const sum = report.images.reduce((a, i) => a + i.timings!.totalMs, 0);
    expect(t.perImageMs * 3).toBeLessThanOrEqual(t.totalMs);
    expect(sum).toBeGreaterThan(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
