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
import { ModelError } from '../util/errors';

/**
 * The core module's own exports object (writable properties; `@tensorflow/tfjs` re-exports them through getters),
 * looked up on first use: an ES module bundle (the browser build) has no CommonJS exports to patch, and must still
 * load this module for the other methods.
 */
// Declared here rather than taken from Node's types: the browser build type-checks this module without them.
declare const require: ((id: string) => unknown) | undefined;
let coreExports: Record<string, unknown> | null = null;
function core(): Record<string, unknown> {
  if (!coreExports) {
    let c: Record<string, unknown> | null = null;
    try {
      c = typeof require === 'function' ? (require('@tensorflow/tfjs-core') as Record<string, unknown>) : null;
    } catch {
      c = null;
    }
    const d = c && Object.getOwnPropertyDescriptor(c, 'relu');
    if (!d || !(d.writable || d.set)) throw new ModelError('guided backprop and Guided Grad-CAM need the Node build of tfjs-cam (they patch tfjs-core\'s CommonJS exports); use --method saliency, smoothgrad or integrated-gradients');
    coreExports = c;
  }
  return coreExports!;
}

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
  const c = depth === 0 ? core() : coreExports!;
  if (depth === 0) {
    met.clear();
    guidedCalls = 0;
    saved = { relu: c.relu, relu6: c.relu6 };
    const relu = c.relu as Op;
    c.relu = guided(relu, null);
    c.relu6 = guided(relu, 6);
    for (const name of Object.keys(OTHER_ACTIVATIONS)) {
      const original = c[name] as Op;
      saved[name] = original;
      c[name] = (...args: unknown[]) => {
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
      for (const [name, op] of Object.entries(saved)) c[name] = op;
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
