// evaluate({ jobs: 2 }) on real photos with the real darknet_tiny model (../shared/data): the faithfulness rows
// are shared with a worker thread in chunks (src/batch/row-chunks.ts) and the second photo is explained while the
// worker scores the first's, yet every curve, AUC and per-image number is exactly that of jobs: 1.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { evaluate } from '../../src/pipeline/evaluate';
import { ChannelPool, SharedRows } from '../../src/batch/channel-pool';
import { initBackend } from '../../src/backend';
import { saveLayersModel } from '../../src/model/save';
import { brightnessModel } from '../helpers/models';
import { SHARED, hasShared, skipNotice, tempDir } from '../helpers/cli';

const maybe = hasShared ? test : test.skip;
if (!hasShared) skipNotice('darknet_tiny evaluate --jobs test');

maybe('jobs: 2 gives the numbers of jobs: 1 on two photos, with the worker taking part', async () => {
  const dir = tempDir('eval-jobs');
  try {
    const boxes = path.join(dir, 'boxes.json');
    const images = {
      [path.join(SHARED, 'images', 'both.png')]: { class: 139, boxes: [{ x: 20, y: 0, width: 200, height: 120 }] }, // bull mastiff
      [path.join(SHARED, 'images', 'coffee.png')]: { class: 946, boxes: [{ x: 175, y: 19, width: 235, height: 240 }] }, // espresso
    };
    fs.writeFileSync(boxes, JSON.stringify({ version: 1, images }));
    const run = (jobs: number) => evaluate(Object.keys(images), { model: path.join(SHARED, 'darknet_tiny'), backend: 'wasm', method: 'gradcam', boxes, out: null, jobs });
    const one = await run(1);
    // Count the rows this thread scores: the rest were the worker's.
    let total = 0;
    let here = 0;
    const rows = ChannelPool.prototype.rows;
    const spy = jest.spyOn(ChannelPool.prototype, 'rows').mockImplementation(function (this: ChannelPool, task, n): SharedRows {
      const shared = rows.call(this, task, n);
      total += n;
      return { ...shared, scoreHere: (score, onChunk) => shared.scoreHere((from, to, out) => ((here += to - from), score(from, to, out)), onChunk) };
    });
    const two = await run(2).finally(() => spy.mockRestore());
    expect(total).toBe(2 * 65); // 2 + 2 x 32 - 1 rows per photo
    expect(here).toBeLessThan(total);
    expect(two.images).toEqual(one.images);
    expect(two.methods).toEqual(one.methods);
    expect(two.perImage).toEqual(one.perImage);
    expect(one.images.evaluated).toBe(2);
    expect(one.methods[0].deletionAuc).toBeLessThan(one.methods[0].insertionAuc!);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an image that fails while prepared ahead is reported in its turn, as with jobs: 1', async () => {
  await initBackend('wasm');
  const dir = tempDir('eval-jobs-fail');
  try {
    // class 0 responds to brightness
    await saveLayersModel(brightnessModel(), path.join(dir, 'm'));
    const images: Record<string, unknown> = {};
    for (const [i, [x, y]] of [
      [4, 4],
      [0, 0],
      [10, 22],
    ].entries()) {
      const file = path.join(dir, `s${i}.png`);
      if (i === 1) fs.writeFileSync(file, Buffer.from('\x89PNG\r\n\x1a\n this is not a png'));
      else {
        const px = Buffer.alloc(32 * 32 * 3);
        for (let r = y; r < y + 8; r++) for (let c = x; c < x + 8; c++) px.fill(255, (r * 32 + c) * 3, (r * 32 + c) * 3 + 3);
        await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(file);
      }
      images[file] = { class: 0, boxes: [{ x, y, width: 8, height: 8 }] };
    }
    const boxes = path.join(dir, 'boxes.json');
    fs.writeFileSync(boxes, JSON.stringify({ version: 1, images }));
    const run = async (jobs: number) => {
      const seen: string[] = [];
      const report = await evaluate(Object.keys(images), {
        model: path.join(dir, 'm'),
        backend: 'wasm',
        method: 'gradcam,layercam',
        steps: 8,
        boxes,
        out: null,
        jobs,
        onImage: (done, total, file, error) => seen.push(`${done}/${total} ${path.basename(file)}${error ? ' failed' : ''}`),
      });
      return { report, seen };
    };
    const one = await run(1);
    const two = await run(2);
    expect(one.seen).toEqual(['1/3 s0.png', '2/3 s1.png failed', '3/3 s2.png']);
    expect(two.seen).toEqual(one.seen);
    expect(two.report.images).toEqual(one.report.images);
    expect(two.report.methods).toEqual(one.report.methods);
    expect(two.report.perImage).toEqual(one.report.perImage);
    expect(one.report.images.errors.map((e) => path.basename(e.file))).toEqual(['s1.png']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
