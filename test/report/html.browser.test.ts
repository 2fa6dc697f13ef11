// The HTML reports of `check --html` and `explain --html`, opened in a real browser (Debian's chromium, headless,
// driven by playwright-core), offline: what a person sees — rows, PASS/FAIL labels, thumbnails that load, links to
// files that exist — and that nothing is fetched from anywhere. Skips with one line when /usr/bin/chromium is absent.
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL, fileURLToPath } from 'url';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { runCli, tempDir } from '../helpers/cli';
import { initBackend } from '../../src/backend';
import { saveColourModel, squaresImage, RED, BLUE } from '../check/fixtures';

// The DOM as far as these tests read it (the project compiles without the DOM library).
type Img = { complete: boolean; naturalWidth: number; naturalHeight: number; getAttribute(n: string): string | null };
type Anchor = { href: string };
type Win = { getComputedStyle(e: unknown): { backgroundColor: string } };

const CHROMIUM = process.env.TFJS_CAM_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) process.stderr.write(`skipped the HTML report browser tests: ${CHROMIUM} is not installed (apt-get install -y chromium)\n`);
const browserTest = hasChromium ? test : test.skip;

let dir: string;
let context: BrowserContext | null = null;
const requests: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  await initBackend('wasm');
  dir = tempDir('html');
  await saveColourModel(path.join(dir, 'models', 'colour'));
  await squaresImage(path.join(dir, 'images', 'a.png'), 64, 48, [
    { x: 8, y: 8, size: 16, color: RED },
    { x: 40, y: 24, size: 12, color: BLUE },
  ]);
  // A name that needs escaping in a URL and in HTML.
  await squaresImage(path.join(dir, 'images', 'b #1 <&>.png'), 40, 40, [{ x: 20, y: 4, size: 12, color: RED }]);
  fs.writeFileSync(path.join(dir, 'images', 'broken.png'), 'not a png');
  fs.writeFileSync(
    path.join(dir, 'spec.yaml'),
    [
      'model: models/colour',
      'cases:',
      '  - name: red where it is',
      '    images: [images/a.png, "images/b #1 <&>.png"]',
      '    class: red',
      '    expect: {region: {units: fraction, boxes: [{x: 0, y: 0, width: 1, height: 0.5}]}, pointingGame: true}',
      '  - name: red where blue is',
      '    images: images/a.png',
      '    class: red',
      '    expect: {region: {boxes: [{x: 40, y: 24, width: 12, height: 12}]}, pointingGame: true, minInside: 0.5}',
      '  - name: unreadable',
      '    images: images/broken.png',
      '    expect: {topK: 1}',
      '',
    ].join('\n'),
  );
  const userData = fs.mkdtempSync(path.join(dir, 'chromium-profile-'));
  context = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    headless: true,
    offline: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.on('request', (r) => requests.push(r.url()));
});

afterAll(async () => {
  await context?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function open(file: string): Promise<Page> {
  const page = await context!.newPage();
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return page;
}

/** Every <img> has loaded (naturalWidth > 0) and every link points at a file that exists. */
async function checkImagesAndLinks(page: Page): Promise<{ images: number; links: string[] }> {
  const imgs = await page.$$eval('img', (els) => (els as unknown as Img[]).map((e) => ({ ok: e.complete, w: e.naturalWidth, alt: e.getAttribute('alt') })));
  for (const i of imgs) {
    expect(i.ok).toBe(true);
    expect(i.w).toBeGreaterThan(0);
  }
  const hrefs = await page.$$eval('a[href]', (els) => (els as unknown as Anchor[]).map((e) => e.href));
  const files = hrefs.map((h) => {
    expect(h.startsWith('file://')).toBe(true);
    return fileURLToPath(h);
  });
  for (const f of files) expect(fs.existsSync(f)).toBe(true);
  return { images: imgs.length, links: files };
}

browserTest('check --html: one row per check with its PASS/FAIL/ERROR label, reasons, thumbnails and links', async () => {
  const out = path.join(dir, 'check-out');
  const r = runCli(['check', 'spec.yaml', '--backend', 'wasm', '--html', '-o', out], { cwd: dir });
  expect(r.code).toBe(1);
  const page = await open(path.join(out, 'index.html'));
  expect(await page.title()).toBe('tfjs-cam check');
  expect(await page.locator('h1').innerText()).toBe('tfjs-cam check');
  expect(await page.locator('.summary').innerText()).toBe('4 checks in 3 cases: 2 passed, 1 failed, 1 errors');

  const rows = page.locator('tbody tr');
  expect(await rows.count()).toBe(4);
  expect(await page.locator('tbody tr .status').allInnerTexts()).toEqual(['PASS', 'PASS', 'FAIL', 'ERROR']);
  const titles = await page.locator('tbody tr .title').allInnerTexts();
  expect(titles).toEqual(['images/a.png', 'images/b #1 <&>.png', 'images/a.png', 'images/broken.png']);
  const failRow = rows.nth(2);
  expect(await failRow.locator('.subtitle').innerText()).toBe('red where blue is');
  expect(await failRow.innerText()).toMatch(/the map's peak \([\d.]+, [\d.]+\) is outside the region/);
  expect(await failRow.innerText()).toMatch(/share of the map inside the region [\d.]+ < 0\.5/);
  expect(await rows.nth(3).innerText()).toMatch(/broken\.png|unsupported|not/i);
  // Colour is not the only signal, but it is there: PASS green, FAIL red.
  const bg = (i: number) => rows.nth(i).locator('.status').evaluate((e) => (globalThis as unknown as Win).getComputedStyle(e).backgroundColor);
  expect(await bg(0)).toBe('rgb(26, 127, 55)');
  expect(await bg(2)).toBe('rgb(207, 34, 46)');

  // Thumbnails (embedded) load; each links to its full-size overlay, which exists and shows in the browser.
  const { images, links } = await checkImagesAndLinks(page);
  expect(images).toBe(3);
  expect(links.map((l) => path.relative(out, l)).sort()).toEqual(['1-red-where-it-is/a.gradcam.0-red.png', '1-red-where-it-is/b #1 <&>.gradcam.0-red.png', '2-red-where-blue-is/a.gradcam.0-red.png'].map((p) => p.split('/').join(path.sep)));
  await failRow.locator('a').first().click();
  await page.waitForLoadState('load');
  expect(fileURLToPath(page.url())).toBe(path.join(out, '2-red-where-blue-is', 'a.gradcam.0-red.png'));
  expect(await page.$eval('img', (e) => [(e as unknown as Img).naturalWidth, (e as unknown as Img).naturalHeight])).toEqual([64, 48]);
  await page.goBack();

  // "show only failures" hides the passing rows.
  await page.locator('#only-failures').check();
  expect(await rows.nth(0).isVisible()).toBe(false);
  expect(await rows.nth(2).isVisible()).toBe(true);
  expect(await rows.nth(3).isVisible()).toBe(true);
  await page.close();
  expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
});

browserTest('explain --html: one row per image, overlays per class with scores, links to overlays and originals', async () => {
  const out = path.join(dir, 'explain-out');
  const r = runCli(['explain', path.join(dir, 'images'), '-m', path.join(dir, 'models', 'colour'), '--backend', 'wasm', '-k', '2', '--html', '-o', out]);
  expect(r.code).toBe(1); // broken.png
  const page = await open(path.join(out, 'index.html'));
  expect(await page.locator('h1').innerText()).toBe('tfjs-cam explain');
  expect(await page.locator('.summary').innerText()).toBe('3 images: 2 explained, 1 failed');
  const rows = page.locator('tbody tr');
  expect(await rows.count()).toBe(3);
  expect(await page.locator('tbody tr .status').allInnerTexts()).toEqual(['OK', 'OK', 'ERROR']);
  const captions = await rows.nth(0).locator('figcaption').allInnerTexts();
  expect(captions).toHaveLength(2);
  expect(captions[0]).toMatch(/^red \d+\.\d%$/);
  expect(captions[1]).toMatch(/^blue \d+\.\d%$/);
  const { images, links } = await checkImagesAndLinks(page);
  expect(images).toBe(4);
  expect(links.filter((l) => l.startsWith(out))).toHaveLength(4);
  expect(links.filter((l) => !l.startsWith(out)).map((l) => path.basename(l)).sort()).toEqual(['a.png', 'b #1 <&>.png']);
  await page.close();
  expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
});
