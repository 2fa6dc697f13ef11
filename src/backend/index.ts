/**
 * Choosing the compute backend at run time, best first: CUDA (tfjs-node-gpu), native CPU (tfjs-node),
 * WASM, pure-JS CPU. The native packages are optional dependencies: they are loaded only when present.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerMissingWasmKernels } from './wasm-kernels';
import { installFastBatchNormGradient } from './batchnorm-gradient';
import { UsageError } from '../util/errors';
import { defaultThreads, prepareThreadedWasm } from './wasm-threads';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

let active: BackendName | null = null;
let activeThreads = 1;

export interface BackendOptions {
  /**
   * WASM: threads for one image's kernels (XNNPACK's pool; the calling thread counts). Default: TFJS_CAM_THREADS,
   * else 1 (see defaultThreads for why). 1 starts the single-threaded build.
   */
  threads?: number;
}

function tryRequire(id: string): boolean {
  try {
    require(id);
    return true;
  } catch {
    return false;
  }
}

/** Starts the WASM backend, threaded when asked and possible; falls back to one thread if the threaded build fails. */
async function activateWasm(wasm: typeof import('@tensorflow/tfjs-backend-wasm'), threads: number): Promise<boolean> {
  if (threads > 1) {
    const restore = prepareThreadedWasm(threads, wasm.setThreadsCount);
    let ok = false;
    try {
      ok = await tf.setBackend('wasm');
    } catch {
      ok = false;
    } finally {
      restore();
    }
    if (ok) {
      activeThreads = wasm.getThreadsCount();
      return true;
    }
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
  }
  const ok = await tf.setBackend('wasm');
  activeThreads = 1;
  return ok;
}

async function tryActivate(name: BackendName, opts: BackendOptions): Promise<boolean> {
  switch (name) {
    case 'tensorflow-gpu':
      // tfjs-node-gpu registers itself as 'tensorflow'; it only helps when CUDA libraries load.
      return tryRequire('@tensorflow/tfjs-node-gpu') && (await tf.setBackend('tensorflow'));
    case 'tensorflow':
      return tryRequire('@tensorflow/tfjs-node') && (await tf.setBackend('tensorflow'));
    case 'wasm': {
      if (!tryRequire('@tensorflow/tfjs-backend-wasm')) return false;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(dir + path.sep);
      if (!(await activateWasm(wasm, opts.threads ?? defaultThreads()))) return false;
      // The CPU backend stands in for kernels WASM lacks (see wasm-kernels.ts); make sure it is initialised.
      tf.engine().findBackend('cpu');
      registerMissingWasmKernels();
      return true;
    }
    case 'cpu':
      return tf.setBackend('cpu');
  }
}

/**
 * Activates the requested backend (or the best available for 'auto') and returns its name.
 * Throws with a one-line message when an explicitly requested backend is unavailable.
 */
export async function initBackend(choice: BackendChoice = 'auto', opts: BackendOptions = {}): Promise<BackendName> {
  if (active && (choice === 'auto' || choice === active)) return active;
  tf.enableProdMode();
  installFastBatchNormGradient();
  const order: BackendName[] = choice === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    let ok = false;
    try {
      ok = await tryActivate(name, opts);
    } catch {
      ok = false;
    }
    if (ok) {
      active = name;
      // Falling back to pure JS is 20-30x slower: say so once, on stderr, so it is never silent.
      if (choice === 'auto' && name === 'cpu') process.stderr.write('tfjs-cam: note: the WASM backend could not start; using the pure-JS CPU backend (much slower)\n');
      return name;
    }
  }
  // A backend asked for by name that this machine lacks is a usage error (exit 2), not an unexpected one.
  throw new UsageError(
    choice === 'tensorflow-gpu' || choice === 'tensorflow'
      ? `backend '${choice}' is not available: install @tensorflow/tfjs-node${choice === 'tensorflow-gpu' ? '-gpu' : ''} (see docs/backends.md)`
      : `backend '${choice}' could not be initialised`,
  );
}

export function activeBackend(): BackendName | null {
  return active;
}

/** Threads the active backend computes one kernel with (WASM's pool; 1 for the others as we start them). */
export function backendThreads(): number {
  return active === 'wasm' ? activeThreads : 1;
}
