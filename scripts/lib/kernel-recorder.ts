/**
 * Records the names of the kernels tfjs runs: every op reaches its backend through the engine's runKernel (forward
 * ops and the ops inside gradient functions alike), so wrapping that one method sees them all. Kernels that other
 * kernels call directly (our WASM fast paths, a backend's own helpers) are not seen: they are checked through the
 * kernel that calls them.
 */
import * as tf from '@tensorflow/tfjs';

type RunKernel = (name: string, inputs: unknown, attrs: unknown) => unknown;

export interface KernelRecorder {
  /** Kernel name -> the contexts it ran in (whatever `context` was set to at the time). */
  readonly seen: Map<string, Set<string>>;
  /** What the next kernels are recorded under (e.g. 'model:method'). */
  context: string;
  stop(): void;
}

export function recordKernels(): KernelRecorder {
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const original = engine.runKernel;
  const recorder: KernelRecorder = {
    seen: new Map(),
    context: '',
    stop: () => {
      engine.runKernel = original;
    },
  };
  engine.runKernel = function (this: unknown, name, inputs, attrs) {
    let where = recorder.seen.get(name);
    if (!where) recorder.seen.set(name, (where = new Set()));
    where.add(recorder.context);
    return original.call(this, name, inputs, attrs);
  };
  return recorder;
}
