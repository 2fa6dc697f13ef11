// Outputs sized for real photos: pictures are at most 2048 px on the long side by default (--max-size 0: full
// size) with the report unchanged, --max-size bounds overlays, --format/--quality choose the encoding, and the
// HTML page embeds small thumbnails that link the full-size files.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend';
import { explain } from '../../src';
import { tempDir } from '../helpers/cli';
import { saveModel, smallCnn, noise } from '../faults/fixtures';
import { expectRunError, runCli } from '../faults/cli';

let dir: string;
let model: string;
let photo: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('outsize');
  model = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  photo = path.join(dir, 'photo.png');
  // 1200 x 900 of noise: as hard to compress as a real photo's detail.
  await sharp(noise(1200, 900, 7), { raw: { width: 1200, height: 900, channels: 3 } }).png({ compressionLevel: 1 }).toFile(photo);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--max-size 256 --format jpeg --quality 80: overlays, heatmaps and the sheet are 256 px JPEGs; peaks stay in image pixels', async () => {
  const out = path.join(dir, 'out');
  const { report } = await explain([photo], { model, out, method: 'gradcam,scorecam', topK: 1, heatmap: true, maxSize: 256, format: 'jpeg', quality: 80, jobs: 1 });
  const img = report.images[0];
  expect(img.status).toBe('ok');
  expect([img.width, img.height]).toEqual([1200, 900]);
  expect(report.output).toMatchObject({ format: 'jpeg', quality: 80, maxSize: 256 });
  for (const m of img.maps!) {
    for (const f of [m.files.overlay!, m.files.heatmap!]) {
      expect(f).toMatch(/\.jpg$/);
      const meta = await sharp(path.join(out, f)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 256, 192]);
    }
    if (m.peak) expect(m.peak.x).toBeGreaterThan(0), expect(m.peak.x).toBeLessThan(1200);
  }
  expect(img.files!.sheet).toMatch(/\.sheet\.jpg$/);
  expect((await sharp(path.join(out, img.files!.sheet!)).metadata()).format).toBe('jpeg');
});

test('the HTML page embeds small JPEG thumbnails of photos and links the full-size overlays', async () => {
  const out = path.join(dir, 'out-html');
  const { report } = await explain([photo], { model, out, topK: 2, jobs: 1 });
  const { writeHtmlReport, explainHtml } = await import('../../src/report/html');
  const page = path.join(out, 'index.html');
  await writeHtmlReport(page, explainHtml(report));
  const html = fs.readFileSync(page, 'utf8');
  expect(html).toContain(`href="${report.images[0].maps![0].files.overlay}"`);
  expect(html).not.toContain('data:image/png');
  expect((html.match(/data:image\/jpeg;base64,/g) ?? []).length).toBe(2);
  expect(html.length).toBeLessThan(80_000); // two PNG thumbnails of noise were ~110 kB each
});

test('--quality without jpeg/webp is a usage error', () => {
  const r = runCli(['explain', photo, '-m', model, '-o', path.join(dir, 'o-q'), '--quality', '80']);
  expectRunError(r, 2, /^tfjs-cam: error: --quality applies to --format jpeg or webp$/);
});

test('by default pictures are at most 2048 px on the long side; --max-size 0 writes them full size; the report is the same', async () => {
  // 2200 x 1000: a 4 x 4 pattern enlarged (smooth, quick to make and encode)
  const big = path.join(dir, 'big.png');
  const tiny = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 53) % 256));
  await sharp(tiny, { raw: { width: 4, height: 4, channels: 3 } }).resize(2200, 1000, { fit: 'fill', kernel: 'cubic' }).png({ compressionLevel: 1 }).toFile(big);
  const run = (out: string, maxSize?: number) => explain([big], { model, out: path.join(dir, out), topK: 2, heatmap: true, jobs: 1, timings: false, maxSize });
  const small = await run('default');
  const full = await run('full', 0);
  expect([small.report.output.maxSize, full.report.output.maxSize]).toEqual([2048, null]);
  const sizeOf = async (out: string, f: string) => {
    const m = await sharp(path.join(dir, out, f)).metadata();
    return [m.width, m.height];
  };
  for (const m of small.report.images[0].maps!) {
    expect(await sizeOf('default', m.files.overlay!)).toEqual([2048, 931]);
    expect(await sizeOf('default', m.files.heatmap!)).toEqual([2048, 931]);
  }
  for (const m of full.report.images[0].maps!) expect(await sizeOf('full', m.files.overlay!)).toEqual([2200, 1000]);
  // Everything but the pictures' size is the same: classes, scores, peaks in the original image's pixels.
  const numbers = (r: typeof small.report) => r.images.map((i) => ({ ...i, maps: i.maps!.map((m) => ({ ...m, files: {} })) }));
  expect(numbers(small.report)).toEqual(numbers(full.report));
  expect([small.report.images[0].width, small.report.images[0].height]).toEqual([2200, 1000]);
  for (const m of small.report.images[0].maps!) if (m.peak) expect(m.peak.x).toBeLessThan(2200);
});

test('maxSize 1..15 is refused by the library as by the CLI; outlierPercent outside 0..100 too', async () => {
  await expect(explain([photo], { model, out: null, maxSize: 8 })).rejects.toThrow(/maxSize must be 0 \(the image's own size\) or a whole number >= 16, got 8/);
  await expect(explain([photo], { model, out: null, outlierPercent: 100 })).rejects.toThrow(/outlierPercent must be a number from 0 up to \(not including\) 100, got 100/);
});
