import { applyColormap, colormap, colormapLut, COLORMAPS, lutIndex, type ColormapName } from '../../src/render/colormap';

// Entry i is looked up with a value inside bin i, away from the bin edges.
const at = (name: ColormapName, i: number) => colormap(name)((i + 0.5) / 255);

const near = (got: number[], want: number[], tol: number) => {
  const diff = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
  expect({ got, diff: diff <= tol }).toEqual({ got, diff: true });
};

test('the four maps are listed', () => {
  expect(COLORMAPS).toEqual(['jet', 'turbo', 'viridis', 'inferno']);
  for (const name of COLORMAPS) expect(colormapLut(name).length).toBe(768);
  expect(() => colormap('hot' as ColormapName)).toThrow(/unknown colormap 'hot'/);
});

test('jet is OpenCV COLORMAP_JET (values from cv2.applyColorMap 4.6, as RGB)', () => {
  const cv2: [number, number[]][] = [
    [0, [0, 0, 128]],
    [1, [0, 0, 132]],
    [32, [0, 0, 255]],
    [64, [0, 128, 255]],
    [96, [2, 255, 254]],
    [127, [126, 255, 130]],
    [128, [130, 255, 126]],
    [160, [255, 252, 0]],
    [192, [255, 124, 0]],
    [224, [252, 0, 0]],
    [255, [128, 0, 0]],
  ];
  for (const [i, rgb] of cv2) expect([i, at('jet', i)]).toEqual([i, rgb]);
  // and, everywhere, within one level of the textbook formula clamp(1.5 - |4x - k|) for k = 3, 2, 1
  for (let i = 0; i < 256; i++) {
    const f = [3, 2, 1].map((k) => 255 * Math.min(1, Math.max(0, 1.5 - Math.abs((4 * i) / 255 - k))));
    near(at('jet', i), f, 0.5 + 1e-9);
  }
});

test('turbo matches the published table / OpenCV COLORMAP_TURBO', () => {
  expect(colormap('turbo')(0)).toEqual([48, 18, 59]);
  expect(colormap('turbo')(1)).toEqual([122, 4, 3]);
  expect(at('turbo', 64)).toEqual([40, 188, 235]);
  expect(at('turbo', 128)).toEqual([164, 252, 60]);
  expect(at('turbo', 192)).toEqual([251, 126, 33]);
});

test('viridis and inferno are matplotlib\'s', () => {
  near(colormap('viridis')(0), [68, 1, 84], 1);
  near(colormap('viridis')(1), [253, 231, 37], 1);
  near(at('viridis', 128), [33, 145, 140], 1);
  near(colormap('inferno')(0), [0, 0, 4], 1);
  near(colormap('inferno')(1), [252, 255, 164], 1);
  near(at('inferno', 128), [188, 55, 84], 1);
});

test('viridis and inferno get steadily lighter (they are perceptually ordered)', () => {
  for (const name of ['viridis', 'inferno'] as const) {
    const luma = Array.from({ length: 32 }, (_, k) => {
      const [r, g, b] = at(name, k * 8 + 4);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    });
    for (let k = 1; k < luma.length; k++) expect(luma[k]).toBeGreaterThan(luma[k - 1]);
  }
});

test('value -> entry: floor(255 v) as np.uint8(255 * mask) does, clamped, NaN -> 0', () => {
  expect(lutIndex(0)).toBe(0);
  expect(lutIndex(1)).toBe(255);
  expect(lutIndex(0.5)).toBe(127);
  expect(lutIndex(0.999)).toBe(254);
  expect(lutIndex(-3)).toBe(0);
  expect(lutIndex(7)).toBe(255);
  expect(lutIndex(NaN)).toBe(0);
  expect(lutIndex(Infinity)).toBe(255);
  // Exact bin edges i / 255 in float32 land on entry i (no float error pushes them down).
  for (let i = 0; i < 256; i++) expect(lutIndex(Math.fround(i / 255))).toBe(i);
});

test('applyColormap colours each value like colormap()', () => {
  const values = new Float32Array([0, 0.25, 0.5, 0.75, 1, -1, 2, NaN]);
  for (const name of COLORMAPS) {
    const rgb = applyColormap(values, name);
    expect(rgb.length).toBe(values.length * 3);
    const f = colormap(name);
    for (let i = 0; i < values.length; i++) expect(Array.from(rgb.subarray(3 * i, 3 * i + 3))).toEqual(f(values[i]));
  }
});
