/**
 * The browser build, run by `npm run build` after tsc: esbuild bundles
 *   dist/browser/tfjs-cam.mjs              the library (src/browser/index.ts); @tensorflow/* stay peer imports
 *   dist/browser/explorer.mjs              the page of `tfjs-cam serve` (drawing only: no TensorFlow.js)
 *   dist/browser/explorer-worker.mjs       its Web Worker, with the library, tfjs and the WASM backend inside
 *                                          (a worker has no import map to resolve peer imports by name)
 *   dist/browser/vendor/tfjs.mjs           @tensorflow/tfjs as one ES module, for the page's import map
 *   dist/browser/vendor/tfjs-backend-wasm.mjs   the WASM backend, importing tfjs-core through that map
 *   dist/browser/tfjs-backend-wasm*.wasm   its binaries, beside the bundle, which loads them from its own URL
 * so that the served page needs nothing from a CDN. Type declarations come from tsconfig.browser.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { build, BuildOptions, Plugin } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'dist', 'browser');
const PEERS = ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu'];

const common: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  logLevel: 'warning',
  legalComments: 'none',
};

/** The explorer imports the library as the separate file beside it, so the page loads it once. */
const libraryBeside: Plugin = {
  name: 'library-beside',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/index$/ }, (args) => (args.importer.includes(`${path.sep}explorer${path.sep}`) ? { path: './tfjs-cam.mjs', external: true } : undefined));
  },
};

/**
 * The worker bundles tfjs itself. src/backend/guided-relu.ts's `require('@tensorflow/tfjs-core')` (Node only, in a
 * try) would pull in tfjs-core's CommonJS build beside its ES module build: two engines, and tensors of one
 * unusable by the other. Left external, it fails at run time in its try, as in the library's bundle.
 */
const coreRequireExternal: Plugin = {
  name: 'core-require-external',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/tfjs-core$/ }, (args) => (args.kind === 'require-call' ? { path: args.path, external: true } : undefined));
  },
};

/** tfjs-backend-wasm's binaries: the plain, SIMD and threaded SIMD builds (it picks one by what the browser supports). */
export const WASM_BINARIES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

function copyWasmBinaries(): void {
  const from = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  fs.mkdirSync(OUT, { recursive: true });
  for (const name of WASM_BINARIES) fs.copyFileSync(path.join(from, name), path.join(OUT, name));
}

export async function buildBrowser(): Promise<void> {
  copyWasmBinaries();
  await Promise.all([
    build({ ...common, entryPoints: [path.join(ROOT, 'src', 'browser', 'index.ts')], outfile: path.join(OUT, 'tfjs-cam.mjs'), external: PEERS, sourcemap: true }),
    build({ ...common, entryPoints: [path.join(ROOT, 'src', 'browser', 'explorer', 'main.ts')], outfile: path.join(OUT, 'explorer.mjs'), external: PEERS, plugins: [libraryBeside] }),
    build({ ...common, entryPoints: [path.join(ROOT, 'src', 'browser', 'explorer', 'worker.ts')], outfile: path.join(OUT, 'explorer-worker.mjs'), minify: true, plugins: [coreRequireExternal] }),
    build({ ...common, stdin: { contents: "export * from '@tensorflow/tfjs';", resolveDir: ROOT, loader: 'js' }, outfile: path.join(OUT, 'vendor', 'tfjs.mjs'), minify: true }),
    build({
      ...common,
      stdin: { contents: "export * from '@tensorflow/tfjs-backend-wasm';", resolveDir: ROOT, loader: 'js' },
      outfile: path.join(OUT, 'vendor', 'tfjs-backend-wasm.mjs'),
      external: ['@tensorflow/tfjs-core'],
      minify: true,
    }),
  ]);
}

if (require.main === module) {
  buildBrowser().catch((e) => {
    process.stderr.write(`browser build failed: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
