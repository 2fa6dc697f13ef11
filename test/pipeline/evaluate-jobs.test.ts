// evaluate({ jobs: 2 }) on real photos with the real darknet_tiny model (../shared/data): the faithfulness rows
// are shared with a worker thread in chunks (src/batch/row-chunks.ts), yet every curve, AUC and per-image number
// is exactly that of jobs: 1.
import * as fs from 'fs';
import * as path from 'path';
import { evaluate } from '../../src/pipeline/evaluate';
import { ChannelPool, SharedRows } from '../../src/batch/channel-pool';
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
