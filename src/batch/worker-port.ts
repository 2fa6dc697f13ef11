/**
 * The worker side of ./pool.ts's protocol, shared by the folder worker (batch/worker.ts) and diff's
 * (diff/worker.ts): the queue of jobs the main thread sends, results sent back with their files transferred, and a
 * fatal error sent as its class name and message.
 */
import type { MessagePort } from 'worker_threads';
import { UserError } from '../util/errors';
import type { FromWorker, ToWorker } from './pool';
import type { ImageJob } from './walk';

/** The jobs the main thread sends, one at a time: null once it says there are no more. */
export function jobQueue(port: MessagePort): () => Promise<ImageJob | null> {
  const queue: (ImageJob | null)[] = [];
  let waiting: ((j: ImageJob | null) => void) | null = null;
  port.on('message', (m: ToWorker) => {
    const item = m.type === 'job' ? m.job : null;
    if (waiting) {
      const w = waiting;
      waiting = null;
      w(item);
    } else queue.push(item);
  });
  return () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise<ImageJob | null>((r) => (waiting = r)));
}

/**
 * Sends one image's result. Its files' buffers are transferred, not copied, except those sharing Node's small-buffer
 * pool (transferring that pool would detach every other buffer in it).
 */
export function postResult<R extends { files: { data: Uint8Array }[] }>(port: MessagePort, result: R): void {
  const own = result.files.map((f) => f.data).filter((d) => d.byteOffset === 0 && d.byteLength === d.buffer.byteLength);
  port.postMessage({ type: 'result', result } satisfies FromWorker<R>, [...new Set(own.map((d) => d.buffer as ArrayBuffer))]);
}

/** A failure that ends the worker: the main thread rethrows it as the same error class (same message, same exit code). */
export function postFatal(port: MessagePort, e: unknown): void {
  const err = e as Error;
  port.postMessage({ type: 'fatal', name: err instanceof UserError ? err.name : 'Error', message: err.message } satisfies FromWorker);
}
