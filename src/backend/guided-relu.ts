/**
 * Guided backpropagation (Springenberg et al. 2015, as used by the Grad-CAM paper): at every ReLU the gradient
 * passes only where the forward input was positive *and* the gradient arriving from above is positive,
 * dy/dx = dy * [x > 0] * [dy > 0] (ReLU6: also x < 6). Like gradient-mode.ts routes the fused ops, while a guided
 * gradient is taken we route tfjs-core's `relu` and `relu6` (which tfjs-layers, the converter and our unfused
 * fused-op replacements all call through the core module's exports) to tf.customGrad versions with that rule.
 * Forward values are unchanged. tfjs-converter bundles its own copy of the ops, which this cannot reach: graph
 * models are refused for guided methods (src/pipeline/explain-tensor.ts).
 *
 * Other activation functions (ELU, leaky ReLU, PReLU, sigmoid, tanh, softplus, SELU) keep their ordinary
 * gradients; each one met while recording is reported, so the caller can say that guided backprop only guided
 * the model's ReLUs.
 */
import * as tf from '@tensorflow/tfjs';
// The core module's own exports object (writable properties; `@tensorflow/tfjs` re-exports them through getters).
const core = require('@tensorflow/tfjs-core') as Record<string, unknown>;

type Op = (...args: unknown[]) => tf.Tensor;

const OTHER_ACTIVATIONS: Record<string, string> = { elu: 'ELU', selu: 'SELU', leakyRelu: 'leaky ReLU', prelu: 'PReLU', sigmoid: 'sigmoid', tanh: 'tanh', softplus: 'softplus' };

let depth = 0;
let saved: Record<string, unknown> | null = null;
let recording = false;
const met = new Set<string>();
let guidedCalls = 0;

function guided(original: Op, upper: number | null): Op {
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: original(x),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const input = saved[0];
        let mask = tf.mul(tf.step(input, 0), tf.step(dy, 0));
        if (upper !== null) mask = tf.mul(mask, tf.step(tf.neg(tf.sub(input, upper)), 0));
        return tf.mul(dy, mask);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x: unknown) => {
    guidedCalls++;
    return f(x as tf.Tensor) as tf.Tensor;
  };
}

/**
 * Runs fn (which takes a gradient) with guided ReLUs. Returns its result and the names of the non-ReLU
 * activation functions met inside `record` calls. Re-entrant; not for concurrent use (tfjs is single-threaded).
 */
export function withGuidedRelu<T>(fn: () => T): { value: T; otherActivations: string[]; guidedReLUs: number } {
  if (depth === 0) {
    met.clear();
    guidedCalls = 0;
    saved = { relu: core.relu, relu6: core.relu6 };
    const relu = core.relu as Op;
    core.relu = guided(relu, null);
    core.relu6 = guided(relu, 6);
    for (const name of Object.keys(OTHER_ACTIVATIONS)) {
      const original = core[name] as Op;
      saved[name] = original;
      core[name] = (...args: unknown[]) => {
        if (recording) met.add(OTHER_ACTIVATIONS[name]);
        return original(...args);
      };
    }
  }
  depth++;
  try {
    const value = fn();
    return { value, otherActivations: [...met].sort(), guidedReLUs: guidedCalls };
  } finally {
    depth--;
    if (depth === 0 && saved) {
      for (const [name, op] of Object.entries(saved)) core[name] = op;
      saved = null;
    }
  }
}

/** Runs the model's forward pass with activation functions recorded (the score on top of it is not recorded). */
export function recordActivations<T>(fn: () => T): T {
  const before = recording;
  recording = true;
  try {
    return fn();
  } finally {
    recording = before;
  }
}
