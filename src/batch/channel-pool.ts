/**
 * Worker threads for one image's forward passes: Score-CAM's and Ablation-CAM's channels (explain), and the
 * faithfulness rows of evaluate. Each worker holds its own backend and model.
 *
 * Channels (share): the methods are synchronous functions of tensors, so the pool is used synchronously too: the
 * calling thread posts each worker a contiguous part of the channels, scores its own part, then blocks on
 * Atomics.wait until the workers have written their scores into shared memory. The workers run the same method
 * code (CamMethod.channelScores) on their parts. Used when there are fewer images than --jobs (a folder already
 * keeps every core busy with whole images).
 *
 * Rows (rows): every thread takes chunks of the image's rows from a shared counter (row-chunks.ts) until none is
 * left. The pool is launched without waiting for the workers: each joins the image in progress once its model is
 * loaded, and the calling thread scores from the start.
 *
 * A worker that dies (killed, out of memory) must not leave the calling thread blocked in Atomics.wait: a thread
 * blocked there sees no 'exit' event, so the workers are started and watched by a small thread of their own
 * (channel-watch.ts), which marks a dead worker in shared memory. share() waits in short slices and looks there;
 * the calling thread talks to each worker through a port of its own.
 */
import type { TargetLike } from '../capture/targets';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'worker_threads';
import * as path from 'path';
import * as fs from 'fs';
import type { SessionOptions } from '../pipeline/session';
import type { MethodOptions } from '../methods';
import { allDone, CTRL_WORDS, markFailed, scoreChunks } from './row-chunks';

export interface ChannelTask {
  id: number;
  method: string;
  layer: string;
  x: Float32Array;
  xShape: number[];
  /** Linear targets only (class, logit-diff, sum): they travel to the workers. */
  targets: TargetLike[];
  channels: number[];
  /** Row of the shared result matrix where this part starts. */
  offset: number;
  results: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  /** The Int32 of ctrl this worker sets to 1 once its part is written (told apart from a worker that died first). */
  doneAt: number;
  options: Partial<MethodOptions>;
  score: 'logit' | 'probability';
}

/** One image's faithfulness inputs (see metrics/faithfulness.ts), for a worker to take chunks of (row-chunks.ts). */
export interface RowsTask {
  /** The image (a worker's error message names it). */
  id: number;
  x: Float32Array;
  xShape: number[];
  maps: Float32Array[];
  steps: number;
  classIndex: number;
  batch: number;
  /** Rows [0, total) of the plan, taken in chunks of at most `batch` by about `threads` threads (row-chunks.ts). */
  total: number;
  threads: number;
  results: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
}

/** One image's rows while the pool's threads score them (see ChannelPool.rows). */
export interface SharedRows {
  /** Scores chunks on this thread through `score` until none is left; `onChunk` with every thread's rows done. */
  scoreHere(score: (from: number, to: number, out: Float32Array) => void, onChunk?: (done: number) => void): void;
  /** Every row's value once all are scored (`onChange` as the workers' rows come in); rejects if a worker failed. */
  result(onChange?: (done: number) => void): Promise<Float32Array>;
}

export interface ChannelContext {
  id: number;
  x: Float32Array;
  xShape: number[];
  layer: string;
  targets: TargetLike[];
  options: Partial<MethodOptions>;
  score: 'logit' | 'probability';
}

function script(name: string): string | null {
  const here = path.join(__dirname, name);
  if (fs.existsSync(here)) return here;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'src', 'batch', name);
  return fs.existsSync(built) ? built : null;
}

/** How long share() blocks at a time before it looks whether a worker holding a part has died. */
const LIVENESS_SLICE_MS = 50;

/** What the watching thread (channel-watch.ts) is given. */
export interface WatchData {
  script: string;
  session: unknown;
  /** One port per worker, the other end of the calling thread's. */
  ports: MessagePort[];
  /** Int32 per worker: 1 while it runs, 0 once it has stopped (set by the watching thread). */
  alive: SharedArrayBuffer;
}

/** A worker as the calling thread knows it: its port, and its slot in `alive`. */
interface PoolWorker {
  port: MessagePort;
  slot: number;
}

export class ChannelPool {
  /** Workers not known to have failed or stopped (a failed one is dropped). */
  private workers: PoolWorker[];
  /** Each worker's error port (a port can be transferred only once), in the order of `workers`. */
  private errors: MessagePort[];
  /** Control words of the images whose rows are being scored: a worker that stops fails them. */
  private readonly pending = new Set<Int32Array>();
  /** Why a worker stopped, for the images it failed. */
  private lost: string | null = null;
  private closing = false;

  private constructor(
    workers: PoolWorker[],
    /** The thread that started the workers and watches them; ending it ends them. */
    private readonly watcher: Worker,
    /** 1 per worker still running, 0 once stopped (written by the watching thread). */
    private readonly alive: Int32Array,
    /** Resolves once every worker has its model loaded; rejects with the first that could not load it. */
    readonly ready: Promise<void>,
  ) {
    this.workers = workers;
    this.errors = workers.map((w) => {
      const { port1, port2 } = new MessageChannel();
      // The first message a worker reads once its model is loaded (messages wait in its queue meanwhile).
      w.port.postMessage({ type: 'errors', port: port2 }, [port2]);
      return port1;
    });
  }

  /** The message a worker reported for image `id` (drains every port), else the first reported, else null. */
  private errorOf(id?: number): string | null {
    let first: string | null = null;
    for (const port of this.errors) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const { id: of, message } = m.message as { id?: number; message?: string };
        if (id != null && of === id) return message ?? 'unknown error';
        first ??= message ?? 'unknown error';
      }
    }
    return first;
  }

  /** Drops a worker that failed to start or stopped; one that stopped while ready may have held rows: they fail. */
  private drop(slot: number, why: string, wasReady: boolean): void {
    const i = this.workers.findIndex((w) => w.slot === slot);
    if (i < 0 || this.closing) return;
    this.workers.splice(i, 1)[0].port.close();
    this.errors.splice(i, 1)[0].close();
    // Ended by the watching thread (it may still be running when it failed to load its model).
    this.watcher.postMessage({ type: 'stop', slot });
    if (!wasReady) return;
    this.lost = why;
    for (const ctrl of this.pending) markFailed(ctrl);
  }

  /**
   * Ends worker `slot` as if it had died (killed, out of memory): the pool learns of it as of any stopped worker.
   * For the fault tests, and the same path a failing worker takes.
   */
  stopWorker(slot: number): void {
    this.watcher.postMessage({ type: 'stop', slot });
  }

  /**
   * Starts `count` workers with the session's options and returns at once, each loading its model in the
   * background (`ready` says when all have); null where there is no worker script or the model is not a path.
   */
  static launch(count: number, opts: SessionOptions): ChannelPool | null {
    const file = script('channel-worker.js');
    const watch = script('channel-watch.js');
    if (!file || !watch || count < 1 || typeof opts.model !== 'string') return null;
    // One thread each: the pool is used only where the backends are single-threaded (see explain.ts).
    const session = { model: opts.model, backend: opts.backend, threads: 1, method: opts.method, layers: opts.layers, labels: opts.labels, preprocess: opts.preprocess, score: opts.score };
    const channels = Array.from({ length: count }, () => new MessageChannel());
    const alive = new Int32Array(new SharedArrayBuffer(4 * count)).fill(1);
    const ports = channels.map((c) => c.port2);
    const watcher = new Worker(watch, { workerData: { script: file, session, ports, alive: alive.buffer as SharedArrayBuffer } satisfies WatchData, transferList: ports });
    const workers: PoolWorker[] = channels.map((c, slot) => ({ port: c.port1, slot }));
    let pool: ChannelPool | null = null;
    // A worker's end, told by the watching thread: its reason, once (a worker's error comes before its exit).
    const ended = new Map<number, (why: string) => void>();
    watcher.on('message', (m: { type: 'ended'; slot: number; why: string }) => ended.get(m.slot)?.(m.why));
    const watcherGone = (why: string) => {
      for (let slot = 0; slot < count; slot++) {
        Atomics.store(alive, slot, 0);
        ended.get(slot)?.(why);
      }
    };
    watcher.on('error', (e) => watcherGone(e.message));
    watcher.on('exit', (code) => watcherGone(`it stopped (exit code ${code})`));
    const ready = Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let isReady = false;
            let over = false;
            w.port.on('message', (m: { type: string; message?: string }) => {
              if (m.type === 'ready') {
                isReady = true;
                resolve();
              } else if (m.type === 'failed') {
                pool?.drop(w.slot, m.message ?? 'unknown error', false);
                reject(new Error(m.message));
              }
            });
            ended.set(w.slot, (why) => {
              if (over) return;
              over = true;
              pool?.drop(w.slot, why, isReady);
              reject(new Error(`a worker stopped before loading the model (${why})`));
            });
          }),
      ),
    ).then(() => undefined);
    // Read by start(); a pool used through rows() goes on with the workers that did load.
    ready.catch(() => undefined);
    pool = new ChannelPool(workers, watcher, alive, ready);
    return pool;
  }

  /** Starts `count` workers with the session's options; resolves once every one has its model loaded. */
  static async start(count: number, opts: SessionOptions): Promise<ChannelPool | null> {
    const pool = ChannelPool.launch(count, opts);
    try {
      await pool?.ready;
    } catch (e) {
      // A worker that could not start must not keep the process alive.
      await pool!.close();
      throw e;
    }
    return pool;
  }

  /** This thread and the workers still running. */
  get size(): number {
    return this.workers.length + 1;
  }

  /** Scores of `channels` (in order): one part here through `local`, the others on the workers. Synchronous. */
  share(method: string, channels: number[], local: (part: number[]) => number[][], ctx: ChannelContext): number[][] {
    const parts = this.workers.length + 1;
    const per = Math.ceil(channels.length / parts);
    const k = ctx.targets.length;
    const results = new SharedArrayBuffer(channels.length * k * 4);
    // [workers still running, failed, then per worker: its part is written]
    const ctrl = new SharedArrayBuffer(4 * (2 + this.workers.length));
    const counter = new Int32Array(ctrl);
    const holders: { slot: number; done: number }[] = [];
    for (let w = 0; w < this.workers.length; w++) {
      const start = (w + 1) * per;
      const part = channels.slice(start, start + per);
      if (!part.length) continue;
      Atomics.add(counter, 0, 1);
      const task: ChannelTask = { ...ctx, method, channels: part, offset: start, results, ctrl, doneAt: 2 + w };
      holders.push({ slot: this.workers[w].slot, done: 2 + w });
      this.workers[w].port.postMessage({ type: 'task', task });
    }
    const mine = local(channels.slice(0, per));
    // Blocked here, this thread hears of no worker's exit: it looks at what the watching thread marks instead. A
    // worker dead before writing its part fails the image (the others' parts are then not waited for).
    for (let v = Atomics.load(counter, 0); v > 0; v = Atomics.load(counter, 0)) {
      Atomics.wait(counter, 0, v, LIVENESS_SLICE_MS);
      const dead = holders.find((h) => Atomics.load(this.alive, h.slot) === 0 && Atomics.load(counter, h.done) === 0);
      if (dead) {
        const why = this.errorOf(ctx.id);
        throw new Error(`a channel worker stopped before scoring its channels${why ? `: ${why}` : ' (killed, or out of memory)'}`);
      }
    }
    if (Atomics.load(counter, 1)) {
      throw new Error(`a channel worker failed: ${this.errorOf(ctx.id) ?? 'unknown error'}`);
    }
    const flat = new Float32Array(results);
    const out = mine.slice();
    for (let i = mine.length; i < channels.length; i++) out.push(Array.from(flat.subarray(i * k, (i + 1) * k)));
    return out;
  }

  /**
   * One image's faithfulness inputs (rows [0, total) of its plan), offered to every worker: each takes chunks of
   * them (row-chunks.ts) as soon as it reads the task, a worker still loading its model once it has. This thread
   * takes its chunks through scoreHere(), whenever it comes to it; result() waits for the rest.
   */
  rows(task: Omit<RowsTask, 'total' | 'threads' | 'results' | 'ctrl'>, total: number): SharedRows {
    const results = new SharedArrayBuffer(total * 4);
    const out = new Float32Array(results);
    const ctrlBuffer = new SharedArrayBuffer(CTRL_WORDS * 4);
    const ctrl = new Int32Array(ctrlBuffer);
    this.pending.add(ctrl);
    const t: RowsTask = { ...task, total, threads: this.size, results, ctrl: ctrlBuffer };
    for (const w of this.workers) w.port.postMessage({ type: 'rows', task: t });
    return {
      scoreHere: (score, onChunk) => {
        try {
          scoreChunks(ctrl, t, (from, to) => score(from, to, out), onChunk);
        } catch (e) {
          markFailed(ctrl);
          this.pending.delete(ctrl);
          throw e;
        }
      },
      result: async (onChange) => {
        try {
          if (await allDone(ctrl, total, onChange)) return out;
          throw new Error(`a faithfulness worker failed: ${this.errorOf(task.id) ?? this.lost ?? 'unknown error'}`);
        } finally {
          this.pending.delete(ctrl);
        }
      },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.errors.forEach((p) => p.close());
    this.workers.forEach((w) => w.port.close());
    // The workers are the watching thread's: they end with it.
    await this.watcher.terminate();
  }
}
