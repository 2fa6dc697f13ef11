import sharp from 'sharp';
import { comparisonSheet, escapeXml, fitText, sheetLayout, SHEET_CAPTION_H } from '../../src/render/sheet';
import { heatmapLegend, legendBar, signedLegend, stripLayout } from '../../src/render/legend';
import { colormapLut, divergingLut } from '../../src/render/colormap';

const solid = (r: number, g: number, b: number, w = 60, h = 40) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } }).png().toBuffer();

const CAP = SHEET_CAPTION_H;
const P = 104; // 100 px cells + 4 px gap

test('a 2 x 3 sheet: each method a block of its classes, captions above every cell', async () => {
  const colours = [
    [[255, 0, 0], [0, 255, 0], [0, 0, 255]],
    [[255, 255, 0], [0, 255, 255], [255, 0, 255]],
  ];
  const rows = ['Grad-CAM', 'Score-CAM'];
  const cols = ['tabby', 'bull mastiff', 'espresso'];
  const cells = await Promise.all(
    colours.map((row, r) => Promise.all(row.map(async ([R, G, B], c) => ({ image: await solid(R, G, B), row: rows[r], col: cols[c] })))),
  );
  const png = await comparisonSheet(cells, { cellSize: 100 });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  // One block per grid row here (closest to 16:9): 3 cells wide, 2 blocks high.
  expect([info.width, info.height]).toEqual([3 * P, 2 * (100 + CAP + 4)]);
  const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
  for (let r = 0; r < 2; r++) {
    const top = r * (100 + CAP + 4) + CAP;
    for (let c = 0; c < 3; c++) expect(at(c * P + 50, top + 50)).toEqual(colours[r][c]);
    // 60x40 fitted into 100x100 keeps its aspect: white bands above and below.
    expect(at(50, top + 5)).toEqual([255, 255, 255]);
  }
  const darkIn = (x0: number, y0: number, w: number, h: number) => {
    let n = 0;
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) if (at(x, y)[0] < 100) n++;
    return n;
  };
  for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) expect(darkIn(c * P, r * (100 + CAP + 4), 100, CAP)).toBeGreaterThan(10);
});

test('a JPEG or WebP sheet shows the same picture as the PNG one', async () => {
  const cells = [[{ image: await solid(200, 30, 30), row: 'Grad-CAM', col: 'a' }, { image: await solid(30, 30, 200), row: 'Grad-CAM', col: 'b' }]];
  const png = await sharp(await comparisonSheet(cells, { cellSize: 100 })).removeAlpha().raw().toBuffer();
  for (const format of ['jpeg', 'webp'] as const) {
    const other = await sharp(await comparisonSheet(cells, { cellSize: 100, format, quality: 90 })).raw().toBuffer({ resolveWithObject: true });
    expect(other.info.channels).toBe(3);
    expect(other.data.length).toBe(png.length);
    let diff = 0;
    for (let i = 0; i < png.length; i++) diff += Math.abs(png[i] - other.data[i]);
    expect(diff / png.length).toBeLessThan(4);
  }
});

test('long method names are never cut: the font shrinks to fit the cell', () => {
  expect(fitText('Smooth Grad-CAM++', 100, 14)).toEqual({ size: 9, text: 'Smooth Grad-CAM++' });
  expect(fitText('Smooth Grad-CAM++', 224, 14)).toEqual({ size: 14, text: 'Smooth Grad-CAM++' });
  expect(fitText('x'.repeat(200), 64, 14).text.endsWith('\u2026')).toBe(true); // only absurd lengths are shortened
});

test('eleven methods x 3 classes: a grid that fits a 1920 x 1080 screen, not a tall strip', () => {
  const l = sheetLayout(11, 3);
  expect(l.width).toBeLessThanOrEqual(1920);
  expect(l.height).toBeLessThanOrEqual(1080);
  expect(l.blocks).toBeGreaterThan(1);
  expect(l.cell).toBeGreaterThanOrEqual(150);
  expect(sheetLayout(1, 1).cell).toBe(224);
});

test('labels with XML specials, control characters and great length render; ragged rows are allowed', async () => {
  const img = await solid(10, 20, 30);
  const cells = [
    [{ image: img, row: 'a <b> & "c" \u0001', col: "it's & <that>" }, { image: img, row: 'a <b>', col: 'x'.repeat(200) }],
    [{ image: img, row: 'second', col: 'ignored' }],
  ];
  const png = await comparisonSheet(cells, { cellSize: 64 });
  const meta = await sharp(png).metadata();
  const l = sheetLayout(2, 2, 64);
  expect([meta.width, meta.height]).toEqual([l.width, l.height]);
});

test('escapeXml', () => {
  expect(escapeXml(`<a href="x">Tom & 'Jerry'</a>\u0000\u0007\n`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;\n');
});

test('empty input and tiny cells are refused', async () => {
  await expect(comparisonSheet([])).rejects.toThrow(/at least one cell/);
  await expect(comparisonSheet([[]])).rejects.toThrow(/at least one cell/);
  await expect(comparisonSheet([[{ image: await solid(0, 0, 0), row: 'r', col: 'c' }]], { cellSize: 4 })).rejects.toThrow(/cellSize/);
});

test("the colour scales under the grid: one strip per legend, centred, their bars' pixels exact", async () => {
  const cells = [[{ image: await solid(200, 30, 30), row: 'Grad-CAM', col: 'a' }], [{ image: await solid(30, 30, 200), row: 'Saliency', col: 'a' }]];
  const plain = await sharp(await comparisonSheet(cells, { cellSize: 100 })).metadata();
  const png = await comparisonSheet(cells, { cellSize: 100, legends: [heatmapLegend('jet'), signedLegend('bwr')] });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const L = stripLayout(plain.width!); // narrower than 560: as wide as the sheet
  expect([info.width, info.height]).toEqual([plain.width, plain.height! + 2 * L.height]);
  // RGB of each pixel of the bar's columns on row y (the sheet may come back with an alpha channel)
  const row = (y: number) => Buffer.from(Array.from({ length: L.bar.width }, (_, x) => Array.from(data.subarray((y * info.width + L.bar.left + x) * info.channels, (y * info.width + L.bar.left + x) * info.channels + 3))).flat());
  const barRow = (lut: Uint8Array) => Buffer.from(legendBar(lut, L.bar.width, 1));
  expect(Buffer.compare(row(plain.height! + L.bar.top), barRow(colormapLut('jet')))).toBe(0);
  expect(Buffer.compare(row(plain.height! + L.height + L.bar.top + L.bar.height - 1), barRow(divergingLut('bwr')))).toBe(0);
});

test('maxSide scales a sheet wider than it down (40 classes of 64 px cells: 2720 px -> 2048)', async () => {
  const img = await solid(10, 200, 10, 8, 8);
  const cells = [Array.from({ length: 40 }, (_, i) => ({ image: img, row: 'Grad-CAM', col: `c${i}` }))];
  const full = await sharp(await comparisonSheet(cells, { cellSize: 64 })).metadata();
  expect([full.width, full.height]).toEqual([40 * 68, 64 + CAP + 4]);
  const capped = await sharp(await comparisonSheet(cells, { cellSize: 64, maxSide: 2048 })).metadata();
  expect([capped.width, capped.height, capped.channels]).toEqual([2048, Math.round((2048 * (64 + CAP + 4)) / 2720), 3]);
  // a sheet within the limit is left as it is
  const small = await comparisonSheet([cells[0].slice(0, 2)], { cellSize: 64 });
  expect((await comparisonSheet([cells[0].slice(0, 2)], { cellSize: 64, maxSide: 2048 })).equals(small)).toBe(true);
  await expect(comparisonSheet(cells, { maxSide: 8 })).rejects.toThrow(/maxSide must be 0 or an integer >= 16, got 8/);
});
