/**
 * The page's side of the explorer's worker (worker.ts): one job at a time in the worker, the last request wins,
 * and cancelling frees everything.
 *
 * - The last request wins: while a job runs, a new request waits as the one pending request, replacing (and
 *   dropping) any request already waiting; a job whose request was overtaken has its result dropped. Clicking
 *   images 0, 1 and 2 quickly opens 0 (already running), drops 1, then opens and shows 2.
 * - Cancelling terminates the worker and starts a fresh one, which loads the model again and opens the image again
 *   with the next request. A method runs inside synchronous TensorFlow.js calls (Score-CAM's channel batches are
 *   one synchronous loop), so the worker cannot read a "stop" message until the method has finished: cooperative
 *   cancellation would need a flag in shared memory, and SharedArrayBuffer needs a cross-origin-isolated page,
 *   which would also switch the WASM backend to its threaded build (other numbers than the CLI's). Terminating
 *   stops at once, and the worker's tensors, WASM heap and WebGL context all go with it: nothing of the cancelled
 *   job can leak or be drawn. The cost is loading the model again (the files come from the local server).
 * - A slow job (one with a slow method) is cancelled the same way when a new request overtakes it, rather than
 *   making the new one wait for it.
 */
import type { FromWorker, ImageSource, ToWorker, WorkerMap, WorkerSetup, ModelInfo, WorkerPrediction } from './protocol';

export interface Progress {
  method: string;
  index: number;
  count: number;
  done: number;
  total: number;
}

export type Opened = Extract<FromWorker, { type: 'opened' }>;
export type Request =
  | { type: 'open'; image: ImageSource; topK: number }
  | { type: 'explain'; image: ImageSource; methods: string[]; layer: string; classIndex: number; batchSize?: number };
export type Result<R extends Request> = R extends { type: 'open' } ? Opened : { maps: WorkerMap[]; ms: number };

/** Why a request produced no result: 'overtaken' by a newer one, or 'cancelled'. */
export class Dropped extends Error {
  constructor(readonly why: 'overtaken' | 'cancelled') {
    super(why);
  }
}

interface Job {
  request: Request;
  slow: boolean;
  onProgress?: (p: Progress) => void;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class ExplorerWorker {
  private worker!: Worker;
  private next = 1;
  private running: { id: number; job: Job } | null = null;
  private pending: Job | null = null;
  private memoryWaiters = new Map<number, (n: number) => void>();
  /** How many times the worker was started (1 + the cancels). */
  starts = 0;
  backend: string | null = null;
  model: ModelInfo | null = null;
  private ready!: Promise<void>;
  /** Called when a request starts or ends (to show and hide the progress bar). */
  onBusy: (busy: boolean) => void = () => undefined;

  constructor(
    private readonly url: URL,
    private readonly setup: WorkerSetup,
  ) {
    this.start();
  }

  /** Resolves once the model is loaded (rejects with the worker's one-line reason). */
  loaded(): Promise<void> {
    return this.ready;
  }

  get busy(): boolean {
    return this.running != null || this.pending != null;
  }

  private start(): void {
    this.starts++;
    this.worker = new Worker(this.url, { type: 'module', name: 'tfjs-cam explorer' });
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.onmessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (m.type === 'ready') {
          this.backend = m.backend;
          this.model = m.model;
          resolve();
        } else if (m.type === 'failed' && m.job == null) {
          reject(new Error(m.message));
          this.fail(new Error(m.message));
        } else this.received(m);
      };
      // A worker that cannot even start (its script missing, a syntax error): no message will come.
      this.worker.onerror = (e) => {
        e.preventDefault();
        const why = e.message || 'the worker script could not start';
        reject(new Error(why));
        this.fail(new Error(why));
      };
    });
    this.ready.catch(() => undefined);
    this.send({ type: 'setup', setup: this.setup });
    if (this.held) this.send({ type: 'hold', image: this.held });
  }

  /** The image on show: a fresh worker opens it at once, so that it holds what the one it replaces held. */
  held: ImageSource | null = null;

  private send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private received(m: FromWorker): void {
    if (m.type === 'memory') {
      this.memoryWaiters.get(m.job)?.(m.numTensors);
      this.memoryWaiters.delete(m.job);
      return;
    }
    if (m.type === 'ready') return;
    const r = this.running;
    if (!r || m.job !== r.id) return; // an overtaken job's messages
    if (m.type === 'progress') return r.job.onProgress?.({ method: m.method, index: m.index, count: m.count, done: m.done, total: m.total });
    this.running = null;
    if (m.type === 'failed') r.job.reject(new Error(m.message));
    else if (m.type === 'opened') r.job.resolve(m);
    else if (m.type === 'maps') r.job.resolve({ maps: m.maps, ms: m.ms });
    this.pump();
  }

  private fail(e: Error): void {
    const jobs = [this.running?.job, this.pending].filter((j): j is Job => !!j);
    this.running = null;
    this.pending = null;
    for (const j of jobs) j.reject(e);
    this.onBusy(false);
  }

  private pump(): void {
    if (this.running) return;
    const job = this.pending;
    this.pending = null;
    if (!job) return this.onBusy(false);
    const id = this.next++;
    this.running = { id, job };
    this.send({ ...job.request, job: id } as ToWorker);
  }

  /** Runs a request after the one running (the last request wins); `slow`: cancel it rather than wait, if overtaken. */
  run<R extends Request>(request: R, opts: { slow?: boolean; onProgress?: (p: Progress) => void } = {}): Promise<Result<R>> {
    return new Promise<Result<R>>((resolve, reject) => {
      this.pending?.reject(new Dropped('overtaken'));
      this.pending = { request, slow: !!opts.slow, onProgress: opts.onProgress, resolve: resolve as (v: unknown) => void, reject };
      this.onBusy(true);
      if (this.running?.job.slow) this.restart('overtaken');
      else if (this.running) this.running.job.reject(new Dropped('overtaken')); // it runs on; its result is dropped
      this.pump();
    });
  }

  /** Stops the job running and drops the one waiting: the worker is replaced by a fresh one. */
  cancel(): void {
    if (!this.busy) return;
    this.pending?.reject(new Dropped('cancelled'));
    this.pending = null;
    this.restart('cancelled');
    this.onBusy(false);
  }

  private restart(why: 'overtaken' | 'cancelled'): void {
    const r = this.running;
    this.running = null;
    this.worker.terminate();
    for (const [, w] of this.memoryWaiters) w(NaN);
    this.memoryWaiters.clear();
    r?.job.reject(new Dropped(why));
    this.start();
  }

  /** tf.memory().numTensors in the worker, after the requests before it (for tests). */
  async numTensors(): Promise<number> {
    await this.ready;
    const id = this.next++;
    return new Promise<number>((resolve) => {
      this.memoryWaiters.set(id, resolve);
      this.send({ type: 'memory', job: id });
    });
  }
}

export type { WorkerMap, WorkerPrediction, ModelInfo };
