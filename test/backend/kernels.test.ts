// Every kernel tfjs-cam's forward and backward passes run, on WASM as tfjs-cam sets it up (initBackend: our kernels
// for what WASM lacks or gets wrong, the fast paths, the faster BatchNorm gradient), against the pure-JS CPU backend
// as tfjs ships it, on the seeded corner-case inputs of kernel-cases.ts: the kernel's outputs, and where tfjs has a
// gradient for it, the vector-Jacobian product for a seeded upstream gradient (which runs the gradient's kernels).
//
// The list of kernels comes from the models (kernels-in-use.json, written by scripts/kernels-in-use.ts, which runs
// every method on the project's models and the zoo); maps-across-backends.test.ts fails when a model runs a kernel
// that is not in it. Tolerances per kernel are in kernel-cases.ts and docs/kernels.md.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { Case, CASES, CPU_DEFECTS, NOT_RUNNABLE_ON_WASM, Spec, Tolerance, TOLERANCE, valuesOf } from './kernel-cases';
import { recordKernels } from '../../scripts/lib/kernel-recorder';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const inUse = require('./kernels-in-use.json') as { kernels: Record<string, unknown> };

/** The kernels the issue that asked for this test names, beyond those our models run today. */
const ALSO_REQUIRED = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'LeakyRelu', 'Elu', 'Prelu', 'Selu', 'Softplus', 'ResizeNearestNeighbor', 'ResizeBilinearGrad', 'MaxPoolWithArgmax'];

type Values = Float32Array | Int32Array | Uint8Array;
interface Output {
  shape: number[];
  dtype: string;
  values: Values;
}
interface Materialised {
  names: string[];
  array: boolean;
  specs: { shape: number[]; dtype: tf.DataType; values: Values }[];
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** The case's input values (drawn, then derived ones computed on CPU). */
function materialise(kernel: string, c: Case): Materialised {
  const array = Array.isArray(c.inputs);
  const entries: [string, Spec][] = array ? (c.inputs as Spec[]).map((s, i) => [String(i), s]) : Object.entries(c.inputs);
  const specs = entries.map(([name, s]) => ({ shape: s.shape, dtype: (s.dtype ?? 'float32') as tf.DataType, values: valuesOf(s, hash(`${kernel}/${c.label}/${name}`)) }));
  const m: Materialised = { names: entries.map(([n]) => n), array, specs };
  if (c.derive) {
    tf.tidy(() => {
      const t = tensorsOf(m);
      for (const [name, fn] of Object.entries(c.derive!)) {
        const out = fn(t as Record<string, tf.Tensor>);
        const at = m.names.indexOf(name);
        const spec = { shape: out.shape, dtype: out.dtype, values: out.dataSync() as Values };
        if (at >= 0) m.specs[at] = spec;
        else {
          m.names.push(name);
          m.specs.push(spec);
        }
      }
    });
  }
  return m;
}

function tensorsOf(m: Materialised): Record<string, tf.Tensor> | tf.Tensor[] {
  const ts = m.specs.map((s) => tf.tensor(s.values, s.shape, s.dtype));
  return m.array ? ts : Object.fromEntries(m.names.map((n, i) => [n, ts[i]]));
}

const asList = (out: tf.Tensor | tf.Tensor[]) => (Array.isArray(out) ? out : [out]);
const read = (ts: tf.Tensor[]): Output[] => ts.map((t) => ({ shape: t.shape, dtype: t.dtype, values: t.dataSync() as Values }));

/** Runs the kernel on the active backend: its outputs, and the vector-Jacobian product for its float inputs. */
function runCase(kernel: string, c: Case, m: Materialised, withGrad: boolean): { outputs: Output[]; grads: Output[] } {
  let result: { outputs: Output[]; grads: Output[] } = { outputs: [], grads: [] };
  tf.tidy(() => {
    const inputs = tensorsOf(m);
    const call = (ins: Record<string, tf.Tensor> | tf.Tensor[]) => asList(tf.engine().runKernel(kernel, ins as unknown as tf.NamedTensorMap, (c.attrs ?? {}) as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[]);
    const out = call(inputs);
    const outputs = read(out);
    // Outputs that are not float (comparisons, casts to int) carry no gradient.
    result = { outputs, grads: [] };
    if (!withGrad || !out.some((o) => o.dtype === 'float32')) return;
    const names = m.names.filter((_, i) => m.specs[i].dtype === 'float32');
    const fn = (...xs: tf.Tensor[]) => {
      const ins = { ...(inputs as Record<string, tf.Tensor>) };
      names.forEach((n, i) => (ins[n] = xs[i]));
      const outs = c.op ? asList(c.op(ins)) : call(m.array ? m.names.map((n) => ins[n]) : ins);
      // A seeded upstream gradient per float output; the scalar is sum(out * dy) over them.
      const terms = outs.filter((o) => o.dtype === 'float32').map((o, j) => tf.sum(tf.mul(o, tf.tensor(valuesOf({ shape: o.shape, kind: 'normal' }, hash(`${kernel}/${c.label}/dy${j}`)), o.shape))));
      return terms.length === 1 ? terms[0] : tf.addN(terms);
    };
    const xs = names.map((n) => (inputs as Record<string, tf.Tensor>)[n]);
    result = { outputs, grads: read(tf.grads(fn)(xs)) };
  });
  return result;
}

/** Where WASM and CPU disagree beyond the tolerance: one line per output, or null. */
function disagreement(wasm: Output[], cpu: Output[], tol: Tolerance, what: string): string | null {
  if (wasm.length !== cpu.length) return `${what}: ${wasm.length} outputs on WASM, ${cpu.length} on CPU`;
  for (let o = 0; o < cpu.length; o++) {
    const [w, c] = [wasm[o], cpu[o]];
    if (w.shape.join() !== c.shape.join() || w.dtype !== c.dtype) return `${what} ${o}: [${w.shape}] ${w.dtype} on WASM, [${c.shape}] ${c.dtype} on CPU`;
    let scale = 0;
    for (const v of c.values) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    let worst = -1;
    let worstExcess = 0;
    for (let i = 0; i < c.values.length; i++) {
      const [a, b] = [w.values[i], c.values[i]];
      if (Number.isNaN(b) ? Number.isNaN(a) : a === b) continue;
      let excess = Infinity;
      if (tol !== 'exact' && Number.isFinite(b) && Number.isFinite(a)) excess = Math.abs(a - b) - (tol.rel * Math.abs(b) + tol.abs * scale);
      if (excess > 0 && excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
    if (worst >= 0) {
      let n = 0;
      for (let i = 0; i < c.values.length; i++) {
        const [a, b] = [w.values[i], c.values[i]];
        if (!(Number.isNaN(b) ? Number.isNaN(a) : a === b) && (tol === 'exact' || !(Math.abs(a - b) <= tol.rel * Math.abs(b) + tol.abs * scale))) n++;
      }
      return `${what} ${o}: ${n} of ${c.values.length} values differ beyond ${JSON.stringify(tol)}; worst at ${worst}: WASM ${w.values[worst]}, CPU ${c.values[worst]} (scale ${scale})`;
    }
  }
  return null;
}

/** The worst error relative to the output's scale, for the measurements in docs/kernels.md (KERNELS_REPORT=1). */
function worstRelative(wasm: Output[], cpu: Output[]): number {
  let worst = 0;
  for (let o = 0; o < Math.min(wasm.length, cpu.length); o++) {
    let scale = 0;
    for (const v of cpu[o].values) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    cpu[o].values.forEach((b, i) => {
      const a = wasm[o].values[i];
      if (Number.isFinite(a) && Number.isFinite(b) && scale > 0) worst = Math.max(worst, Math.abs(a - b) / scale);
    });
  }
  return worst;
}

/** The resize kernels whose gradient is checked against the adjoint of the forward resize (see CPU_DEFECTS). */
const ADJOINT_OF: Record<string, 'ResizeBilinear' | 'ResizeNearestNeighbor'> = {
  ResizeBilinear: 'ResizeBilinear',
  ResizeBilinearGrad: 'ResizeBilinear',
  ResizeNearestNeighbor: 'ResizeNearestNeighbor',
  ResizeNearestNeighborGrad: 'ResizeNearestNeighbor',
};

/**
 * The gradient of a resize for an upstream dy: dx = M^T dy per image and channel, M the resize as a matrix, read off
 * the forward kernel (on the active backend, CPU) applied to every one-hot image; summed in double precision.
 */
function resizeAdjoint(forward: string, imageShape: number[], attrs: { alignCorners: boolean; halfPixelCenters: boolean }, dyShape: number[], dy: ArrayLike<number>): Output {
  const [B, H, W, C] = imageShape;
  const [, OH, OW] = dyShape;
  const P = H * W;
  const Q = OH * OW;
  const eye = new Float32Array(P * P);
  for (let p = 0; p < P; p++) eye[p * P + p] = 1;
  const m = tf.tidy(() => (tf.engine().runKernel(forward, { images: tf.tensor4d(eye, [P, H, W, 1]) }, { size: [OH, OW], ...attrs }) as tf.Tensor).dataSync());
  const dx = new Float64Array(B * P * C);
  for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) for (let q = 0; q < Q; q++) {
    const w = m[p * Q + q];
    if (w !== 0) for (let c = 0; c < C; c++) dx[(b * P + p) * C + c] += w * dy[(b * Q + q) * C + c];
  }
  return { shape: imageShape, dtype: 'float32', values: Float32Array.from(dx) };
}

let tfjsBatchNormGradient: tf.GradConfig | undefined;
let ourBatchNormGradient: tf.GradConfig | undefined;
/** Kernel names the WASM runs dispatched, in the kernels' own and their gradients' passes. */
const ranOnWasm = new Set<string>();
const measured: Record<string, { forward: number; grad: number }> = {};

beforeAll(async () => {
  tfjsBatchNormGradient = tf.getGradient('FusedBatchNorm');
  await initBackend('wasm');
  ourBatchNormGradient = tf.getGradient('FusedBatchNorm');
  await tf.setBackend('cpu');
});

afterAll(() => {
  if (process.env.KERNELS_REPORT) process.stdout.write(`${JSON.stringify(measured)}\n`);
});

/** Both backends on one case; the CPU with tfjs's own BatchNorm gradient, WASM with ours. */
async function differ(kernel: string, c: Case): Promise<string[]> {
  const m = materialise(kernel, c);
  const withGrad = c.grad !== false && (c.op != null || tf.getGradient(kernel) != null) && m.specs.some((s) => s.dtype === 'float32');
  tf.registerGradient(tfjsBatchNormGradient!);
  const adjoint = ADJOINT_OF[kernel];
  const cpu = runCase(kernel, c, m, withGrad && !adjoint);
  if (adjoint) {
    const attrs = c.attrs as { alignCorners: boolean; halfPixelCenters: boolean; size?: number[] };
    const at = (n: string) => m.specs[m.names.indexOf(n)];
    if (kernel === adjoint && withGrad) {
      // The forward kernel: its gradient for the seeded upstream gradient the vector-Jacobian product uses.
      const out = cpu.outputs[0];
      cpu.grads = [resizeAdjoint(adjoint, at('images').shape, attrs, out.shape, valuesOf({ shape: out.shape, kind: 'normal' }, hash(`${kernel}/${c.label}/dy0`)))];
    } else if (kernel !== adjoint) {
      cpu.outputs = [resizeAdjoint(adjoint, at('images').shape, attrs, at('dy').shape, at('dy').values)];
    }
  }
  tf.registerGradient(ourBatchNormGradient!);
  await tf.setBackend('wasm');
  const rec = recordKernels();
  let wasm: ReturnType<typeof runCase>;
  try {
    wasm = runCase(kernel, c, m, withGrad);
  } finally {
    rec.stop();
    await tf.setBackend('cpu');
  }
  for (const k of rec.seen.keys()) ranOnWasm.add(k);
  const mm = (measured[kernel] ??= { forward: 0, grad: 0 });
  mm.forward = Math.max(mm.forward, worstRelative(wasm.outputs, cpu.outputs));
  mm.grad = Math.max(mm.grad, worstRelative(wasm.grads, cpu.grads));
  const tol = TOLERANCE[kernel];
  // A gradient adds the kernel's own arithmetic to its gradient kernels': the looser of the two tolerances.
  const gradTol = GRAD_TOLERANCE[kernel] ?? tol;
  return [disagreement(wasm.outputs, cpu.outputs, tol, 'output'), withGrad ? disagreement(wasm.grads, cpu.grads, gradTol, 'gradient of input') : null].filter((x): x is string => x != null).map((s) => `${c.label}: ${s}`);
}

/** Where a kernel's vector-Jacobian product needs another tolerance than the kernel (default: the kernel's). */
const GRAD_TOLERANCE: Record<string, Tolerance> = {};
// Exact kernels whose gradient sums: over broadcast axes, or the output pixels that picked one input pixel.
for (const k of ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'Prelu', 'Select', 'ResizeNearestNeighbor']) GRAD_TOLERANCE[k] = { rel: 1e-5, abs: 1e-5 };
// The fused ops' gradients multiply the activation's derivative into the filter and bias sums: the sigmoid's y(1 - y)
// at saturated pre-activations (|z| ~ 10-17, from the large-magnitude rows) keeps a few bits in float32, and XNNPACK's
// sigmoid and JS's differ by an ulp of y there; times inputs of ~3000 that reaches 4e-5 of the largest value.
for (const k of ['FusedConv2D', 'FusedDepthwiseConv2D', '_FusedMatMul']) GRAD_TOLERANCE[k] = { rel: 1e-4, abs: 1e-4 };

test('every kernel the models run (kernels-in-use.json) and the issue names has differential cases and a tolerance', () => {
  const wanted = [...new Set([...Object.keys(inUse.kernels), ...ALSO_REQUIRED])].sort();
  expect(wanted.length).toBeGreaterThan(40);
  const missing = wanted.filter((k) => !CASES[k]?.length && !(k in NOT_RUNNABLE_ON_WASM));
  expect(missing).toEqual([]);
  for (const k of Object.keys(CASES)) expect(TOLERANCE[k]).toBeDefined();
});

// Where the CPU kernel is wrong (CPU_DEFECTS), the reference is the adjoint of the forward resize; the title says so.
const titled = Object.keys(CASES)
  .sort()
  .map((k) => [k in CPU_DEFECTS ? `${k} on WASM equals the adjoint of the forward resize (not the CPU kernel: ${CPU_DEFECTS[k]})` : `${k} on WASM equals the CPU backend`, k] as const);
describe.each(titled)('%s', (_title, kernel) => {
  test.each(CASES[kernel].map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    expect(await differ(kernel, c)).toEqual([]);
  });
});

test('every kernel that the cases ran on WASM, gradients included, has cases of its own', () => {
  // Runs after the cases above (jest runs a file's tests in order).
  expect(ranOnWasm.size).toBeGreaterThan(40);
  expect([...ranOnWasm].filter((k) => !CASES[k]).sort()).toEqual([]);
});

const notRunnable = Object.entries(NOT_RUNNABLE_ON_WASM);
if (notRunnable.length) {
  test.each(notRunnable)('%s cannot run on WASM: %s', (kernel) => {
    // Listed with its reason; if it starts to run, move it to the cases.
    expect(tf.getKernel(kernel, 'wasm')).toBeUndefined();
  });
}
