// The format-independent head rules (src/model/head.ts), on numbers worked out by hand.
import * as tf from '@tensorflow/tfjs';
import { camRule, HeadStep, isClassVector, presentLogits, probabilitiesOf, probabilitiesOfArray } from '../../src/model/head';
import { camHeadFromRule } from '../../src/model/classifier';

const lin = (at: string, rows: number, cols: number, values: number[]): HeadStep => ({ kind: 'linear', at, type: 'Dense', weights: Float32Array.from(values), rows, cols });

describe('camRule', () => {
  test('GAP then one Dense gives the Dense kernel', () => {
    const r = camRule('feat', [{ kind: 'gap', at: 'gap', type: 'GlobalAveragePooling2D' }, lin('fc', 2, 3, [1, 2, 3, 4, 5, 6])], 2, 3);
    expect(r.kind).toBe('weights');
    if (r.kind === 'weights') {
      expect(Array.from(r.weights)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(r.path).toEqual(['gap (GlobalAveragePooling2D)', 'fc (Dense)']);
    }
  });

  test('a 1x1 conv before the pooling, a BN scale and a second linear map compose: W = diag(s) W1 W2', () => {
    // W1 = [[1, 0, 2], [0, 1, 1]] (2 -> 3), s = [2, 3, 0.5] (on W1's outputs), W2 = [[1], [2], [4]] (3 -> 1)
    // diag-scaled W1 = [[2, 0, 1], [0, 3, 0.5]]; times W2 = [[2 + 0 + 4], [0 + 6 + 2]] = [[6], [8]]
    const steps: HeadStep[] = [
      lin('conv1x1', 2, 3, [1, 0, 2, 0, 1, 1]),
      { kind: 'scale', at: 'bn', type: 'BatchNormalization', scale: Float32Array.from([2, 3, 0.5]) },
      { kind: 'gap', at: 'avg', type: 'AvgPool' },
      { kind: 'pass', at: 'squeeze', type: 'Squeeze' },
      { kind: 'bias', at: 'bias', type: 'BiasAdd' },
      lin('fc', 3, 1, [1, 2, 4]),
    ];
    const r = camRule('feat', steps, 2, 1);
    expect(r.kind).toBe('weights');
    if (r.kind === 'weights') {
      expect([r.rows, r.cols]).toEqual([2, 1]);
      expect(Array.from(r.weights)).toEqual([6, 8]);
    }
  });

  test('a scale before any linear map starts from diag(scale)', () => {
    const r = camRule('feat', [{ kind: 'scale', at: 'bn', type: 'BatchNormalization', scale: Float32Array.from([2, -1]) }, { kind: 'gap', at: 'gap', type: 'Mean' }], 2, 2);
    expect(r.kind).toBe('weights');
    if (r.kind === 'weights') expect(Array.from(r.weights)).toEqual([2, 0, 0, -1]);
  });

  test('pooled straight into the logits: channels are the class maps when they match the classes', () => {
    expect(camRule('maps', [{ kind: 'gap', at: 'mean', type: 'Mean' }], 7, 7).kind).toBe('channels');
    const r = camRule('maps', [{ kind: 'gap', at: 'mean', type: 'Mean' }], 8, 7);
    expect(r).toEqual({ kind: 'none', reason: "'maps' is pooled straight into the logits but has 8 channels for 7 classes" });
  });

  test('refusals name the layer in the way', () => {
    const blocked = camRule('feat', [{ kind: 'gap', at: 'gap', type: 'GlobalAveragePooling2D' }, { kind: 'blocker', at: 'dense_1', type: 'Dense', why: "applies activation 'relu'" }], 4, 2);
    expect(blocked).toEqual({ kind: 'none', reason: "'dense_1' (Dense) applies activation 'relu'" });
    const noPool = camRule('feat', [lin('fc', 2, 2, [1, 0, 0, 1])], 2, 2);
    expect(noPool.kind === 'none' && noPool.reason).toMatch(/no global average pooling between 'feat' and the logits/);
    const twice = camRule('feat', [{ kind: 'gap', at: 'g1', type: 'Mean' }, { kind: 'gap', at: 'g2', type: 'Mean' }], 2, 2);
    expect(twice.kind === 'none' && twice.reason).toMatch(/'g2' pools a second time/);
  });

  test('a binary head presents class 0 as the negated unit', () => {
    const rule = camRule('feat', [{ kind: 'gap', at: 'gap', type: 'Mean' }, lin('fc', 3, 1, [0.5, -2, 1])], 3, 1);
    const head = camHeadFromRule(rule, { kind: 'sigmoid', binary: true });
    expect(head.kind).toBe('weights');
    if (head.kind === 'weights') {
      expect(head.weights.shape).toEqual([3, 2]);
      expect(Array.from(head.weights.dataSync())).toEqual([-0.5, 0.5, 2, -2, -1, 1]);
      head.weights.dispose();
    }
    const maps = camHeadFromRule(camRule('maps', [{ kind: 'gap', at: 'gap', type: 'Mean' }], 1, 1), { kind: 'sigmoid', binary: true });
    expect(maps.kind === 'weights' && Array.from(maps.weights.dataSync())).toEqual([-1, 1]);
    if (maps.kind === 'weights') maps.weights.dispose();
  });
});

describe('logits and probabilities', () => {
  test('a [n, 1, 1, C] pre-activation is one class vector, [n, 2, C] is not', () => {
    expect(isClassVector([1, 1, 1000])).toBe(true);
    expect(isClassVector([5])).toBe(true);
    expect(isClassVector([2, 5])).toBe(false);
  });

  test('presented logits: flattened, and [-z, z] for one sigmoid unit', () => {
    const raw = tf.tensor4d([1, 2, 3, 4, 5, 6], [2, 1, 1, 3]);
    expect(presentLogits(raw, { kind: 'softmax', binary: false }).arraySync()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const z = tf.tensor2d([[0.5], [-2]]);
    expect(presentLogits(z, { kind: 'sigmoid', binary: true }).arraySync()).toEqual([[-0.5, 0.5], [2, -2]]);
  });

  test('sigmoid of [-z, z] is [1 - p, p]; softmax for softmax and linear heads', () => {
    const p = 1 / (1 + Math.exp(-0.5));
    const probs = probabilitiesOfArray(Float32Array.from([-0.5, 0.5]), 'sigmoid');
    expect(probs[1]).toBeCloseTo(p, 7);
    expect(probs[0]).toBeCloseTo(1 - p, 7);
    const sm = probabilitiesOfArray(Float32Array.from([1, 2, 3]), 'linear');
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const sum = e[0] + e[1] + e[2];
    e.forEach((v, i) => expect(sm[i]).toBeCloseTo(v / sum, 7));
    const t = probabilitiesOf(tf.tensor2d([[1, 2, 3]]), 'softmax').dataSync();
    e.forEach((v, i) => expect(t[i]).toBeCloseTo(v / sum, 6));
  });
});
