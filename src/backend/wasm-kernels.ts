/**
 * The WASM backend of tfjs 4.22 lacks some kernels that gradients need (Conv2DBackpropFilter,
 * DepthwiseConv2dNativeBackpropInput/Filter, UnsortedSegmentSum, ...). tfjs has no fallback and throws
 * "Kernel 'X' not registered for backend 'wasm'". We register each missing kernel for 'wasm' as a thin
 * delegate: copy the inputs to the pure-JS CPU backend, run its kernel there, copy the outputs back.
 * Slow, but correct, and only hit on paths we otherwise avoid (see gradient-mode.ts).
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };

let registered = false;

export function registerMissingWasmKernels(): string[] {
  if (registered) return [];
  registered = true;
  const wasmNames = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  const added: string[] = [];
  for (const cpuKernel of tf.getKernelsForBackend('cpu')) {
    const name = cpuKernel.kernelName;
    if (wasmNames.has(name)) continue;
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => delegateToCpu(cpuKernel, inputs as Record<string, TensorInfo>, backend as unknown as tf.KernelBackend, attrs),
    });
    added.push(name);
  }
  return added;
}

function delegateToCpu(
  kernel: tf.KernelConfig,
  inputs: Record<string, TensorInfo>,
  wasm: tf.KernelBackend,
  attrs: unknown,
): TensorInfo | TensorInfo[] {
  const cpu = tf.engine().findBackend('cpu') as tf.KernelBackend;
  if (cpu == null) throw new Error(`kernel ${kernel.kernelName}: the CPU backend is not available to stand in for WASM`);
  const cpuInputs: Record<string, TensorInfo> = {};
  const created: TensorInfo[] = [];
  for (const [key, t] of Object.entries(inputs)) {
    if (t == null) continue;
    const values = wasm.readSync(t.dataId) as tf.backend_util.BackendValues;
    const dataId = cpu.write(values, t.shape, t.dtype);
    const info = { dataId, shape: t.shape, dtype: t.dtype };
    cpuInputs[key] = info;
    created.push(info);
  }
  try {
    const out = kernel.kernelFunc({ inputs: cpuInputs as never, backend: cpu, attrs: attrs as never });
    const outs = Array.isArray(out) ? out : [out];
    const back = outs.map((o) => {
      const values = cpu.readSync(o.dataId) as tf.backend_util.BackendValues;
      cpu.disposeData(o.dataId, true);
      return { dataId: wasm.write(values, o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
    });
    return Array.isArray(out) ? back : back[0];
  } finally {
    for (const c of created) cpu.disposeData(c.dataId, true);
  }
}
