/**
 * Writes docs/images/explorer.png, the screenshot of the explorer page (`tfjs-cam serve`) in the README and
 * docs/browser.md: Darknet-tiny on both.png in headless Chromium (WASM), its top class's Grad-CAM map at
 * leaky_re_lu_15 with its colour scale, and four methods compared, Grad-CAM's family on the sequential scale and
 * saliency's signed attribution on the diverging one.
 *
 *   npm run build && node dist/scripts/make-explorer-screenshot.js [--data ../shared/data] [--out docs/images/explorer.png]
 *
 * Inputs (not in the repository): Darknet-tiny (darknet_tiny/), its labels (labels/imagenet_darknet_names.json),
 * both.png and coffee.png (images/). Chromium at /usr/bin/chromium (or TFJS_CAM_CHROMIUM). The page is the served
 * one, driven as a user would; the PNG is re-encoded with 128 colours only to keep the file small.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { startServer } from '../src/serve/server';

const LAYER = 'leaky_re_lu_15';
const COMPARED = ['gradcam', 'gradcam++', 'layercam', 'saliency'];

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  const args = process.argv.slice(2);
  const data = path.resolve(flag(args, '--data', path.join(root, '..', 'shared', 'data')));
  const out = path.resolve(flag(args, '--out', path.join(root, 'docs', 'images', 'explorer.png')));
  const model = path.join(data, 'darknet_tiny');
  if (!fs.existsSync(path.join(model, 'model.json'))) throw new Error(`${model}/model.json not found (--data names the shared data folder)`);
  const images = ['both.png', 'coffee.png'].map((name) => ({ file: path.join(data, 'images', name), name }));
  const server = await startServer({ modelDir: model, images, labels: path.join(data, 'labels', 'imagenet_darknet_names.json'), host: '127.0.0.1', port: 0, topK: 5, layer: LAYER });
  const browser = await chromium.launch({ executablePath: process.env.TFJS_CAM_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    await page.goto(`${server.url}?backend=wasm`);
    const idle = () => page.waitForFunction(() => ['ready', 'error'].includes((globalThis as unknown as { document: { body: { dataset: { state?: string } } } }).document.body.dataset.state ?? ''), null, { timeout: 120_000 });
    await idle();
    for (const input of await page.$$('#compare-methods input')) {
      const value = await input.getAttribute('value');
      if (COMPARED.includes(value ?? '') !== (await input.isChecked())) await input.click();
    }
    await page.click('#compare');
    await idle();
    const png = await page.screenshot({ fullPage: true });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, await sharp(png).png({ palette: true, colours: 128, compressionLevel: 9 }).toBuffer());
    process.stdout.write(`wrote ${path.relative(process.cwd(), out)} (${fs.statSync(out).size} bytes)\n`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
});
