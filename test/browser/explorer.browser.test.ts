// The explorer page of `tfjs-cam serve` in a real browser (Debian's chromium, headless, driven by
// playwright-core), computing with the browser bundle: darknet_tiny's Grad-CAM maps of both.png at leaky_re_lu_15
// must agree with the CLI's (correlation >= 0.999) on WASM and on WebGL (SwiftShader where there is no GPU), and
// the interactions must work: pick, drop, class click, method and layer switch, opacity slider (no
// recomputation), comparison, download (the same pixels as explain's overlay), a non-image file (a message, the
// page goes on). Nothing may be requested from anywhere but the local server. Skips with one line without
// chromium or ../shared/data.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { startServer, RunningServer } from '../../src/serve/server';
import { decodeNpy } from '../../src/report/npy';
import { toInputResolution } from '../../src/pipeline/maps';
import { correlation } from '../helpers/stats';
import { computed, ExplorerHook, pageState as state, shownMap as shown } from '../helpers/explorer-page';
import { ROOT, SHARED, hasShared, runCli, tempDir } from '../helpers/cli';

const CHROMIUM = process.env.TFJS_CAM_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
const hasBuild = fs.existsSync(path.join(ROOT, 'dist', 'browser', 'tfjs-cam.mjs')) && fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const why = !hasChromium ? `${CHROMIUM} is not installed (apt-get install -y chromium)` : !hasShared ? '../shared/data is not present' : !hasBuild ? 'dist/ is missing (npm run build)' : null;
if (why) process.stderr.write(`skipped the explorer page browser tests: ${why}\n`);
const maybe = why ? describe.skip : describe;

const DARKNET = path.join(SHARED, 'darknet_tiny');
const BOTH = path.join(SHARED, 'images', 'both.png');
const LABELS = path.join(SHARED, 'labels', 'imagenet_darknet_names.json');
const LAYER = 'leaky_re_lu_15';
const BULL_MASTIFF = 139;
const TIGER_CAT = 54;

// The DOM as far as these tests touch it inside the page (the project compiles without the DOM library; the
// casts are erased, so the functions run in the page as written).
type El = {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  width: number;
  value: string;
  checked: boolean;
  dispatchEvent(e: unknown): boolean;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
  height: number;
};
type Win = typeof globalThis &
  ExplorerHook & {
    document: { body: El; getElementById(id: string): El };
    DataTransfer: new () => { items: { add(f: unknown): void } };
    DragEvent: new (type: string, init: object) => unknown;
    File: new (parts: unknown[], name: string) => unknown;
  };

let dir: string;
let server: RunningServer;
let context: BrowserContext | null = null;
const requests: string[] = [];
const pageErrors: string[] = [];
/** The CLI's maps (explain --save-raw, on WASM) at the input resolution, and its overlay PNGs, per class. */
const cli = new Map<number, { map: Float32Array; raw: Float32Array; overlay: string }>();

beforeAll(async () => {
  if (why) return;
  dir = tempDir('explorer');
  const out = path.join(dir, 'cli');
  const r = runCli(['explain', BOTH, '-m', DARKNET, '--labels', LABELS, '--layer', LAYER, '--class', String(BULL_MASTIFF), '--class', String(TIGER_CAT), '--method', 'gradcam', '--save-raw', '--backend', 'wasm', '-j', '1', '-o', out]);
  if (r.code !== 0) throw new Error(`explain failed: ${r.stderr}`);
  for (const [c, name] of [[BULL_MASTIFF, 'bull-mastiff'], [TIGER_CAT, 'tiger-cat']] as const) {
    const raw = decodeNpy(fs.readFileSync(path.join(out, `both.gradcam.${c}-${name}.raw.npy`)));
    const [h, w] = raw.shape;
    cli.set(c, { map: toInputResolution([{ data: raw.data, height: h, width: w }], 224, 224).map, raw: raw.data, overlay: path.join(out, `both.gradcam.${c}-${name}.png`) });
  }
  server = await startServer({ modelDir: DARKNET, images: [{ file: BOTH, name: 'both.png' }], labels: LABELS, host: '127.0.0.1', port: 0, topK: 5 });
  context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(dir, 'chromium-profile-')), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1100, height: 700 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.on('request', (req) => requests.push(req.url()));
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});



/** Opens the page on a backend; null where the browser cannot start that backend. */
async function open(backend: string): Promise<Page | null> {
  const page = await context!.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}?backend=${backend}`);
  await page.waitForFunction(() => ['ready', 'error'].includes((globalThis as Win).document.body.dataset.state ?? ''), null, { timeout: 480_000 });
  const s = await state(page);
  if (s.state !== 'ready' || s.backend !== backend) {
    process.stderr.write(`explorer page: the ${backend} backend is not available in this browser (${s.message}); its test is skipped\n`);
    await page.close();
    return null;
  }
  return page;
}

/** both.png through the file input, then the layer and the classes: each map checked against the CLI's. */
async function mapsAgree(page: Page, backend: string): Promise<void> {
  await page.setInputFiles('#file', BOTH);
  const first = await computed(page, 0);
  const s = await state(page);
  expect(s.image).toBe('both.png');
  expect(s.top.slice(0, 2).map((t) => t.index)).toEqual([BULL_MASTIFF, TIGER_CAT]);
  expect(s.top[0].label).toBe('bull mastiff');
  expect(s.top[0].probability).toBeCloseTo(0.287, 2); // expected_top5.txt
  expect(first.classIndex).toBe(BULL_MASTIFF); // the top class is shown at once
  await page.selectOption('#layer', LAYER);
  const dog = await computed(page, s.computations);
  const n = (await state(page)).computations; // read before the click: the work may be done before the click returns
  await page.click(`#classes button[data-class="${TIGER_CAT}"]`);
  const cat = await computed(page, n);
  const numbers: string[] = [];
  for (const m of [dog, cat]) {
    expect([m.method, m.layer, m.flat]).toEqual(['gradcam', LAYER, false]);
    const ref = cli.get(m.classIndex)!;
    expect(m.map).toHaveLength(224 * 224);
    expect(m.raw[0].data).toHaveLength(ref.raw.length);
    const r = correlation(m.map, ref.map);
    const rRaw = correlation(m.raw[0].data, ref.raw);
    numbers.push(`${m.label}: map r = ${r.toFixed(7)} (1 - r = ${(1 - r).toExponential(1)}), raw 14x14 r = ${rRaw.toFixed(7)}`);
    expect(r).toBeGreaterThanOrEqual(0.999);
    expect(rRaw).toBeGreaterThanOrEqual(0.999);
  }
  // The dog's map peaks in the upper half, the cat's in the lower half (test/darknet/both.test.ts).
  const peakRow = (m: number[]) => Math.floor(m.indexOf(Math.max(...m)) / 224);
  expect(peakRow(dog.map)).toBeLessThan(112);
  expect(peakRow(cat.map)).toBeGreaterThan(130);
  console.log(`explorer page on ${backend} vs the CLI (gradcam, ${LAYER}): ${numbers.join('; ')}`);
}

/** RGB bytes of a PNG. */
async function pixels(png: Buffer | string): Promise<Buffer> {
  return sharp(png).removeAlpha().raw().toBuffer();
}

maybe('the explorer page', () => {
  let page: Page;

  test('WASM: the maps agree with the CLI (r >= 0.999)', async () => {
    const p = await open('wasm');
    expect(p).not.toBeNull(); // WASM always works: a failure here is a bug
    page = p!;
    expect(await page.textContent('#backend')).toBe('wasm');
    await mapsAgree(page, 'wasm');
  });

  test('download: the overlay PNG has explain\'s name and pixels', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('both.gradcam.54-tiger-cat.png');
    const got = await pixels(fs.readFileSync((await download.path())!));
    const want = await pixels(cli.get(TIGER_CAT)!.overlay);
    expect(got.length).toBe(want.length);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      sum += d;
      max = Math.max(max, d);
    }
    // Same map arithmetic and colours; the maps differ by float rounding at most, a level here and there.
    expect(sum / got.length).toBeLessThan(0.05);
    expect(max).toBeLessThanOrEqual(8);
  });

  test('the opacity slider redraws without recomputing', async () => {
    const before = await state(page);
    const canvasSum = () => page.evaluate(() => {
      const c = (globalThis as Win).document.getElementById('overlay');
      return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.reduce((a, b) => a + b, 0);
    });
    const at05 = await canvasSum();
    await page.locator('#alpha').fill('0.9');
    await page.waitForFunction(() => (globalThis as Win).document.getElementById('alpha-value').textContent === '0.90');
    expect(await canvasSum()).not.toBe(at05);
    await page.locator('#alpha').fill('0.5');
    await page.waitForFunction(() => (globalThis as Win).document.getElementById('alpha-value').textContent === '0.50');
    expect(await canvasSum()).toBe(at05);
    expect((await state(page)).computations).toBe(before.computations);
  });

  test('switching the method recomputes the class on show with it', async () => {
    const gradcam = (await shown(page))!;
    const n = (await state(page)).computations;
    await page.selectOption('#method', 'gradcam++');
    const pp = await computed(page, n);
    expect([pp.method, pp.classIndex, pp.layer]).toEqual(['gradcam++', TIGER_CAT, LAYER]);
    expect(Math.max(...pp.map.map((v, i) => Math.abs(v - gradcam.map[i])))).toBeGreaterThan(0.01);
    expect(correlation(pp.map, gradcam.map)).toBeGreaterThan(0.8); // another method, the same cat
  });

  test('compare: one captioned overlay per ticked method', async () => {
    await page.locator('#compare-methods input').evaluateAll((inputs) => (inputs as unknown as El[]).forEach((i) => (i.checked = ['gradcam', 'eigencam', 'layercam'].includes(i.value))));
    const n = (await state(page)).computations;
    await page.click('#compare');
    await computed(page, n);
    const sheet = await page.$$eval('#sheet canvas', (cs) => (cs as unknown as El[]).map((c) => ({ method: c.dataset.method, w: c.width })));
    expect(sheet).toEqual(['gradcam', 'layercam', 'eigencam'].map((method) => ({ method, w: 224 })));
    expect(await page.$$eval('#sheet figcaption', (f) => f.map((x) => x.textContent))).toEqual(['gradcam', 'layercam', 'eigencam']);
  });

  test('a non-image file: a message naming it, the page goes on', async () => {
    const before = await state(page);
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await page.waitForFunction(() => (globalThis as Win).tfjsCam.page.message.includes('notes.txt'), null, { timeout: 480_000 });
    const s = await state(page);
    expect(s.message).toBe('notes.txt: not an image or unsupported format');
    expect(await page.getAttribute('#message', 'class')).toBe('error');
    expect(s.state).toBe('ready');
    expect(s.image).toBe('both.png'); // the image on show stays
    await page.click(`#classes button[data-class="${BULL_MASTIFF}"]`);
    const dog = await computed(page, before.computations);
    expect(dog.classIndex).toBe(BULL_MASTIFF);
    expect((await state(page)).message).toBe('');
  });

  test('dropping an image opens it', async () => {
    const other = path.join(SHARED, 'images', fs.readdirSync(path.join(SHARED, 'images')).find((f) => /\.(png|jpe?g)$/i.test(f) && f !== 'both.png')!);
    const before = await state(page);
    await page.evaluate(
      ({ name, b64 }) => {
        const w = globalThis as Win;
        const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
        const dt = new w.DataTransfer();
        dt.items.add(new w.File([bytes], name));
        w.document.getElementById('drop').dispatchEvent(new w.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      { name: path.basename(other), b64: fs.readFileSync(other).toString('base64') },
    );
    const m = await computed(page, before.computations);
    const s = await state(page);
    expect(s.image).toBe(path.basename(other));
    expect(m.classIndex).toBe(s.top[0].index);
    expect(m.layer).toBe(LAYER);
  });

  test('WebGL: the maps agree with the CLI (r >= 0.999)', async () => {
    const p = await open('webgl');
    if (!p) return; // said why on stderr
    expect(await p.textContent('#backend')).toBe('webgl');
    await mapsAgree(p, 'webgl');
    await p.close();
  });

  test('nothing was requested from anywhere but the local server, and no script error', () => {
    const origin = new URL(server.url).origin;
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
