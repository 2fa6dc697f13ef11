// The methods from pytorch-grad-cam's later releases (FEM, KPCA-CAM, ShapleyCAM, Finer-CAM, RefineCAM) on the real
// darknet_tiny and a real photo, each against its definition computed here in double precision from plain arrays.
// After 'leaky_re_lu_15' darknet_tiny's head is linear (1x1 conv 'conv2d_16' then global average pooling), so
// logits = mean_ij(A_ij) W + b: W and b are read off the head by feeding it constant activations, and every gradient
// and Hessian-vector product has a closed form here (no tfjs gradient involved in the references).
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { openSession, Session } from '../../src/pipeline/session';
import { prepareInput } from '../../src/pipeline/explain';
import { decodeImage } from '../../src/image/decode';
import { explainTensor } from '../../src/pipeline/explain-tensor';
import { getMethod, DEFAULT_METHOD_OPTIONS } from '../../src/methods';
import { SHARED, hasShared, skipNotice } from '../helpers/cli';
import { correlation } from '../helpers/stats';
import { femReference, kpcaReference } from '../helpers/cam-references';

const LAYER = 'leaky_re_lu_15';
const maybe = hasShared ? describe : describe.skip;
if (!hasShared) skipNotice('darknet_tiny parity of the newer pytorch-grad-cam methods');

const relu = (v: number) => Math.max(0, v);

maybe('darknet_tiny on a real photo: the newer methods against their definitions', () => {
  let s: Session;
  let x: tf.Tensor4D;
  let A: Float64Array; // [196, 128]
  let z: Float64Array; // logits [1000]
  let W: Float64Array; // [128, 1000]
  let n: number, d: number, C: number;

  beforeAll(async () => {
    s = await openSession({ model: path.join(SHARED, 'darknet_tiny'), backend: 'wasm' });
    x = (await prepareInput(s, await decodeImage(path.join(SHARED, 'images', 'darknet_horses.jpg')))).x;
    const fp = s.model.classifier.forward(x, [LAYER]);
    try {
      const [, h, w, K] = fp.activations[0].shape;
      n = h * w;
      d = K;
      A = Float64Array.from(fp.activations[0].dataSync());
      z = Float64Array.from(fp.logits.dataSync());
      C = z.length;
      // The head on constant activations: all zeros gives b, channel k = 1 everywhere gives b + W[k].
      const probe = tf.tidy(() => {
        const rows = [tf.zeros([1, h, w, K]), ...[...Array(K)].map((_, k) => tf.mul(tf.ones([1, h, w, 1]), tf.oneHot([k], K).reshape([1, 1, 1, K])))];
        return fp.head(0, tf.concat(rows, 0) as tf.Tensor4D).dataSync();
      });
      W = new Float64Array(K * C);
      for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) W[k * C + c] = probe[(k + 1) * C + c] - probe[c];
      // The head is linear: the logits are mean(A) W + b.
      for (const c of [0, 7, 999]) {
        let want = probe[c];
        for (let k = 0; k < K; k++) for (let i = 0; i < n; i++) want += (A[i * d + k] / n) * W[k * C + c];
        expect(Math.abs(want - z[c])).toBeLessThan(1e-3 * Math.max(1, Math.abs(z[c])));
      }
    } finally {
      fp.dispose();
    }
  });
  afterAll(() => {
    x?.dispose();
    s?.model.dispose();
  });

  const run = (method: string, extra: Partial<Parameters<typeof explainTensor>[2]> = {}) => explainTensor(s.model.classifier, x, { methods: [getMethod(method)], layers: [LAYER], topK: 2, score: 'logit', ...extra });
  const top = () => [...z.keys()].sort((a, b) => z[b] - z[a]);
  /** Channel weights w [128] -> ReLU(sum_k w_k A_k) at each position. */
  const weighted = (w: number[]) => [...Array(n)].map((_, i) => relu(w.reduce((acc, wk, k) => acc + wk * A[i * d + k], 0)));
  /** The spatial mean of a gradient that is the same at every position: (W v) / n for dscore/dlogits = v. */
  const throughHead = (v: number[]) => [...Array(d)].map((_, k) => v.reduce((acc, vc, c) => acc + W[k * C + c] * vc, 0) / n);
  const softmax = () => {
    const m = Math.max(...z);
    const e = [...z].map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  };
  const expectSame = (got: Float32Array, want: number[]) => {
    expect(Math.max(...want)).toBeGreaterThan(0); // not a flat map
    expect(correlation(got, want)).toBeGreaterThanOrEqual(0.999);
    const scale = Math.max(...want);
    want.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(2e-3 * scale));
  };

  test('fem (k = 2 and k = 1.5)', () => {
    for (const k of [2, 1.5]) {
      const ex = run('fem', { methodOptions: { femK: k } });
      expectSame(ex.maps[0].raw[0].data, femReference(A, n, d, k));
      // class-independent: both classes get the same map
      expect(Array.from(ex.maps[1].raw[0].data)).toEqual(Array.from(ex.maps[0].raw[0].data));
    }
  });

  test('kpca-cam (sigmoid kernel, gamma = 1 / channels): scikit-learn KernelPCA written out', () => {
    const ex = run('kpca-cam');
    expectSame(ex.maps[0].raw[0].data, kpcaReference(A, n, d, 'sigmoid'));
  });

  test('shapleycam on the logit equals Grad-CAM (the head is linear: the Hessian term is 0)', () => {
    const ex = run('shapleycam');
    const c = top()[0];
    expect(ex.classes[0]).toBe(c);
    const want = weighted(throughHead([...Array(C)].map((_, j) => (j === c ? 1 : 0))));
    expectSame(ex.maps[0].raw[0].data, want);
    const grad = run('gradcam');
    ex.maps.forEach((m, i) => m.raw[0].data.forEach((v, j) => expect(Math.abs(v - grad.maps[i].raw[0].data[j])).toBeLessThan(1e-6 * Math.max(1, Math.abs(v)))));
  });

  test('shapleycam on the probability: G - H A / 2, the softmax Hessian in closed form', () => {
    const ex = run('shapleycam', { score: 'probability' });
    const p = softmax();
    for (const [ci, c] of ex.classes.entries()) {
      // dp_c/dz = p_c (e_c - p); Hessian H_z = p_c [(e_c - p)(e_c - p)^T - diag(p) + p p^T]; A's part of z is z - b.
      const e = p.map((pj, j) => (j === c ? 1 : 0) - pj);
      const meanA = [...Array(d)].map((_, k) => [...Array(n)].reduce((t, _i, i) => t + A[i * d + k], 0) / n);
      const u = [...Array(C)].map((_, j) => meanA.reduce((acc, m, k) => acc + W[k * C + j] * m, 0)); // z - b
      const eu = e.reduce((acc, v, j) => acc + v * u[j], 0);
      const pu = p.reduce((acc, v, j) => acc + v * u[j], 0);
      const hz = e.map((ej, j) => p[c] * (ej * eu - p[j] * u[j] + p[j] * pu));
      const g = throughHead(e.map((v) => p[c] * v));
      const hv = throughHead(hz);
      const want = weighted(g.map((gk, k) => gk - 0.5 * hv[k]));
      expectSame(ex.maps[ci].raw[0].data, want);
      // and the Hessian term matters here: the map is not probability Grad-CAM's
      expect(correlation(weighted(g), want)).toBeLessThan(0.9999);
    }
  });

  test('finercam: Grad-CAM of sum_i p_i (z_c - alpha z_i) / sum_i p_i over the 3 closest logits, gradient through p', () => {
    for (const alpha of [1, 0.6]) {
      const ex = run('finercam', { methodOptions: { finerAlpha: alpha } });
      const p = softmax();
      for (const [ci, c] of ex.classes.entries()) {
        const others = [...z.keys()].filter((j) => j !== c).sort((a, b) => Math.abs(z[a] - z[c]) - Math.abs(z[b] - z[c]) || a - b).slice(0, 3);
        expect(ex.maps[ci].comparedWith).toEqual(others);
        // s = N / D: N = sum_i p_i (z_c - alpha z_i), D = sum_i p_i + 1e-9; dp_i/dz_j = p_i (delta_ij - p_j)
        const N = others.reduce((acc, i) => acc + p[i] * (z[c] - alpha * z[i]), 0);
        const D = others.reduce((acc, i) => acc + p[i], 0) + 1e-9;
        const ds = [...Array(C)].map((_, j) => {
          let dN = 0;
          let dD = 0;
          for (const i of others) {
            const dp = p[i] * ((i === j ? 1 : 0) - p[j]);
            dN += dp * (z[c] - alpha * z[i]) + p[i] * ((j === c ? 1 : 0) - alpha * (j === i ? 1 : 0));
            dD += dp;
          }
          return (dN * D - N * dD) / (D * D);
        });
        expectSame(ex.maps[ci].raw[0].data, weighted(throughHead(ds)));
      }
    }
  });

  test('refinecam: the product of the layers\' normalised, upsampled Grad-CAM++ maps; --aggregate product for any method', () => {
    const layers = ['leaky_re_lu_10', LAYER];
    const refine = explainTensor(s.model.classifier, x, { methods: [getMethod('refinecam')], layers, topK: 1, score: 'logit' });
    const plus = explainTensor(s.model.classifier, x, { methods: [getMethod('gradcam++')], layers, topK: 1, score: 'logit' });
    const [H, Wd] = s.model.classifier.inputShape;
    // Per layer: normalise, resize (bilinear, half-pixel centres, edges clamped), normalise; then multiply, normalise.
    const norm = (m: number[]) => {
      const lo = Math.min(...m);
      const hi = Math.max(...m);
      return m.map((v) => (v - lo) / (hi - lo + 1e-7));
    };
    const resize = (m: number[], h: number, w: number) =>
      [...Array(H * Wd)].map((_, o) => {
        const sy = Math.min(Math.max(((Math.floor(o / Wd) + 0.5) * h) / H - 0.5, 0), h - 1);
        const sx = Math.min(Math.max((((o % Wd) + 0.5) * w) / Wd - 0.5, 0), w - 1);
        const y0 = Math.floor(sy), x0 = Math.floor(sx), y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
        const fy = sy - y0, fx = sx - x0;
        return (m[y0 * w + x0] * (1 - fx) + m[y0 * w + x1] * fx) * (1 - fy) + (m[y1 * w + x0] * (1 - fx) + m[y1 * w + x1] * fx) * fy;
      });
    const ups = plus.maps[0].raw.map((r) => norm(resize(norm([...r.data]), r.height, r.width)));
    expect(ups.map((u) => u.length)).toEqual([H * Wd, H * Wd]);
    const want = norm(ups[0].map((v, i) => v * ups[1][i]));
    // The per-layer maps are Grad-CAM++'s
    refine.maps[0].raw.forEach((r, li) => expect(Array.from(r.data)).toEqual(Array.from(plus.maps[0].raw[li].data)));
    expect(correlation(refine.maps[0].map, want)).toBeGreaterThanOrEqual(0.999);
    want.forEach((v, i) => expect(Math.abs(refine.maps[0].map[i] - v)).toBeLessThan(1e-3));
    // Grad-CAM++ with --aggregate product is RefineCAM; with the default mean it is the average
    const product = explainTensor(s.model.classifier, x, { methods: [getMethod('gradcam++')], layers, topK: 1, score: 'logit', aggregate: 'product' });
    expect(Array.from(product.maps[0].map)).toEqual(Array.from(refine.maps[0].map));
    const mean = norm(ups[0].map((v, i) => v + ups[1][i]));
    expect(correlation(plus.maps[0].map, mean)).toBeGreaterThanOrEqual(0.999);
    expect(correlation(plus.maps[0].map, want)).toBeLessThan(0.99); // the two aggregations differ on this photo
  });

  test('every tensor is released', () => {
    const before = tf.memory().numTensors;
    for (const m of ['fem', 'kpca-cam', 'shapleycam', 'finercam', 'refinecam']) run(m, { methodOptions: { ...DEFAULT_METHOD_OPTIONS } });
    expect(tf.memory().numTensors).toBe(before);
  });
});
