/**
 * Choosing the compute backend in a browser, best first: WebGL, WebGPU (where the page can import
 * `@tensorflow/tfjs-backend-webgpu`), WASM (`@tensorflow/tfjs-backend-wasm`, its .wasm files from `wasmPaths`), then
 * the pure-JS CPU backend. The optional backends are imported only when tried, so a page needs only `@tensorflow/tfjs`.
 */
import * as tf from '@tensorflow/tfjs';
import { registerMissingWasmKernels } from '../backend/wasm-kernels';
import { installFastBatchNormGradient } from '../backend/batchnorm-gradient';

export type BrowserBackend = 'webgl' | 'webgpu' | 'wasm' | 'cpu';
export const BROWSER_BACKENDS: BrowserBackend[] = ['webgl', 'webgpu', 'wasm', 'cpu'];

export interface BackendOptions {
  /** The backends to try, in order (default: all, best first); one name tries only that one. */
  prefer?: BrowserBackend | BrowserBackend[];
  /** URL folder (ending in '/') holding tfjs-backend-wasm's .wasm files (default: the module's own folder). */
  wasmPaths?: string;
}

// Specifiers held in variables so that bundlers leave these optional peers to the page's import map.
const WASM_MODULE = '@tensorflow/tfjs-backend-wasm';
const WEBGPU_MODULE = '@tensorflow/tfjs-backend-webgpu';

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
      const wasm = (await import(/* webpackIgnore: true */ WASM_MODULE)) as typeof import('@tensorflow/tfjs-backend-wasm');
      if (opts.wasmPaths) wasm.setWasmPaths(opts.wasmPaths);
      if (!(await tf.setBackend('wasm'))) return false;
      // The CPU backend stands in for kernels WASM lacks (see src/backend/wasm-kernels.ts), as in Node.
      tf.engine().findBackend('cpu');
      registerMissingWasmKernels();
      return true;
    }
    case 'cpu':
      return tf.setBackend('cpu');
  }
}

/** Activates the first backend that starts and returns its name; throws naming every backend tried. */
export async function initBackend(opts: BackendOptions = {}): Promise<BrowserBackend> {
  tf.enableProdMode();
  installFastBatchNormGradient();
  const order = opts.prefer == null ? BROWSER_BACKENDS : Array.isArray(opts.prefer) ? opts.prefer : [opts.prefer];
  const why: string[] = [];
  for (const name of order) {
    if (!BROWSER_BACKENDS.includes(name)) throw new RangeError(`unknown backend '${String(name)}' (expected one of ${BROWSER_BACKENDS.join(', ')})`);
    try {
      if (await tryActivate(name, opts)) return name;
      why.push(`${name}: not available`);
    } catch (e) {
      why.push(`${name}: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${why.join('; ')})`);
}
