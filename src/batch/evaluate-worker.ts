/** The thread evaluate() runs on for the CLI (see evaluate-thread.ts): its callbacks become messages. */
import { parentPort, workerData } from 'worker_threads';
import { evaluate } from '../pipeline/evaluate';
import { OutputError, UserError } from '../util/errors';
import type { EvaluateThreadData, FromEvaluateThread } from './evaluate-thread';

const port = parentPort!;
const post = (m: FromEvaluateThread) => port.postMessage(m);
const { inputs, opts } = workerData as EvaluateThreadData;

evaluate(inputs, {
  ...opts,
  onProgress: (done, total, file, passes) => post({ type: 'progress', done, total, file, passes }),
  onImage: (done, total, file, error) => post({ type: 'image', done, total, file, error }),
  onSkip: (kind, file, reason) => post({ type: 'skip', kind, file, reason }),
  onWarning: (file, message) => post({ type: 'warning', file, message }),
}).then(
  (report) => post({ type: 'done', report }),
  (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    const name = err instanceof UserError || err.name === 'OutputExistsError' ? err.name : 'Error';
    post({ type: 'fatal', name, message: err.message, stack: err.stack, stopsRun: err instanceof OutputError ? err.stopsRun : undefined });
  },
);
