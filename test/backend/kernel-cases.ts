// The differential cases of test/backend/kernels.test.ts: for every kernel tfjs-cam runs (kernels-in-use.json, derived
// from the models), the kernels a model we have not seen yet may run in the same places (the activation functions,
// resize, the fused ops' other activations), and the kernels their gradients run, inputs and attributes that
// exercise the corners: windows that are all negative, all zero or tied, odd sizes, stride larger than the window,
// 'same' padding with uneven pads and explicit pads, batch > 1, channel counts that are not multiples of 4,
// large magnitudes. Values are seeded; each input is named as the kernel names it.
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../src/util/random';

/**
 * How input values are drawn. 'mixed' is the adversarial default: along axis 1 (rows of an image, or of a matrix),
 * bands of rows that are all negative, all zero, tied (multiples of 0.5), large (|x| up to ~1e4) and plain normal.
 */
export type Kind = 'mixed' | 'normal' | 'positive' | 'grid' | 'large' | 'unit';

export interface Spec {
  shape: number[];
  dtype?: 'float32' | 'int32' | 'bool';
  kind?: Kind;
  /** Fixed values (indices, conditions), instead of drawn ones. */
  values?: number[];
}

/**
 * Maximum error allowed, per element: |wasm - cpu| <= rel * |cpu| + abs * scale, where scale is the largest |cpu| of
 * that output (infinities and NaN must match exactly). 'exact': bit for bit (NaN = NaN).
 */
export type Tolerance = 'exact' | { rel: number; abs: number };

export interface Case {
  label: string;
  inputs: Record<string, Spec> | Spec[];
  attrs?: Record<string, unknown>;
  /**
   * Inputs computed from the others on the CPU backend before the comparison (the forward output a gradient
   * kernel takes), so both backends get the same values.
   */
  derive?: Record<string, (inputs: Record<string, tf.Tensor>) => tf.Tensor>;
  /**
   * The function whose vector-Jacobian product is compared (default: the kernel itself, where tfjs has a gradient
   * for it): the fused ops have no gradient of their own, the op's customGrad is what runs under tf.grad.
   */
  op?: (inputs: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[];
  /** false: forward only (tfjs has no gradient for these attributes, e.g. dilations > 1). */
  grad?: boolean;
}

const f = (shape: number[], kind: Kind = 'mixed'): Spec => ({ shape, kind });
const i32 = (values: number[], shape = [values.length]): Spec => ({ shape, dtype: 'int32', values });
const bool = (shape: number[]): Spec => ({ shape, dtype: 'bool', kind: 'normal' });

/** Draws a spec's values; `seed` makes every input of every case different and repeatable. */
export function valuesOf(spec: Spec, seed: number): Float32Array | Int32Array | Uint8Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.values) return spec.dtype === 'int32' ? Int32Array.from(spec.values) : spec.dtype === 'bool' ? Uint8Array.from(spec.values) : Float32Array.from(spec.values);
  const rnd = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  if (spec.dtype === 'bool') return Uint8Array.from({ length: n }, () => (rnd() < 0.5 ? 1 : 0));
  if (spec.dtype === 'int32') return Int32Array.from({ length: n }, () => Math.floor(rnd() * 10));
  const out = new Float32Array(n);
  // Rows: axis 1 of a tensor of rank >= 3 (image rows), else axis 0.
  const rowAxis = spec.shape.length >= 3 ? 1 : 0;
  const inner = spec.shape.slice(rowAxis + 1).reduce((a, b) => a * b, 1);
  const rows = spec.shape[rowAxis] ?? 1;
  for (let i = 0; i < n; i++) {
    const v = normal();
    const row = Math.floor(i / inner) % rows;
    switch (spec.kind ?? 'mixed') {
      case 'normal': out[i] = v; break;
      case 'unit': out[i] = 0.25 * v; break;
      case 'positive': out[i] = 0.05 + Math.abs(v); break;
      case 'grid': out[i] = Math.round(v * 6) / 2; break; // multiples of 0.5 in about [-9, 9]: 0 and 6 exactly, many ties
      case 'large': out[i] = v * 3000; break;
      case 'mixed':
        switch (row % 5) {
          case 0: out[i] = -0.05 - Math.abs(v); break; // all negative
          case 1: out[i] = 0; break;
          case 2: out[i] = Math.round(v * 2) / 2; break; // ties
          case 3: out[i] = v * 3000; break; // large
          default: out[i] = v;
        }
    }
  }
  return out;
}

const pool = (filterSize: number | [number, number], strides: number | [number, number], pad: 'valid' | 'same' | number) => ({ filterSize, strides, pad, dimRoundingMode: pad === 'valid' || pad === 'same' ? undefined : 'floor' });
const conv = (strides: number, pad: unknown, dilations = 1) => ({ strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined });
const EXPLICIT = [[0, 0], [1, 2], [0, 1], [0, 0]];

/** The pooling geometries every pool kernel is tried on. */
const POOLS: { label: string; x: number[]; attrs: ReturnType<typeof pool> }[] = [
  { label: '2x2 stride 2 valid, 8x8x5, batch 2', x: [2, 8, 8, 5], attrs: pool(2, 2, 'valid') },
  { label: '3x3 stride 2 same (uneven pads), 8x7x3', x: [1, 8, 7, 3], attrs: pool(3, 2, 'same') },
  { label: '3x3 stride 1 same (overlapping), 7x9x6', x: [2, 7, 9, 6], attrs: pool(3, 1, 'same') },
  { label: '2x2 stride 3 valid (stride > window), 11x10x3', x: [1, 11, 10, 3], attrs: pool(2, 3, 'valid') },
  { label: '4x4 stride 4 valid, 9x9x7 (a row and column left over)', x: [1, 9, 9, 7], attrs: pool(4, 4, 'valid') },
  { label: '[2,3] stride [1,2] valid, 6x9x2', x: [2, 6, 9, 2], attrs: pool([2, 3], [1, 2], 'valid') },
  { label: 'global 7x7 stride 1, 7x7x9', x: [2, 7, 7, 9], attrs: pool(7, 1, 'valid') },
  { label: '3x3 stride 2 pad 1 (explicit), 9x8x5', x: [1, 9, 8, 5], attrs: pool(3, 2, 1) },
];

/** The convolution geometries: [x shape, filter size, stride, pad, dilation]. */
const CONVS: { label: string; x: number[]; k: number; stride: number; pad: unknown; dilation?: number }[] = [
  { label: '3x3 stride 1 same, batch 2, 9x7x3', x: [2, 9, 7, 3], k: 3, stride: 1, pad: 'same' },
  { label: '3x3 stride 2 same (uneven pads), 8x7x5', x: [1, 8, 7, 5], k: 3, stride: 2, pad: 'same' },
  { label: '3x3 stride 2 valid, 9x9x3', x: [2, 9, 9, 3], k: 3, stride: 2, pad: 'valid' },
  { label: '1x1 stride 3 (stride > window), 10x8x7', x: [1, 10, 8, 7], k: 1, stride: 3, pad: 'valid' },
  { label: '3x3 stride 1 explicit pads [1,2],[0,1], 7x6x3', x: [2, 7, 6, 3], k: 3, stride: 1, pad: EXPLICIT },
  { label: '2x2 stride 2 same, 7x9x6', x: [1, 7, 9, 6], k: 2, stride: 2, pad: 'same' },
];

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;

const unary = (extra: Case[] = [], attrs?: Record<string, unknown>): Case[] => [
  { label: 'mixed 2x7x9x5', inputs: { x: f([2, 7, 9, 5]) }, attrs },
  { label: 'grid values (0 and 6 exactly, ties) 3x11', inputs: { x: f([3, 11], 'grid') }, attrs },
  { label: 'large magnitudes 4x6', inputs: { x: f([4, 6], 'large') }, attrs },
  ...extra,
];

const binary = (kind: Kind = 'mixed'): Case[] => [
  { label: 'same shape 2x7x9x5', inputs: { a: f([2, 7, 9, 5], kind), b: f([2, 7, 9, 5], kind) } },
  { label: 'broadcast channels [5]', inputs: { a: f([2, 7, 9, 5], kind), b: f([5], kind === 'mixed' ? 'normal' : kind) } },
  { label: 'broadcast rows [1,7,1,1] against [2,7,9,3]', inputs: { a: f([1, 7, 1, 1], kind === 'mixed' ? 'normal' : kind), b: f([2, 7, 9, 3], kind) } },
  { label: 'grid values (ties, zeros) 3x11', inputs: { a: f([3, 11], 'grid'), b: f([3, 11], 'grid') } },
  { label: 'scalar and matrix', inputs: { a: f([], 'normal'), b: f([4, 6], kind) } },
];

const compare = (): Case[] => [
  { label: 'grid values, many equal', inputs: { a: f([2, 7, 9, 5], 'grid'), b: f([2, 7, 9, 5], 'grid') } },
  { label: 'broadcast [5]', inputs: { a: f([2, 7, 9, 5], 'mixed'), b: f([5], 'grid') } },
];

const reduction = (): Case[] => [
  { label: 'axes [1,2] (global pooling), 2x7x9x5', inputs: { x: f([2, 7, 9, 5]) }, attrs: { axis: [1, 2], keepDims: false } },
  { label: 'axis 3 keepDims, 2x7x9x5', inputs: { x: f([2, 7, 9, 5]) }, attrs: { axis: [3], keepDims: true } },
  { label: 'axes [1,2,3], 3x5x6x7', inputs: { x: f([3, 5, 6, 7]) }, attrs: { axis: [1, 2, 3], keepDims: true } },
  { label: 'all-negative rows, axis 1, 5x9', inputs: { x: f([5, 9], 'mixed') }, attrs: { axis: [1], keepDims: false } },
  { label: 'grid values (ties), axis 0, 6x7', inputs: { x: f([6, 7], 'grid') }, attrs: { axis: [0], keepDims: false } },
  { label: 'large magnitudes, all axes, 4x6', inputs: { x: f([4, 6], 'large') }, attrs: { axis: [0, 1], keepDims: false } },
];

const resize = (kernel: 'ResizeBilinear' | 'ResizeNearestNeighbor'): Case[] =>
  [
    { label: 'up 5x7 -> 12x9, corners aligned', x: [2, 5, 7, 3], size: [12, 9], alignCorners: true, halfPixelCenters: false },
    { label: 'up 5x7 -> 12x9', x: [1, 5, 7, 5], size: [12, 9], alignCorners: false, halfPixelCenters: false },
    { label: 'up 4x4 -> 16x16, half-pixel centres', x: [1, 4, 4, 6], size: [16, 16], alignCorners: false, halfPixelCenters: true },
    { label: 'down 9x7 -> 4x3', x: [2, 9, 7, 3], size: [4, 3], alignCorners: false, halfPixelCenters: kernel === 'ResizeBilinear' },
    { label: 'down 9x7 -> 4x3, corners aligned', x: [1, 9, 7, 2], size: [4, 3], alignCorners: true, halfPixelCenters: false },
  ].map((c) => ({ label: c.label, inputs: { images: f(c.x) }, attrs: { size: c.size, alignCorners: c.alignCorners, halfPixelCenters: c.halfPixelCenters } }));

const resizeGrad = (forward: 'ResizeBilinear' | 'ResizeNearestNeighbor'): Case[] =>
  resize(forward).map((c) => {
    const [b, , , ch] = (c.inputs as Record<string, Spec>).images.shape;
    const [h, w] = c.attrs!.size as number[];
    return { ...c, inputs: { images: (c.inputs as Record<string, Spec>).images, dy: f([b, h, w, ch], 'normal') }, attrs: { alignCorners: c.attrs!.alignCorners, halfPixelCenters: c.attrs!.halfPixelCenters } };
  });

/** FusedConv2D / FusedDepthwiseConv2D with one activation: the kernel forward, the op's customGrad backward. */
function fusedConv(depthwise: boolean): Case[] {
  return ACTIVATIONS.flatMap((activation, i) => {
    const g = CONVS[i % CONVS.length];
    const ch = g.x[3];
    const out = depthwise ? ch : 6;
    const inputs: Record<string, Spec> = { x: f(g.x), filter: f([g.k, g.k, ch, depthwise ? 1 : out], 'unit'), bias: f([out], 'normal') };
    if (activation === 'prelu') inputs.preluActivationWeights = f([out], 'unit');
    const attrs = { ...conv(g.stride, g.pad), activation, leakyreluAlpha: activation === 'leakyrelu' ? 0.2 : undefined };
    const op = (t: Record<string, tf.Tensor>) => {
      const args = { x: t.x as tf.Tensor4D, filter: t.filter as tf.Tensor4D, bias: t.bias, strides: g.stride, pad: g.pad as 'same', activation, preluActivationWeights: t.preluActivationWeights, leakyreluAlpha: attrs.leakyreluAlpha };
      return depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
    };
    return [{ label: `${activation}, ${g.label}`, inputs, attrs, op }];
  });
}

function fusedMatMul(): Case[] {
  return ACTIVATIONS.map((activation, i) => {
    const transposeB = i % 2 === 1;
    const inputs: Record<string, Spec> = { a: f([1, 3, 11], i % 3 === 0 ? 'mixed' : 'normal'), b: f(transposeB ? [1, 7, 11] : [1, 11, 7], 'unit'), bias: f([7], 'normal') };
    if (activation === 'prelu') inputs.preluActivationWeights = f([7], 'unit');
    const attrs = { transposeA: false, transposeB, activation, leakyreluAlpha: activation === 'leakyrelu' ? 0.2 : undefined };
    const op = (t: Record<string, tf.Tensor>) =>
      tf.fused.matMul({ a: tf.reshape(t.a, [3, 11]) as tf.Tensor2D, b: tf.reshape(t.b, transposeB ? [7, 11] : [11, 7]) as tf.Tensor2D, transposeB, bias: t.bias, activation, preluActivationWeights: t.preluActivationWeights, leakyreluAlpha: attrs.leakyreluAlpha });
    return { label: `${activation}${transposeB ? ', b transposed' : ''}`, inputs, attrs, op };
  }).concat([
    {
      label: 'relu, batch 2 (a batched product)',
      inputs: { a: f([2, 3, 11]), b: f([2, 11, 7], 'unit'), bias: f([7], 'normal') },
      attrs: { transposeA: false, transposeB: false, activation: 'relu', leakyreluAlpha: undefined },
      op: (t) => tf.fused.matMul({ a: t.a as tf.Tensor3D, b: t.b as tf.Tensor3D, bias: t.bias, activation: 'relu' }),
    },
  ]);
}

const depthwiseFilter = (g: (typeof CONVS)[number], mult: number) => f([g.k, g.k, g.x[3], mult], 'unit');
const outSize = (x: number[], k: number, stride: number, pad: unknown, filterOut: number) => tf.backend_util.computeConv2DInfo(x as [number, number, number, number], [k, k, x[3], filterOut], stride, 1, pad as 'same').outShape;

export const CASES: Record<string, Case[]> = {
  // Element-wise, one input.
  Abs: unary(),
  Neg: unary(),
  Relu: unary(),
  Relu6: unary(),
  Step: unary([], { alpha: 0 }),
  Square: unary(),
  Rsqrt: [{ label: 'positive 2x7x9x5', inputs: { x: f([2, 7, 9, 5], 'positive') } }, { label: 'large positive', inputs: { x: { shape: [4, 6], values: [1e-8, 1e-4, 0.5, 1, 2, 1e4, 3e7, 1e-3, 7, 8, 9, 10, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.3] } } }],
  // One correctly rounded IEEE operation: exact. No zero among the values: the gradient divides by sqrt(x).
  Sqrt: [{ label: 'positive 2x7x9x5', inputs: { x: f([2, 7, 9, 5], 'positive') } }, { label: 'tiny and huge', inputs: { x: { shape: [6], values: [1e-30, 1e-7, 0.25, 2, 1e7, 1e30] } } }],
  Sigmoid: unary(),
  Tanh: unary(),
  Elu: unary(),
  Selu: unary(),
  Softplus: unary(),
  Exp: [{ label: 'normal 2x7x9x5', inputs: { x: f([2, 7, 9, 5], 'normal') } }, { label: 'grid 3x11', inputs: { x: f([3, 11], 'grid') } }, { label: 'over- and underflow', inputs: { x: { shape: [6], values: [-120, -88, -10, 10, 88, 120] } } }],
  Log: [{ label: 'positive 2x7x9x5', inputs: { x: f([2, 7, 9, 5], 'positive') } }, { label: 'tiny and huge', inputs: { x: { shape: [5], values: [1e-30, 1e-7, 1, 1e7, 1e30] } } }],
  LeakyRelu: unary([], { alpha: 0.2 }),
  Prelu: [
    { label: 'alpha per channel, 2x7x9x5', inputs: { x: f([2, 7, 9, 5]), alpha: f([5], 'unit') } },
    { label: 'alpha [1,1,3], grid values', inputs: { x: f([2, 4, 6, 3], 'grid'), alpha: f([1, 1, 3], 'unit') } },
  ],
  ClipByValue: unary([], { clipValueMin: 0, clipValueMax: 6 }),
  Identity: unary(),
  OnesLike: unary(),
  ZerosLike: unary(),
  Cast: [
    { label: 'float to int32 (truncation, negatives, large)', inputs: { x: f([2, 7, 9, 5]) }, attrs: { dtype: 'int32' } },
    { label: 'bool to float', inputs: { x: bool([3, 11]) }, attrs: { dtype: 'float32' } },
    { label: 'int32 to float', inputs: { x: i32([0, -3, 7, 16777216, -16777215]) }, attrs: { dtype: 'float32' } },
    { label: 'float to float', inputs: { x: f([3, 11], 'grid') }, attrs: { dtype: 'float32' } },
  ],
  Softmax: [
    // dim: the last axis, as tf.softmax passes it (the kernels take no -1).
    { label: '3x11 logits', inputs: { logits: f([3, 11], 'normal') }, attrs: { dim: 1 } },
    { label: 'large logits (overflow if not shifted), ties', inputs: { logits: f([4, 6], 'large') }, attrs: { dim: 1 } },
    { label: 'one class per row', inputs: { logits: f([5, 1], 'normal') }, attrs: { dim: 1 } },
  ],
  // Element-wise, two inputs (with broadcasting).
  Add: binary(),
  Sub: binary(),
  Multiply: binary(),
  RealDiv: [...binary('positive'), { label: 'division by zero and signed zeros', inputs: { a: { shape: [6], values: [1, -1, 0, 0, 3, -0] }, b: { shape: [6], values: [0, 0, 0, -2, -0, 5] } } }],
  // tfjs-core's gradient of Maximum and Minimum does not sum over broadcast axes (on every backend): forward only there.
  Pow: [
    { label: 'positive base, grid exponents', inputs: { a: f([2, 7, 9, 5], 'positive'), b: f([2, 7, 9, 5], 'grid') } },
    { label: 'base 2x7x9x5, exponent -1.5 (as in rsqrt\'s gradient)', inputs: { a: f([2, 7, 9, 5], 'positive'), b: { shape: [], values: [-1.5] } } },
  ],
  Maximum: binary().map((c, i) => (i === 0 || i === 3 ? c : { ...c, grad: false })),
  Minimum: binary().map((c, i) => (i === 0 || i === 3 ? c : { ...c, grad: false })),
  Greater: compare(),
  GreaterEqual: compare(),
  Less: compare(),
  LessEqual: compare(),
  Equal: compare(),
  NotEqual: compare(),
  LogicalNot: [{ label: 'bool 2x7x9x5', inputs: { x: bool([2, 7, 9, 5]) } }],
  AddN: [{ label: 'three 2x7x9x5', inputs: [f([2, 7, 9, 5]), f([2, 7, 9, 5], 'normal'), f([2, 7, 9, 5], 'grid')] }, { label: 'two scalars', inputs: [f([], 'normal'), f([], 'normal')] }],
  LogicalAnd: [{ label: 'bool 2x7x9x5', inputs: { a: bool([2, 7, 9, 5]), b: bool([2, 7, 9, 5]) } }, { label: 'broadcast', inputs: { a: bool([2, 7, 9, 5]), b: bool([5]) } }],
  Select: [
    { label: 'same shape', inputs: { condition: bool([2, 7, 9, 5]), t: f([2, 7, 9, 5]), e: f([2, 7, 9, 5], 'normal') } },
    { label: 'grid values', inputs: { condition: bool([3, 11]), t: f([3, 11], 'grid'), e: f([3, 11], 'grid') } },
  ],
  // Reductions.
  Sum: reduction(),
  Mean: reduction(),
  Max: reduction(),
  Min: reduction(),
  // Shapes and data movement.
  Reshape: [{ label: '2x7x9x5 -> 14x45', inputs: { x: f([2, 7, 9, 5]) }, attrs: { shape: [14, 45] } }, { label: 'to rank 5', inputs: { x: f([6, 35]) }, attrs: { shape: [2, 3, 5, 7, 1] } }],
  ExpandDims: [{ label: 'axis 0', inputs: { input: f([7, 9, 5]) }, attrs: { dim: 0 } }, { label: 'last axis', inputs: { input: f([2, 7, 9, 5]) }, attrs: { dim: 4 } }],
  Transpose: [
    { label: '[3,1,2,0]', inputs: { x: f([2, 7, 9, 5]) }, attrs: { perm: [3, 1, 2, 0] } },
    { label: '[0,3,1,2]', inputs: { x: f([2, 7, 9, 5]) }, attrs: { perm: [0, 3, 1, 2] } },
    { label: '2-D', inputs: { x: f([5, 9]) }, attrs: { perm: [1, 0] } },
  ],
  Reverse: [{ label: 'width (flip)', inputs: { x: f([2, 7, 9, 5]) }, attrs: { dims: [2] } }, { label: 'rows and columns', inputs: { x: f([1, 7, 9, 3]) }, attrs: { dims: [1, 2] } }],
  Slice: [
    { label: 'inner block', inputs: { x: f([2, 7, 9, 5]) }, attrs: { begin: [1, 2, 3, 1], size: [1, 4, 5, 3] } },
    { label: 'rows of a matrix', inputs: { x: f([6, 11]) }, attrs: { begin: [2, 0], size: [3, -1] } },
  ],
  StridedSlice: [{ label: 'stride 2 rows, stride 3 columns', inputs: { x: f([2, 9, 10, 3]) }, attrs: { begin: [0, 1, 0, 0], end: [2, 9, 10, 3], strides: [1, 2, 3, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 } }],
  Concat: [
    { label: 'batch axis, three parts', inputs: [f([1, 7, 9, 5]), f([2, 7, 9, 5]), f([1, 7, 9, 5])], attrs: { axis: 0 } },
    { label: 'channel axis, 3 + 5', inputs: [f([2, 7, 9, 3]), f([2, 7, 9, 5])], attrs: { axis: 3 } },
    { label: 'rows of matrices', inputs: [f([2, 11]), f([3, 11])], attrs: { axis: 0 } },
  ],
  Pack: [{ label: 'three 7x9x5 on axis 0', inputs: [f([7, 9, 5]), f([7, 9, 5]), f([7, 9, 5])], attrs: { axis: 0 } }, { label: 'two on the last axis', inputs: [f([4, 6]), f([4, 6])], attrs: { axis: 2 } }],
  Unpack: [{ label: 'axis 0 of 3x7x9', inputs: { value: f([3, 7, 9]) }, attrs: { axis: 0 } }, { label: 'axis 1 of 4x3x5', inputs: { value: f([4, 3, 5]) }, attrs: { axis: 1 } }],
  SplitV: [{ label: '[2,3] along axis 1', inputs: { x: f([4, 5, 3]) }, attrs: { numOrSizeSplits: [2, 3], axis: 1 } }, { label: 'two halves of the batch', inputs: { x: f([4, 7, 9, 5]) }, attrs: { numOrSizeSplits: [2, 2], axis: 0 } }],
  PadV2: [
    { label: 'uneven spatial pads', inputs: { x: f([2, 7, 9, 5]) }, attrs: { paddings: [[0, 0], [0, 1], [2, 1], [0, 0]], constantValue: 0 } },
    { label: 'channel pad, constant -1.5', inputs: { x: f([1, 5, 6, 3]) }, attrs: { paddings: [[0, 0], [1, 1], [0, 0], [0, 2]], constantValue: -1.5 } },
  ],
  Tile: [{ label: 'batch x3', inputs: { x: f([1, 7, 9, 5]) }, attrs: { reps: [3, 1, 1, 1] } }, { label: 'matrix [2,3]', inputs: { x: f([3, 4]) }, attrs: { reps: [2, 3] } }],
  Fill: [{ label: 'scalar', inputs: {}, attrs: { shape: [], value: 0.25, dtype: 'float32' } }, { label: '3x5 of -2', inputs: {}, attrs: { shape: [3, 5], value: -2, dtype: 'float32' } }],
  GatherV2: [
    { label: 'channels [3,0,4] (Score-CAM)', inputs: { x: f([1, 7, 9, 5]), indices: i32([3, 0, 4]) }, attrs: { axis: 3, batchDims: 0 } },
    { label: 'columns of a matrix, repeated index', inputs: { x: f([7, 11]), indices: i32([1, 1, 10, 0]) }, attrs: { axis: 1, batchDims: 0 } },
    { label: 'rows', inputs: { x: f([6, 5]), indices: i32([5, 2]) }, attrs: { axis: 0, batchDims: 0 } },
  ],
  UnsortedSegmentSum: [{ label: 'repeated and missing segments', inputs: { x: f([6, 5]), segmentIds: i32([0, 2, 2, 4, 0, 1]) }, attrs: { numSegments: 6 } }],
  OneHot: [
    { label: 'depth 7, int32 (Ablation-CAM)', inputs: { indices: i32([0, 6, 3, 3]) }, attrs: { depth: 7, onValue: 1, offValue: 0, dtype: 'int32' } },
    { label: 'depth 7, float32', inputs: { indices: i32([0, 6, 3, 3]) }, attrs: { depth: 7, onValue: 1, offValue: 0, dtype: 'float32' } },
    { label: '2-D indices, float32 on/off values', inputs: { indices: i32([1, 0, 4, 2], [2, 2]) }, attrs: { depth: 5, onValue: 2.5, offValue: -1, dtype: 'float32' } },
  ],
  // Matrix products and convolutions.
  BatchMatMul: [
    { label: '3x11 by 11x7', inputs: { a: f([1, 3, 11]), b: f([1, 11, 7], 'unit') }, attrs: { transposeA: false, transposeB: false } },
    { label: 'b transposed (CAM weights)', inputs: { a: f([1, 5, 9], 'normal'), b: f([1, 13, 9], 'unit') }, attrs: { transposeA: false, transposeB: true } },
    { label: 'batch 2, a transposed', inputs: { a: f([2, 6, 4]), b: f([2, 6, 5], 'unit') }, attrs: { transposeA: true, transposeB: false } },
  ],
  _FusedMatMul: fusedMatMul(),
  Conv2D: [
    ...CONVS.map((g) => ({ label: g.label, inputs: { x: f(g.x), filter: f([g.k, g.k, g.x[3], 6], 'unit') }, attrs: conv(g.stride, g.pad) })),
    { label: '3x3 dilation 2 same, 9x9x3 (forward: tfjs has no gradient for dilations)', inputs: { x: f([1, 9, 9, 3]), filter: f([3, 3, 3, 5], 'unit') }, attrs: conv(1, 'same', 2), grad: false },
  ],
  Conv2DBackpropInput: CONVS.map((g) => ({
    label: g.label,
    inputs: { dy: f(outSize(g.x, g.k, g.stride, g.pad, 6), 'normal'), filter: f([g.k, g.k, g.x[3], 6], 'unit') },
    attrs: { ...conv(g.stride, g.pad), inputShape: g.x },
  })),
  Conv2DBackpropFilter: CONVS.map((g) => ({
    label: g.label,
    inputs: { x: f(g.x), dy: f(outSize(g.x, g.k, g.stride, g.pad, 6), 'normal') },
    attrs: { ...conv(g.stride, g.pad), filterShape: [g.k, g.k, g.x[3], 6] },
  })),
  FusedConv2D: fusedConv(false),
  DepthwiseConv2dNative: [
    ...CONVS.map((g, i) => ({ label: `${g.label}, multiplier ${1 + (i % 2)}`, inputs: { x: f(g.x), filter: depthwiseFilter(g, 1 + (i % 2)) }, attrs: conv(g.stride, g.pad) })),
    { label: '3x3 dilation 2 same (forward only)', inputs: { x: f([1, 9, 9, 3]), filter: f([3, 3, 3, 1], 'unit') }, attrs: conv(1, 'same', 2), grad: false },
  ],
  DepthwiseConv2dNativeBackpropInput: CONVS.map((g, i) => ({
    label: `${g.label}, multiplier ${1 + (i % 2)}`,
    inputs: { dy: f(outSize(g.x, g.k, g.stride, g.pad, g.x[3] * (1 + (i % 2))), 'normal'), filter: depthwiseFilter(g, 1 + (i % 2)) },
    attrs: { ...conv(g.stride, g.pad), inputShape: g.x },
  })),
  DepthwiseConv2dNativeBackpropFilter: CONVS.map((g, i) => ({
    label: `${g.label}, multiplier ${1 + (i % 2)}`,
    inputs: { x: f(g.x), dy: f(outSize(g.x, g.k, g.stride, g.pad, g.x[3] * (1 + (i % 2))), 'normal') },
    attrs: { ...conv(g.stride, g.pad), filterShape: [g.k, g.k, g.x[3], 1 + (i % 2)] },
  })),
  FusedDepthwiseConv2D: fusedConv(true),
  FusedBatchNorm: [
    { label: '2x7x9x5, all statistics', inputs: { x: f([2, 7, 9, 5]), mean: f([5], 'normal'), variance: f([5], 'positive'), offset: f([5], 'normal'), scale: f([5], 'normal') }, attrs: { varianceEpsilon: 0.001 } },
    { label: '1x6x5x3, tiny variance', inputs: { x: f([1, 6, 5, 3], 'grid'), mean: f([3], 'normal'), variance: { shape: [3], values: [1e-6, 0, 2] }, offset: f([3], 'normal'), scale: f([3], 'normal') }, attrs: { varianceEpsilon: 1e-5 } },
  ],
  // Pooling.
  MaxPool: POOLS.map((p) => ({ label: p.label, inputs: { x: f(p.x) }, attrs: p.attrs })),
  MaxPoolGrad: POOLS.map((p) => ({
    label: p.label,
    inputs: { dy: f(tf.backend_util.computePool2DInfo(p.x as [number, number, number, number], p.attrs.filterSize, p.attrs.strides, 1, p.attrs.pad, p.attrs.dimRoundingMode as 'floor').outShape, 'normal'), input: f(p.x) },
    derive: { output: (t) => tf.maxPool(t.input as tf.Tensor4D, p.attrs.filterSize, p.attrs.strides, p.attrs.pad as 'same', p.attrs.dimRoundingMode as 'floor') },
    attrs: p.attrs,
  })),
  MaxPoolWithArgmax: POOLS.filter((p) => typeof p.attrs.pad === 'string').flatMap((p, i) => [{ label: p.label, inputs: { x: f(p.x) }, attrs: { ...p.attrs, includeBatchInIndex: i % 2 === 0 } }]),
  AvgPool: POOLS.map((p) => ({ label: p.label, inputs: { x: f(p.x) }, attrs: p.attrs })),
  AvgPoolGrad: POOLS.map((p) => ({
    label: p.label,
    inputs: { dy: f(tf.backend_util.computePool2DInfo(p.x as [number, number, number, number], p.attrs.filterSize, p.attrs.strides, 1, p.attrs.pad, p.attrs.dimRoundingMode as 'floor').outShape, 'normal'), input: f(p.x) },
    attrs: p.attrs,
  })),
  // Resizing.
  ResizeBilinear: resize('ResizeBilinear'),
  ResizeBilinearGrad: resizeGrad('ResizeBilinear'),
  ResizeNearestNeighbor: resize('ResizeNearestNeighbor'),
  ResizeNearestNeighborGrad: resizeGrad('ResizeNearestNeighbor'),
  EluGrad: [{ label: '2x7x9x5', inputs: { dy: f([2, 7, 9, 5], 'normal'), y: f([2, 7, 9, 5]) }, derive: { y: (t) => tf.elu(t.y) } }],
};

/**
 * Each kernel's tolerance (see Tolerance), from the arithmetic it does: exact where it moves, selects, compares or
 * does one IEEE operation per element; a few float32 ulps for transcendental functions (WASM and JS compute exp,
 * tanh... with different formulas); relative to the output's largest value for sums (convolutions, products,
 * reductions, interpolation), whose order of summation differs between XNNPACK and the CPU loops.
 */
export const TOLERANCE: Record<string, Tolerance> = {};
const SUMS = { rel: 1e-5, abs: 1e-5 };
const ULPS = { rel: 1e-6, abs: 1e-7 };
for (const k of Object.keys(CASES)) TOLERANCE[k] = 'exact';
for (const k of ['Sigmoid', 'Tanh', 'Elu', 'Selu', 'Softplus', 'Exp', 'Log', 'Rsqrt', 'Softmax', 'EluGrad', 'LeakyRelu', 'Pow']) TOLERANCE[k] = ULPS;
for (const k of ['Sum', 'Mean', 'BatchMatMul', '_FusedMatMul', 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'FusedConv2D', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'FusedDepthwiseConv2D', 'FusedBatchNorm', 'AvgPool', 'AvgPoolGrad', 'ResizeBilinear', 'ResizeBilinearGrad', 'ResizeNearestNeighborGrad', 'UnsortedSegmentSum', 'AddN']) TOLERANCE[k] = SUMS;

/**
 * Kernels whose CPU implementation is wrong in tfjs 4.22 for some of the cases: WASM is compared with the adjoint of
 * the forward resize instead (the exact transpose of the CPU's own forward kernel, summed in double precision).
 */
export const CPU_DEFECTS: Record<string, string> = {
  ResizeBilinearGrad: "tfjs-backend-cpu labels its output [batch, width, height, channels] (the values are in [batch, height, width, channels] order), so the gradient of a non-square image fails tfjs's shape check; and it ignores halfPixelCenters, as WASM's own did",
  ResizeNearestNeighborGrad: 'tfjs-backend-cpu reads the wrong rows of dy for batch > 1 (NaN or wrong sums from the second image on)',
};

/** Kernels the test cannot run on WASM, each with the reason (none today: the list must be empty or explained). */
export const NOT_RUNNABLE_ON_WASM: Record<string, string> = {};
