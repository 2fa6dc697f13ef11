/**
 * The WASM backend's multi-threaded build (XNNPACK's thread pool over Emscripten pthreads), made to start under
 * Node. tfjs 4.22 never picks it there, and forcing it fails three ways (all measured):
 *
 * 1. tfjs answers WASM_HAS_MULTITHREAD_SUPPORT with false whenever it runs under Node (tfjs issue 3830).
 * 2. Emscripten starts each pthread as `new Worker(url)` where url is a `blob:` URL made from the worker script,
 *    and the module script is handed to the threads as a Blob too. Node's Worker refuses blob URLs
 *    (ERR_WORKER_PATH), and the worker script's importScripts reads a file path.
 * 3. The pool size is capped at half of `os.cpus().length` (the backend assumes two hyper-threads per core), so
 *    a 2-core machine gets one thread.
 *
 * What we do, only for the duration of the backend's initialisation: answer the flag with true; record the
 * scripts the backend puts in Blobs and hand Emscripten a key instead of a blob URL; give worker_threads a Worker
 * that starts those scripts from memory (`eval: true`, the module script in workerData, where the thread's
 * importScripts finds it); report twice the wanted thread count as the CPU count. Then everything is put back.
 * The threads are unreferenced, so they never keep the process alive: they idle in the pool until it exits.
 *
 * Nothing here changes what is computed: the same kernels run, split over threads (XNNPACK partitions the
 * output, so results are identical to one thread).
 */
import { EventEmitter } from 'events';
import * as tf from '@tensorflow/tfjs';

// The module objects themselves (an `import * as` namespace is a copy under esModuleInterop): the backend reads
// worker_threads.Worker and os.cpus from them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const os = require('os') as typeof import('os');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const workerThreads = require('worker_threads') as typeof import('worker_threads');

/** The key under which a pthread finds the module script (see the prelude). */
const MAIN_SCRIPT_KEY = 'tfjs-cam:wasm-module-script';

/**
 * Run first in every pthread, before the backend's own worker script:
 * - the module script, bundled by rollup, refers to its imports as module-level names (require$$N) and to
 *   `commonjsGlobal`; in a thread it is evaluated on its own, so they are made globals;
 * - the worker script turns the module "Blob" (our marker object) into a URL and reads that URL as a file:
 *   both are answered from workerData;
 * - a thread started late (see LazyThread) already told the main thread it was loaded: its real "loaded" is
 *   dropped, and messages that arrive while it loads wait for it (Emscripten sends "run" only to loaded
 *   threads; here the main thread may be blocked waiting for this very thread, so the wait happens here).
 */
function threadPrelude(): string {
  return `
Object.assign(globalThis, { require$$0: require('fs'), require$$1: require('path'), require$$3: require('perf_hooks'), require$$4: require('os'), commonjsGlobal: globalThis });
{
  const wt = require('worker_threads');
  const fs = require('fs');
  const read = fs.readFileSync;
  const main = wt.workerData.tfjsCamMainScript;
  fs.readFileSync = function (f, ...rest) { return f === ${JSON.stringify(MAIN_SCRIPT_KEY)} ? main : read.call(this, f, ...rest); };
  const toUrl = URL.createObjectURL;
  URL.createObjectURL = function (b) { return b && b.tfjsCamMainScript ? ${JSON.stringify(MAIN_SCRIPT_KEY)} : toUrl(b); };
  if (wt.workerData.tfjsCamLate) {
    const port = wt.parentPort;
    let loading = true;
    const waiting = [];
    let handler = null;
    const post = port.postMessage.bind(port);
    port.postMessage = function (msg, ...rest) {
      if (loading && msg && msg.cmd === 'loaded') {
        loading = false;
        setImmediate(() => { for (const m of waiting.splice(0)) handler(m); });
        return;
      }
      return post(msg, ...rest);
    };
    const on = port.on.bind(port);
    port.on = function (event, fn) {
      if (event !== 'message') return on(event, fn);
      handler = fn;
      return on('message', (m) => (loading && !(m && m.cmd === 'load') ? waiting.push(m) : fn(m)));
    };
  }
}
`;
}

/**
 * A pthread as Emscripten sees it, started only when it is first given work. Emscripten preallocates 8 threads
 * whatever the pool size, and starting a Node worker costs tens of milliseconds each; XNNPACK uses threads - 1
 * of them. Until its first real message a LazyThread only answers "load" with "loaded"; then it starts the
 * worker, replays the "load" and forwards everything both ways.
 */
class LazyThread extends EventEmitter {
  private real: import('worker_threads').Worker | null = null;
  private load: { msg: unknown; transfer?: readonly unknown[] } | null = null;

  constructor(private readonly start: () => import('worker_threads').Worker) {
    super();
  }

  postMessage(msg: { cmd?: string }, transfer?: readonly unknown[]): void {
    if (!this.real && msg && msg.cmd === 'load') {
      this.load = { msg, transfer };
      setImmediate(() => this.emit('message', { cmd: 'loaded' }));
      return;
    }
    if (!this.real) {
      const w = this.start();
      w.on('message', (d) => this.emit('message', d));
      w.on('error', (e) => this.emit('error', e));
      w.on('exit', (code) => this.emit('exit', code));
      // Adding a 'message' listener references the worker's port again.
      w.unref();
      if (this.load) w.postMessage(this.load.msg, this.load.transfer as never);
      this.real = w;
    }
    this.real.postMessage(msg, transfer as never);
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  terminate(): Promise<number> {
    return this.real ? this.real.terminate() : Promise.resolve(0);
  }
}

/**
 * Prepares the next `tf.setBackend('wasm')` to start the threaded build with `threads` threads (the calling
 * thread is one of them). Returns the function that undoes the preparation; call it once the backend is up (or
 * failed).
 */
export function prepareThreadedWasm(threads: number, setThreadsCount: (n: number) => void): () => void {
  const OrigBlob = globalThis.Blob;
  const origCreateObjectURL = URL.createObjectURL;
  const OrigWorker = workerThreads.Worker;
  const origCpus = os.cpus;
  const scripts = new Map<string, string>();
  let mainScript: string | null = null;

  // 1. The backend's Blobs: remember their text. The module script's Blob becomes a marker object, which
  //    crosses postMessage as a plain object and which the prelude recognises.
  class RecordingBlob extends OrigBlob {
    readonly tfjsCamText?: string;
    constructor(parts: ConstructorParameters<typeof Blob>[0] = [], options?: ConstructorParameters<typeof Blob>[1]) {
      super(parts, options);
      const text = (parts ?? []).every((p) => typeof p === 'string') ? (parts as string[]).join('') : null;
      if (text != null && text.startsWith('var WasmBackendModuleThreadedSimd')) {
        mainScript = text;
        return { tfjsCamMainScript: true } as unknown as RecordingBlob;
      }
      if (text != null) this.tfjsCamText = text;
    }
  }
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob) => {
    const text = (obj as RecordingBlob).tfjsCamText;
    if (text == null) return origCreateObjectURL(obj);
    const key = `tfjs-cam:wasm-worker-script-${scripts.size}`;
    scripts.set(key, text);
    return key;
  };
  // 2. Threads started from memory when first used, unreferenced: Emscripten references a thread while it
  //    runs, and a pool thread runs for ever, so it would hold the process open after the work is done.
  function ThreadWorker(file: string | URL, options?: import('worker_threads').WorkerOptions): unknown {
    const script = typeof file === 'string' ? scripts.get(file) : undefined;
    if (script == null) return new OrigWorker(file, options);
    const code = `${threadPrelude()}\n${script}`;
    return new LazyThread(() => {
      return new OrigWorker(code, { ...options, eval: true, workerData: { tfjsCamMainScript: mainScript, tfjsCamLate: true } });
    });
  }
  (workerThreads as { Worker: unknown }).Worker = ThreadWorker;
  // 3. The pool size: the backend takes half the reported CPUs, at most 8.
  const fakeCpus = Array.from({ length: 2 * threads }, () => origCpus()[0]);
  (os as { cpus: typeof os.cpus }).cpus = () => fakeCpus;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);

  return () => {
    globalThis.Blob = OrigBlob;
    URL.createObjectURL = origCreateObjectURL;
    (workerThreads as { Worker: typeof OrigWorker }).Worker = OrigWorker;
    (os as { cpus: typeof os.cpus }).cpus = origCpus;
  };
}

/**
 * Threads for one backend: --threads / TFJS_CAM_THREADS, else 1. Not the core count: measured on a 2-core machine
 * (other processes paused, 1 vs 2 threads alternated), two threads gave MobileNetV2's forward pass 0.74x of its one-thread time at best, and made
 * Ablation-CAM's many small head passes 2-3x slower (the pool's hand-offs cost more than the split saves); whole
 * images and channel shares on separate workers (--jobs) scale better there. With a share of `processes`
 * backends running at once, the asked-for threads are divided among them.
 */
export function defaultThreads(processes = 1, asked?: number): number {
  const env = typeof process !== 'undefined' ? process.env.TFJS_CAM_THREADS : undefined;
  const want = asked ?? (env && /^\d+$/.test(env) && Number(env) >= 1 ? Number(env) : 1);
  return Math.max(1, Math.min(8, Math.floor(want / Math.max(1, processes))));
}
