// check's overlays of a big photo are drawn at most 2048 px wide, as explain's, with the expected region (boxes or
// a mask, given in the photo's pixels) scaled onto them; the measures stay those of the full photo.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { tempDir } from '../helpers/cli';
import { initBackend } from '../../src/backend';
import { check, REGION_COLOR } from '../../src/check/run';
import { saveColourModel, squaresImage, maskImage, RED } from './fixtures';

let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('check-size');
  await saveColourModel(path.join(dir, 'models', 'colour'));
  // 2200 x 550 with a red square at (275, 110), 330 px: scaled by 2048 / 2200 to 2048 x 512 it spans x 256..563.2,
  // y 102.4..409.6, i.e. pixel columns 256..562 and rows 102..409
  await squaresImage(path.join(dir, 'images', 'big.png'), 2200, 550, [{ x: 275, y: 110, size: 330, color: RED }]);
  await maskImage(path.join(dir, 'masks', 'big.png'), 2200, 550, { x: 275, y: 110, width: 330, height: 330 });
  fs.writeFileSync(
    path.join(dir, 'spec.yaml'),
    `model: models/colour
cases:
  - name: box
    images: images/big.png
    class: red
    expect: {region: {boxes: [{x: 275, y: 110, width: 330, height: 330}]}, pointingGame: true}
  - name: mask
    images: images/big.png
    class: red
    expect: {region: {mask: "masks/{stem}.png"}, pointingGame: true}
`,
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('overlays at 2048 x 512 with the region outlined where the scaled square is; peaks in the photo pixels', async () => {
  const out = path.join(dir, 'out');
  const report = await check(path.join(dir, 'spec.yaml'), { out, overlays: 'all', backend: 'wasm', timings: false });
  expect(report.results.map((r) => r.status)).toEqual(['pass', 'pass']);
  expect(report.output.colormap).toBe('jet');
  for (const r of report.results) {
    // the peak is in the full photo's pixels, inside the square (275..605)
    expect(r.peak!.x).toBeGreaterThan(275);
    expect(r.peak!.x).toBeLessThan(605);
    const { data, info } = await sharp(path.join(out, r.overlay!)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([2048, 512]);
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    // an outline round(512 / 128) = 4 px wide inside the scaled square's edges: columns 256..259 and 559..562, rows 102..105
    expect([r.caseName, at(256, 250), at(259, 250), at(562, 250), at(400, 102)]).toEqual([r.caseName, REGION_COLOR, REGION_COLOR, REGION_COLOR, REGION_COLOR]);
    expect([at(260, 250), at(400, 250), at(255, 250), at(563, 250), at(400, 101)].some((c) => c.join() === REGION_COLOR.join())).toBe(false);
  }
});
