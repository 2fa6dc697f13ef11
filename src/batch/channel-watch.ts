/**
 * The thread that starts the channel pool's workers and watches them (see channel-pool.ts). The pool's calling
 * thread may be blocked in Atomics.wait while a worker scores its part; blocked, it would never see that worker's
 * 'exit'. This thread is never blocked: it sees every exit and marks it in shared memory (and wakes the waiter),
 * then tells the pool. Ending this thread ends the workers (they are its own).
 */
import { parentPort, Worker, workerData } from 'worker_threads';
import type { WatchData } from './channel-pool';

const { script, session, ports, alive } = workerData as WatchData;
const flags = new Int32Array(alive);
const port = parentPort!;

const workers = ports.map((workerPort, slot) => {
  const w = new Worker(script, { workerData: { session, port: workerPort }, transferList: [workerPort] });
  const ended = (why: string) => {
    if (Atomics.load(flags, slot) === 0) return;
    Atomics.store(flags, slot, 0);
    Atomics.notify(flags, slot);
    port.postMessage({ type: 'ended', slot, why });
  };
  // A worker that runs out of memory reports the error first, then its exit: the error says more.
  w.on('error', (e) => ended(e.message));
  w.on('exit', (code) => ended(`it stopped (exit code ${code})`));
  return w;
});

port.on('message', (m: { type: 'stop'; slot: number }) => {
  if (m.type === 'stop') void workers[m.slot]?.terminate();
});
