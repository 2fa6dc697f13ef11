// The `diff --html` page in a real browser (Debian's chromium, headless, playwright-core), offline: rows worst
// first, and every column sorts on a click on its header (numbers as numbers, empty cells last, again: reversed).
// Skips with one line when /usr/bin/chromium is absent.
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { chromium, Browser } from 'playwright-core';
import { renderDiffHtml } from '../../src/diff/html';
import type { DiffComparison, DiffImage, DiffReport } from '../../src/diff/report';
import { tempDir } from '../helpers/cli';

const CHROMIUM = process.env.TFJS_CAM_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) process.stderr.write(`skipped the diff HTML browser test: ${CHROMIUM} is not installed (apt-get install -y chromium)\n`);
const browserTest = hasChromium ? test : test.skip;

const comparison = (correlation: number, shift: number, change: number, status: 'pass' | 'fail'): DiffComparison => ({
  method: 'gradcam',
  class: { index: 1, label: 'cat' },
  base: { index: 1, probability: 0.9, peak: { x: 1, y: 1 }, topMassShare: 0.5, flat: false },
  head: { index: 1, probability: 0.9 + change, peak: { x: 1 + shift, y: 1 }, topMassShare: 0.5, flat: false },
  correlation,
  iou: correlation / 2 + 0.5,
  peakShift: { px: shift, share: shift / 100 },
  probabilityChange: change,
  status,
  failures: status === 'fail' ? [{ check: 'minCorrelation', expected: '>= 0.8', actual: String(correlation), message: `correlation ${correlation} < 0.8` }] : [],
});

const image = (file: string, c: DiffComparison): DiffImage => ({
  file,
  status: c.status,
  width: 10,
  height: 10,
  base: { top: [{ index: 1, label: 'cat', probability: 0.9 }] },
  head: { top: [{ index: 1, label: 'cat', probability: 0.9 }] },
  flipped: false,
  comparisons: [c],
});

const report = {
  schema: 'tfjs-cam/diff-report@1',
  tool: { name: 'tfjs-cam', version: '0' },
  base: { source: 'a', layers: ['l'] },
  head: { source: 'b', layers: ['l'] },
  backend: 'wasm',
  methods: ['gradcam'],
  score: 'logit',
  classMatch: 'index',
  compared: { kind: 'base-top-1' },
  coordinates: 'image',
  gridMaxSide: 512,
  thresholds: { minCorrelation: 0.8 },
  output: { dir: null },
  images: [
    image('b.png', comparison(0.95, 12, -0.05, 'pass')),
    image('a.png', comparison(0.4, 3, 0.02, 'fail')),
    { file: 'c.png', status: 'error', error: 'not an image or unsupported format' },
    image('d.png', comparison(-0.2, 30, -0.5, 'fail')),
  ],
  summary: { images: 4, compared: 3, passed: 1, failed: 2, errors: 1, flips: 0, minCorrelation: -0.2, meanCorrelation: 0.383333, maxPeakShift: 0.3, maxProbabilityDrop: 0.5 },
} as unknown as DiffReport;

let browser: Browser | null = null;
afterAll(async () => {
  await browser?.close();
});

browserTest('worst first; a click on a header sorts by that column, a second click reverses it', async () => {
  const dir = tempDir('diff-html');
  const file = path.join(dir, 'index.html');
  fs.writeFileSync(file, renderDiffHtml(report));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).toString());
  const files = () => page.$$eval('tbody tr .title', (els) => els.map((e) => (e as unknown as { textContent: string }).textContent));
  // Worst first: the error, then failures by correlation, then the pass.
  expect(await files()).toEqual(['c.png', 'd.png', 'a.png', 'b.png']);
  const header = (name: string) => page.click(`th:text-is("${name}")`);
  await header('Correlation');
  expect(await files()).toEqual(['d.png', 'a.png', 'b.png', 'c.png']); // the error has no correlation: last
  await header('Correlation');
  expect(await files()).toEqual(['b.png', 'a.png', 'd.png', 'c.png']);
  await header('Peak shift (px)');
  expect(await files()).toEqual(['a.png', 'b.png', 'd.png', 'c.png']); // 3 < 12 < 30: as numbers, not text
  await header('Image');
  expect(await files()).toEqual(['a.png', 'b.png', 'c.png', 'd.png']);
  await header('Δ probability');
  expect(await files()).toEqual(['d.png', 'b.png', 'a.png', 'c.png']);
  expect(await page.getAttribute('th:text-is("Δ probability")', 'aria-sort')).toBe('ascending');
  // Nothing but the page itself was loaded.
  expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
  fs.rmSync(dir, { recursive: true, force: true });
});
