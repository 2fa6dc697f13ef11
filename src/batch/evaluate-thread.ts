/**
 * evaluate() on a thread of its own, for the CLI. Its work per image (the maps, then hundreds of faithfulness and
 * ROAD passes) is synchronous: on this thread it would keep Ctrl-C from being handled for as long as an image takes
 * (tens of seconds). Here this thread only relays the callbacks and waits, so a signal is handled at once, and
 * stop() ends the evaluation wherever it is (V8 interrupts JavaScript and WebAssembly alike). Files are written
 * by that thread as evaluate always writes them (temp file + rename): after stop(), removeOwnTempFiles() removes
 * any it was writing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { EvaluateOptions, EvaluateReport } from '../pipeline/evaluate';
import { ModelError, OutputError, UsageError, UserError } from '../util/errors';

/** Messages from the evaluation's thread. */
export type FromEvaluateThread =
  | { type: 'progress'; done: number; total: number; file: string; passes?: { done: number; total: number } }
  | { type: 'image'; done: number; total: number; file: string; error?: string }
  | { type: 'skip'; kind: 'missing' | 'unboxed' | 'unusable'; file: string; reason?: string }
  | { type: 'warning'; file: string; message: string }
  | { type: 'done'; report: EvaluateReport }
  | { type: 'fatal'; name: string; message: string; stack?: string; stopsRun?: boolean };

/** What the thread is given: the options without the callbacks (they stay here, fed by its messages). */
export interface EvaluateThreadData {
  inputs: string[];
  opts: Omit<EvaluateOptions, 'onProgress' | 'onImage' | 'onSkip' | 'onWarning'>;
}

export interface EvaluateThread {
  /** The report, or the evaluation's error (the same class as in-process: the CLI's exit codes follow). */
  report: Promise<EvaluateReport>;
  /** Ends the evaluation now; resolves once its thread has stopped. */
  stop(): Promise<void>;
}

function script(): string | null {
  const here = path.join(__dirname, 'evaluate-worker.js');
  if (fs.existsSync(here)) return here;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'src', 'batch', 'evaluate-worker.js');
  return fs.existsSync(built) ? built : null;
}

/** The error the thread reported, as the class it was there. */
function revive(m: Extract<FromEvaluateThread, { type: 'fatal' }>): Error {
  const e =
    m.name === 'ModelError' ? new ModelError(m.message)
    : m.name === 'UsageError' || m.name === 'SpecError' ? new UsageError(m.message)
    : m.name === 'OutputError' ? new OutputError(m.message, !!m.stopsRun)
    : m.name === 'UserError' ? new UserError(m.message)
    : Object.assign(new Error(m.message), { name: m.name });
  if (m.stack) e.stack = m.stack;
  return e;
}

/**
 * Starts evaluate(inputs, opts) on its own thread; null where there is no built worker script (running from the
 * TypeScript sources): then the caller evaluates in this thread.
 */
export function evaluateOnThread(inputs: string[], opts: EvaluateOptions): EvaluateThread | null {
  const file = script();
  if (!file || typeof opts.model !== 'string' || (typeof opts.target === 'object' && opts.target?.kind === 'function')) return null;
  const { onProgress, onImage, onSkip, onWarning, ...rest } = opts;
  const worker = new Worker(file, { workerData: { inputs, opts: rest } satisfies EvaluateThreadData });
  let settled = false;
  const report = new Promise<EvaluateReport>((resolve, reject) => {
    worker.on('message', (m: FromEvaluateThread) => {
      if (m.type === 'progress') onProgress?.(m.done, m.total, m.file, m.passes);
      else if (m.type === 'image') onImage?.(m.done, m.total, m.file, m.error);
      else if (m.type === 'skip') onSkip?.(m.kind, m.file, m.reason);
      else if (m.type === 'warning') onWarning?.(m.file, m.message);
      else {
        settled = true;
        if (m.type === 'done') resolve(m.report);
        else reject(revive(m));
        // Its work is over (pools closed, files written): nothing it still holds may keep the process alive.
        void worker.terminate();
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`evaluate's thread stopped (exit code ${code}) before it finished`));
    });
  });
  return {
    report,
    stop: async () => {
      settled = true;
      await worker.terminate();
    },
  };
}
