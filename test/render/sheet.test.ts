import sharp from 'sharp';
import { comparisonSheet, escapeXml } from '../../src/render/sheet';

const solid = (r: number, g: number, b: number, w = 60, h = 40) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } }).png().toBuffer();

// Layout constants of sheet.ts: row labels 150 px wide, header 28 px high, 4 px gaps.
const X0 = 154;
const Y0 = 32;

test('a 2 x 3 grid: size, cell contents, labels drawn', async () => {
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
  expect([info.width, info.height]).toEqual([X0 + 3 * 104, Y0 + 2 * 104]);
  const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
  for (let r = 0; r < 2; r++) {
    for (let c = 0; c < 3; c++) expect(at(X0 + c * 104 + 50, Y0 + r * 104 + 50)).toEqual(colours[r][c]);
    // 60x40 fitted into 100x100 keeps its aspect: white bands above and below.
    expect(at(X0 + 50, Y0 + r * 104 + 5)).toEqual([255, 255, 255]);
  }
  // Labels: dark pixels in the header over each column and in the label column of each row.
  const darkIn = (x0: number, y0: number, w: number, h: number) => {
    let n = 0;
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) if (at(x, y)[0] < 100) n++;
    return n;
  };
  for (let c = 0; c < 3; c++) expect(darkIn(X0 + c * 104, 0, 100, 28)).toBeGreaterThan(10);
  for (let r = 0; r < 2; r++) expect(darkIn(0, Y0 + r * 104, 150, 100)).toBeGreaterThan(10);
  expect(darkIn(0, 0, 150, 28)).toBe(0); // the corner stays empty
});

test('labels with XML specials, control characters and great length render; ragged rows are allowed', async () => {
  const img = await solid(10, 20, 30);
  const cells = [
    [{ image: img, row: 'a <b> & "c" \u0001', col: "it's & <that>" }, { image: img, row: 'a <b>', col: 'x'.repeat(200) }],
    [{ image: img, row: 'second', col: 'ignored' }],
  ];
  const png = await comparisonSheet(cells, { cellSize: 64 });
  const meta = await sharp(png).metadata();
  expect([meta.width, meta.height]).toEqual([X0 + 2 * 68, Y0 + 2 * 68]);
});

test('escapeXml', () => {
  expect(escapeXml(`<a href="x">Tom & 'Jerry'</a>\u0000\u0007\n`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;\n');
});

test('empty input and tiny cells are refused', async () => {
  await expect(comparisonSheet([])).rejects.toThrow(/at least one cell/);
  await expect(comparisonSheet([[]])).rejects.toThrow(/at least one cell/);
  await expect(comparisonSheet([[{ image: await solid(0, 0, 0), row: 'r', col: 'c' }]], { cellSize: 4 })).rejects.toThrow(/cellSize/);
});
