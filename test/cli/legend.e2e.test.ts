// --legend and the colour-map flags through the built CLI: a scale strip under each overlay only when asked (the
// default files are the plain overlays, byte for byte), bad values refused with the accepted ones (exit 2).
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { ROOT, runCli, tempDir } from '../helpers/cli';
import { expectRunError } from '../faults/cli';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { decodeImage } from '../../src/image/decode';
import { placement } from '../../src/image/geometry';
import { renderOverlay } from '../../src/render/overlay';
import { colormapLut } from '../../src/render/colormap';
import { legendBar, stripLayout } from '../../src/render/legend';

const MODEL = path.join(ROOT, 'models', 'gap-cnn');
let dir: string;
let photo: string;

beforeAll(async () => {
  dir = tempDir('legend');
  // a shipped digit enlarged to 280 x 280: wide enough for a readable strip
  photo = path.join(dir, 'digit.png');
  await sharp(path.join(ROOT, 'samples', 'digit-03-3.png')).resize(280, 280, { kernel: 'nearest' }).png().toFile(photo);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const explainCli = (out: string, ...flags: string[]) => {
  const r = runCli(['explain', photo, '-m', MODEL, '-o', path.join(dir, out), '-k', '1', '--heatmap', '--no-timings', '-q', ...flags]);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(fs.readFileSync(path.join(dir, out, 'report.json'), 'utf8'));
};

test('without --legend (or with --legend none) the overlay is the plain overlay, byte for byte; --legend adds the strip under it', async () => {
  const plain = explainCli('plain');
  explainCli('none', '--legend', 'none');
  const withStrip = explainCli('below', '--legend');
  const overlay = plain.images[0].maps[0].files.overlay as string;
  const heatmap = plain.images[0].maps[0].files.heatmap as string;
  const read = (out: string, f: string) => fs.readFileSync(path.join(dir, out, f));
  expect(read('none', overlay).equals(read('plain', overlay))).toBe(true);
  expect(plain.output).not.toHaveProperty('legend');
  expect(withStrip.output.legend).toBe('below');

  // The default file is exactly what the renderer makes of the map, with nothing added.
  await initBackend('wasm');
  const { maps } = await explain([photo], { model: MODEL, out: null, topK: 1, returnMaps: true, jobs: 1 });
  const img = await decodeImage(photo);
  const m = maps![0].maps[0];
  const direct = await renderOverlay(img, m.map, m.width, m.height, placement(280, 280, m.width, m.height, 'stretch'), { colormap: 'jet', alpha: 0.5, heatmap: false });
  expect(direct.overlay.equals(read('plain', overlay))).toBe(true);

  const L = stripLayout(280);
  for (const f of [overlay, heatmap]) {
    const a = await sharp(read('plain', f)).raw().toBuffer({ resolveWithObject: true });
    const b = await sharp(read('below', f)).raw().toBuffer({ resolveWithObject: true });
    expect([b.info.width, b.info.height]).toEqual([280, 280 + L.height]);
    // the picture above the strip is the plain one
    expect(Buffer.compare(b.data.subarray(0, a.data.length), a.data)).toBe(0);
    // the strip's bar is jet from entry 0 to entry 255, read back from the file
    const y = 280 + L.bar.top + Math.floor(L.bar.height / 2);
    const row = b.data.subarray((y * 280 + L.bar.left) * 3, (y * 280 + L.bar.left + L.bar.width) * 3);
    expect(Buffer.compare(row, Buffer.from(legendBar(colormapLut('jet'), L.bar.width, 1)))).toBe(0);
    expect(Array.from(row.subarray(0, 3))).toEqual([0, 0, 128]); // jet's dark blue: 0 = the map's minimum
    expect(Array.from(row.subarray(row.length - 3))).toEqual([128, 0, 0]); // dark red: 1 = its maximum
  }
});

test('a bad --legend, --colormap or --signed-colormap value exits 2 naming the accepted values', () => {
  const cases: [string[], RegExp][] = [
    [['--legend', 'right'], /argument 'right' is invalid\. Allowed choices are below, none\./],
    [['--colormap', 'rainbow'], /argument 'rainbow' is invalid\. Allowed choices are jet, turbo, viridis, inferno\./],
    [['--signed-colormap', 'jet'], /argument 'jet' is invalid\. Allowed choices are bwr, rdwhgn\./],
  ];
  for (const [flags, re] of cases) {
    const r = runCli(['explain', photo, '-m', MODEL, '-o', path.join(dir, 'bad'), ...flags]);
    expect([flags, r.code]).toEqual([flags, 2]);
    expect(r.stderr).toMatch(re);
  }
  const check = runCli(['check', path.join(ROOT, 'samples', 'check.yaml'), '--colormap', 'gray']);
  expect(check.code).toBe(2);
  expect(check.stderr).toMatch(/Allowed choices are jet, turbo, viridis, inferno\./);
  expect(fs.existsSync(path.join(dir, 'bad'))).toBe(false);
});

test('--outlier-percent outside 0..100 and --max-size 1..15 exit 2 with one line', () => {
  expectRunError(runCli(['explain', photo, '-m', MODEL, '-o', path.join(dir, 'bad'), '--outlier-percent', '100']), 2, /--outlier-percent must be a number from 0 up to \(not including\) 100 \(got '100'\)$/);
  expectRunError(runCli(['explain', photo, '-m', MODEL, '-o', path.join(dir, 'bad'), '--outlier-percent', 'lots']), 2, /\(got 'lots'\)$/);
  expectRunError(runCli(['explain', photo, '-m', MODEL, '-o', path.join(dir, 'bad'), '--max-size', '8']), 2, /--max-size must be 0 \(the image's own size\) or a whole number >= 16 \(got '8'\)$/);
});
