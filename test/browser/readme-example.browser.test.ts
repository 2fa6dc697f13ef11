// The docs' browser example (docs/browser.md, section "The ES module", where the README's browser section went),
// taken from the page and run exactly as written in headless Chromium, from a plain static server laid out as the
// example implies: the build's dist/browser files at the root (tfjs-cam.mjs, vendor/, the .wasm binaries), a shipped
// model in my-model/, a photo as cat.jpg. Its overlay must have the pixels of `explain`'s for the same image, with
// WebGL and, in a browser without WebGL, with WASM started with no setup (the .wasm files found beside the bundle).
// Where a file cannot be fetched, the error names its URL and the HTTP status: a .wasm binary, model.json, a weight
// shard, the sidecar, a labels file. Skips with one line without chromium or dist/.
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import sharp from 'sharp';
import { chromium, Browser } from 'playwright-core';
import { ROOT, runCli, tempDir } from '../helpers/cli';

const CHROMIUM = process.env.TFJS_CAM_CHROMIUM ?? '/usr/bin/chromium';
const DIST = path.join(ROOT, 'dist', 'browser');
const why = !fs.existsSync(CHROMIUM) ? `${CHROMIUM} is not installed` : !fs.existsSync(path.join(DIST, 'tfjs-cam.mjs')) ? 'dist/ is missing (npm run build)' : null;
if (why) process.stderr.write(`skipped the docs' browser example tests: ${why}\n`);
const maybe = why ? describe.skip : describe;

const MODEL = path.join(ROOT, 'models', 'gap-cnn');
const LAUNCH = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const PAGE = 'docs/browser.md';
const SECTION = '\n## The ES module\n';

/** The first ```html block of docs/browser.md's "## The ES module" section, as written. */
function docsExample(): string {
  const page = fs.readFileSync(path.join(ROOT, PAGE), 'utf8');
  const at = page.indexOf(SECTION);
  if (at < 0) throw new Error(`${PAGE}: no section "${SECTION.trim()}"`);
  const section = page.slice(at);
  const next = section.indexOf('\n## ', SECTION.length);
  const m = /```html\n([\s\S]*?)```/.exec(next < 0 ? section : section.slice(0, next));
  if (!m) throw new Error(`${PAGE}: no html example in the section "${SECTION.trim()}"`);
  return m[1];
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.jpg': 'image/jpeg', '.bin': 'application/octet-stream', '.txt': 'text/plain', '.map': 'application/json' };

let dir: string;
let site: string;
let server: http.Server;
let base: string;
/** Paths the server answers with this status instead of the file (a broken server). */
const broken = new Map<string, number>();
const requests: { path: string; status: number }[] = [];
let overlay: Buffer;
/** The photo's size: the example's canvas takes it when it draws the overlay (a canvas starts at 300x150). */
let size: { width: number; height: number };

beforeAll(async () => {
  if (why) return;
  dir = tempDir('readme-example');
  site = path.join(dir, 'site');
  // The layout the example implies: the bundle and everything beside it, the model, the photo, the page.
  fs.cpSync(DIST, site, { recursive: true, filter: (f) => !f.includes(`${path.sep}types`) });
  fs.cpSync(MODEL, path.join(site, 'my-model'), { recursive: true });
  fs.writeFileSync(path.join(site, 'cat.jpg'), await sharp(path.join(ROOT, 'samples', 'digit-03-3.png')).jpeg({ quality: 90 }).toBuffer());
  fs.writeFileSync(path.join(site, 'index.html'), docsExample());
  server = http.createServer((req, res) => {
    const p = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const file = path.join(site, p);
    const status = broken.get(p) ?? (file.startsWith(site + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile() ? 200 : 404);
    requests.push({ path: p, status });
    if (status !== 200) return void res.writeHead(status).end();
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // explain's overlay of the same photo: top class, Grad-CAM, jet, alpha 0.5 (its defaults, and the example's).
  const out = path.join(dir, 'cli');
  const r = runCli(['explain', path.join(site, 'cat.jpg'), '-m', path.join(site, 'my-model'), '-k', '1', '--method', 'gradcam', '--backend', 'wasm', '-j', '1', '-o', out]);
  if (r.code !== 0) throw new Error(`explain failed: ${r.stderr}`);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  const png = await sharp(path.join(out, report.images[0].maps[0].files.overlay)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  overlay = png.data;
  size = { width: png.info.width, height: png.info.height };
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A browser without WebGL: no canvas gives a WebGL context (Chromium's --disable-3d-apis leaves OffscreenCanvas's,
 * which tfjs uses, working in headless mode).
 */
const WITHOUT_WEBGL = `for (const C of [HTMLCanvasElement, OffscreenCanvas]) {
  const get = C.prototype.getContext;
  C.prototype.getContext = function (kind, ...rest) { return /webgl/i.test(kind) ? null : get.call(this, kind, ...rest); };
}`;

/** Runs the example page in a fresh browser (`init`: a script run first); returns its canvas's RGB pixels, console lines and script errors. */
async function runPage(args: string[], init?: string): Promise<{ pixels: Buffer; console: string[]; errors: string[] }> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  try {
    const p = await browser.newPage();
    if (init) await p.addInitScript(init);
    const lines: string[] = [];
    const errors: string[] = [];
    p.on('console', (m) => lines.push(m.text()));
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`${base}/index.html`);
    // The example's last step draws the overlay: the canvas takes the photo's size and its pixels at once.
    // A script error ends it early (it is in `errors`); the example sets no other signal.
    await Promise.race([
      p.waitForFunction(`(() => { const c = document.getElementById('out'); return c.width === ${size.width} && c.height === ${size.height}; })()`, null, { timeout: 480_000 }),
      new Promise<void>((resolve) => p.on('pageerror', () => resolve())),
    ]).catch(() => undefined);
    const rgba: number[] = await p.evaluate(`(() => { const c = document.getElementById('out'); return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); })()`);
    const pixels = Buffer.alloc((rgba.length / 4) * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) (pixels[j] = rgba[i]), (pixels[j + 1] = rgba[i + 1]), (pixels[j + 2] = rgba[i + 2]);
    return { pixels, console: lines, errors };
  } finally {
    await browser.close();
  }
}

function sameOverlay(got: Buffer): { mean: number; max: number } {
  expect(got.length).toBe(overlay.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - overlay[i]);
    sum += d;
    max = Math.max(max, d);
  }
  // The same map arithmetic and colours; float rounding moves a level here and there at most.
  expect(sum / got.length).toBeLessThan(0.05);
  expect(max).toBeLessThanOrEqual(8);
  return { mean: sum / got.length, max };
}

maybe("the docs' browser example, as written", () => {
  test('runs and draws the overlay explain writes (WebGL where the browser has it)', async () => {
    requests.length = 0;
    const r = await runPage(LAUNCH);
    expect(r.errors).toEqual([]);
    const d = sameOverlay(r.pixels);
    const backend = requests.some((q) => q.path.endsWith('.wasm')) ? 'wasm' : 'webgl';
    console.log(`docs example (${backend}): overlay vs explain's: mean |d| ${d.mean.toFixed(4)}, max ${d.max}`);
    // It read what the CLI reads beside model.json: the sidecar here, nothing else of the folder.
    expect(requests.filter((q) => q.path.startsWith('/my-model/')).map((q) => `${q.path} ${q.status}`)).toEqual(['/my-model/model.json 200', '/my-model/weights.bin 200', '/my-model/tfjs-cam.json 200', '/my-model/metadata.json 404']);
  });

  test('in a browser without WebGL: WASM starts with no setup, its .wasm binary fetched from beside the bundle', async () => {
    requests.length = 0;
    const r = await runPage(LAUNCH, WITHOUT_WEBGL);
    expect(r.errors).toEqual([]);
    const wasm = requests.filter((q) => q.path.endsWith('.wasm'));
    expect(wasm).toHaveLength(1);
    expect(wasm[0]).toMatchObject({ status: 200 });
    expect(wasm[0].path).toMatch(/^\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/); // beside /tfjs-cam.mjs
    // The fallback is never silent: the console says which backend, and why the better ones did not start.
    expect(r.console.some((l) => /^tfjs-cam: using the wasm backend \(webgl: /.test(l))).toBe(true);
    const d = sameOverlay(r.pixels);
    console.log(`docs example (wasm, no WebGL): ${wasm[0].path}; overlay vs explain's: mean |d| ${d.mean.toFixed(4)}, max ${d.max}`);
  });
});

maybe('a file the browser cannot fetch: the error names its URL and the HTTP status', () => {
  test('the .wasm binary, model.json, a weight shard, the sidecar, a labels file', async () => {
    const page = `<script type="importmap">${JSON.stringify({ imports: { '@tensorflow/tfjs': './vendor/tfjs.mjs', '@tensorflow/tfjs-core': './vendor/tfjs.mjs', '@tensorflow/tfjs-backend-wasm': './vendor/tfjs-backend-wasm.mjs' } })}</script>
<script type="module">
  import { initBackend, loadModel } from './tfjs-cam.mjs';
  const why = async (f) => { try { await f(); return 'no error'; } catch (e) { return e.message; } };
  const out = {};
  out.wasm = await why(() => initBackend({ prefer: 'wasm' }));
  await initBackend({ prefer: 'cpu' });
  for (const name of ['missing', 'shard', 'sidecar', 'labels']) out[name] = await why(() => loadModel('./' + name + '/'));
  window.result = out;
</script>`;
    fs.writeFileSync(path.join(site, 'errors.html'), page);
    for (const name of ['shard', 'sidecar', 'labels']) fs.cpSync(MODEL, path.join(site, name), { recursive: true });
    fs.writeFileSync(path.join(site, 'labels', 'tfjs-cam.json'), JSON.stringify({ labels: 'names.txt' }));
    for (const p of ['/tfjs-backend-wasm.wasm', '/tfjs-backend-wasm-simd.wasm', '/tfjs-backend-wasm-threaded-simd.wasm', '/shard/weights.bin']) broken.set(p, 404);
    broken.set('/sidecar/tfjs-cam.json', 500);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH });
    try {
      const p = await browser.newPage();
      await p.goto(`${base}/errors.html`);
      await p.waitForFunction('window.result', null, { timeout: 480_000 });
      const r = (await p.evaluate('window.result')) as Record<string, string>;
      expect(r.wasm).toMatch(new RegExp(`^no TensorFlow\\.js backend could start \\(wasm: ${base}/tfjs-backend-wasm(-simd|-threaded-simd)?\\.wasm answered HTTP 404\\)$`));
      expect(r.missing).toBe(`${base}/missing/model.json: answered HTTP 404 (model.json)`);
      expect(r.shard).toBe(`${base}/shard/weights.bin: answered HTTP 404 (a weight shard of ${base}/shard/model.json)`);
      expect(r.sidecar).toBe(`${base}/sidecar/tfjs-cam.json: answered HTTP 500`);
      expect(r.labels).toBe(`${base}/labels/names.txt: labels file not found`);
    } finally {
      await browser.close();
      broken.clear();
    }
  });
});
