/**
 * Spreading one image's per-channel forward passes (Score-CAM, Ablation-CAM) over worker threads.
 *
 * The methods are synchronous functions of tensors, so the pool is used synchronously too: the calling thread
 * posts each worker a contiguous part of the channels, scores its own part, then blocks on Atomics.wait until
 * the workers have written their scores into shared memory. Each worker holds its own backend and model and
 * runs the same method code (CamMethod.channelScores) on its part. Used when there are fewer images than
 * --jobs (a folder already keeps every core busy with whole images).
 */
import type { TargetLike } from '../capture/targets';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'worker_threads';
import * as path from 'path';
import * as fs from 'fs';
import type { SessionOptions } from '../pipeline/session';
import type { MethodOptions } from '../methods';

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
  options: Partial<MethodOptions>;
  score: 'logit' | 'probability';
}

/** A share of one image's faithfulness inputs (see metrics/faithfulness.ts), scored by a worker. */
export interface RowsTask {
  x: Float32Array;
  xShape: number[];
  maps: Float32Array[];
  steps: number;
  classIndex: number;
  batch: number;
  from: number;
  to: number;
  results: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
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

function script(): string | null {
  const here = path.join(__dirname, 'channel-worker.js');
  if (fs.existsSync(here)) return here;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'src', 'batch', 'channel-worker.js');
  return fs.existsSync(built) ? built : null;
}

export class ChannelPool {
  private constructor(
    private readonly workers: Worker[],
    private readonly errors: MessagePort[],
  ) {}

  /** The first error a worker reported (each worker has its own port: a port can be transferred only once). */
  private firstError(): string {
    for (const port of this.errors) {
      const m = receiveMessageOnPort(port);
      if (m) return (m.message as { message?: string } | undefined)?.message ?? 'unknown error';
    }
    return 'unknown error';
  }

  /** Starts `count` workers with the session's options; resolves once every one has its model loaded. */
  static async start(count: number, opts: SessionOptions): Promise<ChannelPool | null> {
    const file = script();
    if (!file || count < 1 || typeof opts.model !== 'string') return null;
    // One thread each: the pool is used only where the backends are single-threaded (see explain.ts).
    const session = { model: opts.model, backend: opts.backend, threads: 1, method: opts.method, layers: opts.layers, labels: opts.labels, preprocess: opts.preprocess, score: opts.score };
    const workers = Array.from({ length: count }, () => new Worker(file, { workerData: { session } }));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', (m: { type: string; message?: string }) => (m.type === 'ready' ? resolve() : reject(new Error(m.message))));
              w.once('error', reject);
            }),
        ),
      );
    } catch (e) {
      // A worker that could not start must not keep the process alive.
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const ports = workers.map((w) => {
      const { port1, port2 } = new MessageChannel();
      w.postMessage({ type: 'errors', port: port2 }, [port2]);
      return port1;
    });
    return new ChannelPool(workers, ports);
  }

  get size(): number {
    return this.workers.length + 1;
  }

  /** Scores of `channels` (in order): one part here through `local`, the others on the workers. Synchronous. */
  share(method: string, channels: number[], local: (part: number[]) => number[][], ctx: ChannelContext): number[][] {
    const parts = this.workers.length + 1;
    const per = Math.ceil(channels.length / parts);
    const k = ctx.targets.length;
    const results = new SharedArrayBuffer(channels.length * k * 4);
    const ctrl = new SharedArrayBuffer(8); // [workers still running, failed]
    const counter = new Int32Array(ctrl);
    const sent: number[] = [];
    for (let w = 0; w < this.workers.length; w++) {
      const start = (w + 1) * per;
      const part = channels.slice(start, start + per);
      if (!part.length) continue;
      Atomics.add(counter, 0, 1);
      sent.push(w);
      const task: ChannelTask = { ...ctx, method, channels: part, offset: start, results, ctrl };
      this.workers[w].postMessage({ type: 'task', task });
    }
    const mine = local(channels.slice(0, per));
    for (let v = Atomics.load(counter, 0); v > 0; v = Atomics.load(counter, 0)) Atomics.wait(counter, 0, v, 60_000);
    if (Atomics.load(counter, 1)) {
      throw new Error(`a channel worker failed: ${this.firstError()}`);
    }
    const flat = new Float32Array(results);
    const out = mine.slice();
    for (let i = mine.length; i < channels.length; i++) out.push(Array.from(flat.subarray(i * k, (i + 1) * k)));
    return out;
  }

  /**
   * One image's faithfulness inputs (rows [0, total) of its plan), in equal contiguous shares: the first here
   * through `local`, the others on the workers, side by side. Synchronous, like share().
   */
  shareRows(ctx: Omit<RowsTask, 'from' | 'to' | 'results' | 'ctrl'>, total: number, local: (from: number, to: number, out: Float32Array) => void): Float32Array {
    const per = Math.ceil(total / (this.workers.length + 1));
    const results = new SharedArrayBuffer(total * 4);
    const out = new Float32Array(results);
    const ctrl = new SharedArrayBuffer(8); // [workers still running, failed]
    const counter = new Int32Array(ctrl);
    for (let w = 0; w < this.workers.length; w++) {
      const from = (w + 1) * per;
      const to = Math.min(total, from + per);
      if (from >= to) continue;
      Atomics.add(counter, 0, 1);
      const task: RowsTask = { ...ctx, from, to, results, ctrl };
      this.workers[w].postMessage({ type: 'rows', task });
    }
    local(0, Math.min(per, total), out);
    for (let v = Atomics.load(counter, 0); v > 0; v = Atomics.load(counter, 0)) Atomics.wait(counter, 0, v, 60_000);
    if (Atomics.load(counter, 1)) {
      throw new Error(`a faithfulness worker failed: ${this.firstError()}`);
    }
    return out;
  }

  async close(): Promise<void> {
    this.errors.forEach((p) => p.close());
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
