/**
 * The WASM backend of tfjs 4.22 lacks some kernels that gradients need (Conv2DBackpropFilter,
 * DepthwiseConv2dNativeBackpropInput/Filter, UnsortedSegmentSum, ...). tfjs has no fallback and throws
 * "Kernel 'X' not registered for backend 'wasm'". We register each missing kernel for 'wasm' as a thin
 * delegate: copy the inputs to the pure-JS CPU backend, run its kernel there, copy the outputs back.
 * Slow, but correct, and only hit on paths we otherwise avoid (see gradient-mode.ts).
 *
 * Some of its own kernels are wrong: MaxPoolGrad and MaxPoolWithArgmax (max-pool.ts) are replaced outright;
 * _FusedMatMul with a bias, ResizeBilinearGrad with half-pixel centres and OneHot with a float dtype get our route
 * where WASM's is wrong. Conv2DBackpropFilter (missing), Conv2DBackpropInput and AvgPoolGrad (slow plain loops) get
 * faster routes. test/backend/kernels.test.ts checks every kernel our passes use against the CPU backend;
 * docs/kernels.md lists them all.
 */
import * as tf from '@tensorflow/tfjs';
import { firstMaxPositions, maxPoolGradient, PoolGeometry } from './max-pool';
import { resizeBilinearGradient } from './resize-bilinear';

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };

let registered = false;

export function registerMissingWasmKernels(): string[] {
  if (registered) return [];
  registered = true;
  const wasmNames = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  const added: string[] = [];
  if (!wasmNames.has('Conv2DBackpropFilter')) {
    const fallback = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) =>
        conv2dBackpropFilterOnWasm(inputs as Record<string, TensorInfo>, backend as unknown as tf.KernelBackend, attrs as unknown as FilterAttrs) ??
        delegateToCpu(fallback, inputs as Record<string, TensorInfo>, backend as unknown as tf.KernelBackend, attrs),
    });
    wasmNames.add('Conv2DBackpropFilter');
    added.push('Conv2DBackpropFilter');
  }
  // WASM's own Conv2DBackpropInput is a plain loop, ~10x slower than its XNNPACK convolution.
  withFastPath('Conv2DBackpropInput', (inputs, wasm, attrs) => conv2dBackpropInputOnWasm(inputs, wasm, attrs as InputAttrs));
  // WASM's AvgPoolGrad is a plain loop over every window: 8.7 ms for the gradient of MobileNetV2's 7x7 global
  // pooling over 5 classes, more than the rest of the head's backward pass together.
  withFastPath('AvgPoolGrad', (inputs, wasm, attrs) => avgPoolGradOnWasm(inputs, wasm, attrs as PoolAttrs));
  // WASM's own MaxPoolGrad and MaxPoolWithArgmax are wrong for windows whose maximum is <= 0 (see max-pool.ts):
  // replaced outright, by a loop over WASM's memory (float32) or the CPU kernel (other types).
  replaceKernel('MaxPoolGrad', (inputs, wasm, attrs) => maxPoolGradOnWasm(inputs, wasm, attrs as PoolAttrs));
  replaceKernel('MaxPoolWithArgmax', (inputs, wasm, attrs) => maxPoolWithArgmaxOnWasm(inputs, wasm, attrs as PoolAttrs & { includeBatchInIndex: boolean }));
  // WASM's _FusedMatMul adds the bias wrongly unless the product is one plain [m, k] x [k, n] (no transposed operand,
  // batch 1): a graph model's MatMul with transpose_b (PyTorch's Linear through ONNX) gave wrong logits. There, the
  // product, the bias and the activation as three WASM kernels, as the CPU kernel computes them.
  withFastPath('_FusedMatMul', (inputs, wasm, attrs) => fusedMatMulOnWasm(inputs, wasm, attrs as FusedMatMulAttrs));
  // WASM's ResizeBilinearGrad ignores halfPixelCenters (so does the CPU's; see resize-bilinear.ts): ours there.
  withFastPath('ResizeBilinearGrad', (inputs, wasm, attrs) => resizeBilinearGradOnWasm(inputs, wasm, attrs as { alignCorners: boolean; halfPixelCenters: boolean }));
  // WASM's OneHot writes int32 values whatever dtype is asked for (1 reads as 1.4e-45 in float32): other dtypes on CPU.
  const oneHotOnCpu = tf.getKernel('OneHot', 'cpu');
  if (oneHotOnCpu) withFastPath('OneHot', (inputs, wasm, attrs) => ((attrs as { dtype?: string }).dtype === 'int32' ? null : (delegateToCpu(oneHotOnCpu, inputs, wasm, attrs) as TensorInfo)));
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

/** Puts `fast` in front of WASM's own kernel `name`; the native kernel runs where `fast` returns null. */
function withFastPath(name: string, fast: (inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: unknown) => TensorInfo | null): void {
  const native = tf.getKernel(name, 'wasm');
  if (!native) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: (args) => fast(args.inputs as Record<string, TensorInfo>, args.backend as unknown as tf.KernelBackend, args.attrs) ?? (native.kernelFunc(args) as TensorInfo),
  });
}

/** Replaces WASM's kernel `name` by `ours`; the CPU kernel runs where `ours` returns null. */
function replaceKernel(name: string, ours: (inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: unknown) => TensorInfo | TensorInfo[] | null): void {
  const cpuKernel = tf.getKernel(name, 'cpu');
  if (!cpuKernel) return;
  if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as tf.KernelBackend;
      const ins = inputs as Record<string, TensorInfo>;
      return ours(ins, wasm, attrs) ?? delegateToCpu(cpuKernel, ins, wasm, attrs);
    },
  });
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

interface FilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * The filter gradient of a convolution is itself a convolution, which WASM runs natively (XNNPACK):
 *   dW[kh, kw, ci, co] = sum_{n, oh, ow} xpad[n, oh*s + kh, ow*s + kw, ci] * dy[n, oh, ow, co]
 * Take ci as the batch and n as the channels: conv(x^T [ci, H, W, n], dy^T [OH, OW, n, co]) with the
 * original stride as dilation gives [ci, >=KH, >=KW, co]; slice and transpose to [KH, KW, ci, co].
 * About 100x faster than the pure-JS kernel; it makes training the project's own models practical.
 * Returns null for layouts it does not handle (NCHW), which then go to the CPU stand-in.
 */
function conv2dBackpropFilterOnWasm(inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: FilterAttrs): TensorInfo | null {
  if (attrs.dataFormat === 'NCHW') return null;
  const { x, dy } = inputs;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const run = runner(wasm);
  const temps: TensorInfo[] = [];
  try {
    const xt = run('Transpose', { x }, { perm: [3, 1, 2, 0] });
    temps.push(xt);
    const dyt = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    temps.push(dyt);
    const p = info.padInfo;
    const conv = run('Conv2D', { x: xt, filter: dyt }, {
      strides: [1, 1],
      pad: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]],
      dilations: [info.strideHeight, info.strideWidth],
      dataFormat: 'NHWC',
    });
    temps.push(conv);
    const [kh, kw, ci, co] = attrs.filterShape;
    let sliced = conv;
    if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
      sliced = run('Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
      temps.push(sliced);
    }
    return run('Transpose', { x: sliced }, { perm: [1, 2, 0, 3] });
  } finally {
    for (const t of temps) wasm.disposeData(t.dataId);
  }
}

function runner(wasm: tf.KernelBackend) {
  return (name: string, ins: Record<string, TensorInfo>, a: object): TensorInfo =>
    tf.getKernel(name, 'wasm')!.kernelFunc({ inputs: ins as never, backend: wasm, attrs: a as never }) as TensorInfo;
}

interface InputAttrs {
  strides: [number, number] | number;
  pad: FilterAttrs['pad'];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * For stride 1 the input gradient is a plain convolution of dy with the filter flipped in space and with its
 * channel axes swapped, padded so the output has the input's size:
 *   dx[i] = sum_k dy[i + top - k] W[k]  =  conv(dy padded by (K - 1 - top), flip(W)^T)
 * Returns null (native kernel) for strides above 1 or NCHW.
 */
function conv2dBackpropInputOnWasm(inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: InputAttrs): TensorInfo | null {
  if (attrs.dataFormat === 'NCHW') return null;
  const { dy, filter } = inputs;
  const [kh, kw] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  const [, h, w] = attrs.inputShape;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = h - info.outHeight - top + kh - 1;
  const right = w - info.outWidth - left + kw - 1;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  const run = runner(wasm);
  const temps: TensorInfo[] = [];
  try {
    const flipped = run('Reverse', { x: filter }, { dims: [0, 1] });
    temps.push(flipped);
    const swapped = run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    temps.push(swapped);
    return run('Conv2D', { x: dy, filter: swapped }, { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dilations: [1, 1], dataFormat: 'NHWC' });
  } finally {
    for (const t of temps) wasm.disposeData(t.dataId);
  }
}

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Average pooling over windows that do not overlap and need no padding (stride = window, or one window along an
 * axis: the global pooling of a classifier's head among them): each input position gets its window's gradient
 * over the window's area,
 *   dx[y, x] = dy[floor(y / kh), floor(x / kw)] / (kh kw),  0 for rows and columns no window covers.
 * As a nearest-neighbour resize, a scale and a zero pad. Returns null (native kernel) otherwise.
 */
function avgPoolGradOnWasm(inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: PoolAttrs): TensorInfo | null {
  const { dy, input } = inputs;
  if (input.shape.length !== 4 || dy.dtype !== 'float32') return null;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight, strideWidth, outHeight, outWidth, inHeight, inWidth, padInfo } = info;
  // A single window along an axis cannot overlap another whatever the stride (converted TF graphs write global
  // pooling as a 7x7 window with stride 1).
  const tiles = (stride: number, k: number, out: number) => stride === k || out === 1;
  if (!tiles(strideHeight, kh, outHeight) || !tiles(strideWidth, kw, outWidth) || padInfo.top || padInfo.left || padInfo.bottom || padInfo.right) return null;
  if (outHeight * kh > inHeight || outWidth * kw > inWidth) return null;
  const run = runner(wasm);
  const temps: TensorInfo[] = [];
  try {
    const area = run('Fill', {}, { shape: [], value: 1 / (kh * kw), dtype: 'float32' });
    temps.push(area);
    const scaled = run('Multiply', { a: dy, b: area }, {});
    temps.push(scaled);
    const spread = run('ResizeNearestNeighbor', { images: scaled }, { size: [outHeight * kh, outWidth * kw], alignCorners: false, halfPixelCenters: false });
    const bottom = inHeight - outHeight * kh;
    const right = inWidth - outWidth * kw;
    if (!bottom && !right) return spread;
    temps.push(spread);
    return run('PadV2', { x: spread }, { paddings: [[0, 0], [0, bottom], [0, right], [0, 0]], constantValue: 0 });
  } finally {
    for (const t of temps) wasm.disposeData(t.dataId);
  }
}

/** What kernels of the WASM backend can do with its heap: allocate an output, view a tensor's memory in place. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function heapOf(wasm: tf.KernelBackend): WasmHeap | null {
  const w = wasm as unknown as Partial<WasmHeap>;
  return typeof w.makeOutput === 'function' && typeof w.typedArrayFromHeap === 'function' ? (w as WasmHeap) : null;
}

function poolGeometry(shape: number[], attrs: PoolAttrs): PoolGeometry {
  const i = tf.backend_util.computePool2DInfo(shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  return {
    batchSize: i.batchSize, inHeight: i.inHeight, inWidth: i.inWidth, inChannels: i.inChannels, outHeight: i.outHeight, outWidth: i.outWidth,
    filterHeight: i.filterHeight, filterWidth: i.filterWidth, strideHeight: i.strideHeight, strideWidth: i.strideWidth, padTop: i.padInfo.top, padLeft: i.padInfo.left,
  };
}

/** MaxPoolGrad by first-maximum positions (max-pool.ts), read from and written to WASM's heap in place. */
function maxPoolGradOnWasm(inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: PoolAttrs): TensorInfo | null {
  const { dy, input } = inputs;
  const heap = heapOf(wasm);
  if (!heap || input.shape.length !== 4 || input.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const g = poolGeometry(input.shape, attrs);
  const positions = firstMaxPositions(heap.typedArrayFromHeap(input) as Float32Array, g);
  const out = heap.makeOutput(input.shape, 'float32');
  // Views only after the allocation: it may grow WASM's memory, which detaches earlier views.
  const dx = heap.typedArrayFromHeap(out) as Float32Array;
  maxPoolGradient(positions, heap.typedArrayFromHeap(dy) as Float32Array, dx, g.strideHeight < g.filterHeight || g.strideWidth < g.filterWidth);
  return out;
}

/** MaxPoolWithArgmax: the first maximum and its flat index ([y, x, c], or [b, y, x, c] with includeBatchInIndex), as on CPU. */
function maxPoolWithArgmaxOnWasm(inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: PoolAttrs & { includeBatchInIndex: boolean }): TensorInfo[] | null {
  const { x } = inputs;
  const heap = heapOf(wasm);
  if (!heap || x.shape.length !== 4 || x.dtype !== 'float32') return null;
  const g = poolGeometry(x.shape, attrs);
  const positions = firstMaxPositions(heap.typedArrayFromHeap(x) as Float32Array, g);
  const shape = [g.batchSize, g.outHeight, g.outWidth, g.inChannels];
  const result = heap.makeOutput(shape, 'float32');
  const indexes = heap.makeOutput(shape, 'int32');
  const xv = heap.typedArrayFromHeap(x) as Float32Array;
  const values = heap.typedArrayFromHeap(result) as Float32Array;
  const index = heap.typedArrayFromHeap(indexes) as Int32Array;
  const perImage = g.inHeight * g.inWidth * g.inChannels;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    values[i] = p >= 0 ? xv[p] : -Infinity;
    index[i] = p < 0 || attrs.includeBatchInIndex ? p : p % perImage;
  }
  return [result, indexes];
}

interface FusedMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation: 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'prelu';
  leakyreluAlpha?: number;
}

/** _FusedMatMul where WASM's own is wrong (a bias with a transposed operand or a batch): BatchMatMul, Add, activation. */
function fusedMatMulOnWasm(inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: FusedMatMulAttrs): TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = inputs;
  if (bias == null || (!attrs.transposeA && !attrs.transposeB && Math.max(a.shape[0], b.shape[0]) === 1)) return null;
  const run = runner(wasm);
  const temps: TensorInfo[] = [];
  try {
    const product = run('BatchMatMul', { a, b }, { transposeA: attrs.transposeA, transposeB: attrs.transposeB });
    temps.push(product);
    const biased = run('Add', { a: product, b: bias }, {});
    switch (attrs.activation ?? 'linear') {
      case 'linear': return biased;
      case 'relu': temps.push(biased); return run('Relu', { x: biased }, {});
      case 'relu6': temps.push(biased); return run('Relu6', { x: biased }, {});
      case 'elu': temps.push(biased); return run('Elu', { x: biased }, {});
      case 'sigmoid': temps.push(biased); return run('Sigmoid', { x: biased }, {});
      case 'leakyrelu': temps.push(biased); return run('LeakyRelu', { x: biased }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
      case 'prelu': temps.push(biased); return run('Prelu', { x: biased, alpha: preluActivationWeights }, {});
      default: temps.push(biased); throw new Error(`_FusedMatMul: unknown activation '${String(attrs.activation)}'`);
    }
  } finally {
    for (const t of temps) wasm.disposeData(t.dataId);
  }
}

/** ResizeBilinearGrad with half-pixel centres (resize-bilinear.ts); the native kernel is right without them. */
function resizeBilinearGradOnWasm(inputs: Record<string, TensorInfo>, wasm: tf.KernelBackend, attrs: { alignCorners: boolean; halfPixelCenters: boolean }): TensorInfo | null {
  const { images, dy } = inputs;
  const heap = heapOf(wasm);
  if (!attrs.halfPixelCenters || !heap || images.shape.length !== 4 || dy.dtype !== 'float32') return null;
  const [batch, inHeight, inWidth, channels] = images.shape;
  const dx = resizeBilinearGradient(heap.typedArrayFromHeap(dy) as Float32Array, { batch, inHeight, inWidth, channels, outHeight: dy.shape[1], outWidth: dy.shape[2] }, attrs.alignCorners, true);
  const out = heap.makeOutput(images.shape, 'float32');
  (heap.typedArrayFromHeap(out) as Float32Array).set(dx);
  return out;
}
