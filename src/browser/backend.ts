/**
 * Choosing the compute backend in a browser, best first: WebGL, WebGPU (where the page can import
 * `@tensorflow/tfjs-backend-webgpu`), WASM (`@tensorflow/tfjs-backend-wasm`, its .wasm files from beside this module,
 * where the build copies them, or from `wasmPaths`), then the pure-JS CPU backend. The optional backends are
 * imported only when tried, so a page needs only `@tensorflow/tfjs`.
 */
import * as tf from '@tensorflow/tfjs';
import { registerMissingWasmKernels } from '../backend/wasm-kernels';
import { installFastBatchNormGradient } from '../backend/batchnorm-gradient';

export type BrowserBackend = 'webgl' | 'webgpu' | 'wasm' | 'cpu';
export const BROWSER_BACKENDS: BrowserBackend[] = ['webgl', 'webgpu', 'wasm', 'cpu'];

export interface BackendOptions {
  /** The backends to try, in order (default: all, best first); one name tries only that one. */
  prefer?: BrowserBackend | BrowserBackend[];
  /** URL folder (ending in '/', relative to the page) holding tfjs-backend-wasm's .wasm files (default: this module's own folder). */
  wasmPaths?: string;
}

// Specifiers held in variables so that bundlers leave these optional peers to the page's import map.
const WASM_MODULE = '@tensorflow/tfjs-backend-wasm';
const WEBGPU_MODULE = '@tensorflow/tfjs-backend-webgpu';

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');
let bundledWasm: WasmModule | null = null;

/**
 * For a bundle that carries the WASM backend itself (the explorer's Web Worker: a worker has no import map to
 * resolve the peer import by name). Not part of the library's API.
 */
export function useBundledWasm(wasm: WasmModule): void {
  bundledWasm = wasm;
}

async function tryActivate(name: BrowserBackend, opts: BackendOptions): Promise<boolean> {
  switch (name) {
    case 'webgl':
      return tf.findBackendFactory('webgl') != null && (await tf.setBackend('webgl'));
    case 'webgpu': {
      const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
      if (!gpu || !(await gpu.requestAdapter())) return false;
      if (!tf.findBackendFactory('webgpu')) await import(/* webpackIgnore: true */ WEBGPU_MODULE);
      return tf.setBackend('webgpu');
    }
    case 'wasm': {
      const wasm = bundledWasm ?? ((await import(/* webpackIgnore: true */ WASM_MODULE)) as WasmModule);
      const folder = new URL(opts.wasmPaths ?? wasmBesideBundle(), pageUrl()).href;
      wasm.setWasmPaths(folder);
      // tfjs only says "make sure the server can serve the .wasm file": find out which file, and what the server said.
      if (!(await tf.setBackend('wasm'))) throw new Error(await whyWasmFailed(folder));
      // The CPU backend stands in for kernels WASM lacks (see src/backend/wasm-kernels.ts), as in Node.
      tf.engine().findBackend('cpu');
      registerMissingWasmKernels();
      return true;
    }
    case 'cpu':
      return tf.setBackend('cpu');
  }
}

const pageUrl = () => (globalThis as { location?: { href: string } }).location?.href;

/** The folder of this module (dist/browser/tfjs-cam.mjs), where the build puts tfjs-backend-wasm's .wasm files. */
function wasmBesideBundle(): string {
  return new URL('./', import.meta.url).href;
}

/** The .wasm file tfjs-backend-wasm picks here (as its getPathToWasmBinary does), fetched again to say why it failed. */
async function whyWasmFailed(folder: string): Promise<string> {
  const [simd, threads] = await Promise.all([tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')]);
  const url = new URL(simd && threads ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm', folder).href;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    return `could not fetch ${url}: ${(e as Error)?.message ?? String(e)}`;
  }
  if (!res.ok) return `${url} answered HTTP ${res.status}`;
  const magic = new Uint8Array(await res.arrayBuffer()).subarray(0, 4);
  if (!(magic[0] === 0 && magic[1] === 0x61 && magic[2] === 0x73 && magic[3] === 0x6d)) {
    return `${url} is not a WebAssembly binary (HTTP ${res.status}, ${res.headers.get('content-type') ?? 'no content type'})`;
  }
  return `${url} (HTTP ${res.status}) was fetched but did not start (see the console)`;
}

/**
 * Activates the first backend that starts and returns its name; throws naming every backend tried and why it
 * failed. A backend that failed before the one that started is told on the console (a missing .wasm file with
 * its URL and HTTP status, say), so that a slower fallback is never silent.
 */
export async function initBackend(opts: BackendOptions = {}): Promise<BrowserBackend> {
  tf.enableProdMode();
  installFastBatchNormGradient();
  const order = opts.prefer == null ? BROWSER_BACKENDS : Array.isArray(opts.prefer) ? opts.prefer : [opts.prefer];
  const why: string[] = [];
  for (const name of order) {
    if (!BROWSER_BACKENDS.includes(name)) throw new RangeError(`unknown backend '${String(name)}' (expected one of ${BROWSER_BACKENDS.join(', ')})`);
    try {
      if (await tryActivate(name, opts)) {
        if (why.length) console.warn(`tfjs-cam: using the ${name} backend (${why.join('; ')})`);
        return name;
      }
      why.push(`${name}: not available`);
    } catch (e) {
      why.push(`${name}: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${why.join('; ')})`);
}
