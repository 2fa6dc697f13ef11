// Regions carried from the original image into model-input coordinates, measured, and drawn.
import { placement } from '../../src/image/geometry';
import { regionAtInput, measureRegion, regionMask, outline, strokeBox } from '../../src/check/region';

test('boxes follow the placement: stretch, pad (letterbox) and crop (parts outside the crop drop out)', () => {
  const box = { x: 16, y: 8, width: 32, height: 16 };
  // 64x32 image -> 16x16 input.
  expect(regionAtInput({ kind: 'boxes', boxes: [box] }, placement(64, 32, 16, 16, 'stretch')).boxes).toEqual([{ x: 4, y: 4, width: 8, height: 8 }]);
  // pad: scale 1/4, the 16x8 content centred vertically (offset 4).
  expect(regionAtInput({ kind: 'boxes', boxes: [box] }, placement(64, 32, 16, 16, 'pad')).boxes).toEqual([{ x: 4, y: 6, width: 8, height: 4 }]);
  // crop: the centre 32x32 (x 16..48) scaled by 1/2.
  const crop = placement(64, 32, 16, 16, 'crop');
  expect(regionAtInput({ kind: 'boxes', boxes: [box] }, crop).boxes).toEqual([{ x: 0, y: 4, width: 16, height: 8 }]);
  const outside = regionAtInput({ kind: 'boxes', boxes: [{ x: 0, y: 0, width: 10, height: 10 }] }, crop);
  expect(outside.boxes).toEqual([]);
  expect(outside.bbox).toBeNull();
});

test('a mask measures like the box it draws, under any placement', () => {
  const w = 40;
  const h = 20;
  // Edges away from every input pixel centre's position in the image (odd x and y under crop, 2 mod 4 under
  // stretch and pad): there a box's edges count as inside, as in the metrics, and a mask's pixel grid decides.
  const box = { x: 12, y: 4, width: 12, height: 8 };
  const mask = regionMask({ kind: 'boxes', boxes: [box] }, w, h);
  for (const mode of ['stretch', 'pad', 'crop'] as const) {
    const p = placement(w, h, 10, 10, mode);
    const fromBox = regionAtInput({ kind: 'boxes', boxes: [box] }, p);
    const fromMask = regionAtInput({ kind: 'mask', mask, width: w, height: h }, p);
    // A map with its mass on one input pixel inside the box, a little spread elsewhere.
    const map = new Float32Array(100).fill(0.01);
    const b = fromBox.bbox!;
    map[Math.floor(b.y + b.height / 2) * 10 + Math.floor(b.x + b.width / 2)] = 1;
    const a = measureRegion(map, 10, 10, fromBox, 0.2);
    const m = measureRegion(map, 10, 10, fromMask, 0.2);
    expect(m.pointingHit).toBe(true);
    expect(a.pointingHit).toBe(true);
    expect(m.inside).toBeCloseTo(a.inside, 6);
    expect(m.outside).toBeCloseTo(1 - m.inside, 6);
  }
});

test('threshold-box IoU against the region; flat (all-zero) maps measure nothing', () => {
  const p = placement(10, 10, 10, 10, 'stretch');
  const region = regionAtInput({ kind: 'boxes', boxes: [{ x: 2, y: 2, width: 4, height: 4 }] }, p);
  const map = new Float32Array(100);
  for (let y = 2; y < 6; y++) for (let x = 2; x < 8; x++) map[y * 10 + x] = 1; // 6x4 blob over the 4x4 box
  const m = measureRegion(map, 10, 10, region, 0.2);
  expect(m.thresholdBox).toEqual({ x: 2, y: 2, width: 6, height: 4 });
  expect(m.iou).toBeCloseTo(16 / 24, 6);
  expect(m.inside).toBeCloseTo(16 / 24, 6);
  const zero = measureRegion(new Float32Array(100), 10, 10, region, 0.2);
  expect(zero).toMatchObject({ inside: 0, outside: 0, iou: 0, thresholdBox: null });
});

test('outlines: a box outline t pixels thick, the image edge counts as a border', () => {
  const w = 20;
  const h = 12;
  const m = regionMask({ kind: 'boxes', boxes: [{ x: 5, y: 3, width: 8, height: 6 }] }, w, h);
  expect(m.reduce((a, v) => a + v, 0)).toBe(48);
  const count = (o: Uint8Array) => o.reduce((a, v) => a + v, 0);
  expect(count(outline(m, w, h, 1))).toBe(48 - 6 * 4);
  expect(count(outline(m, w, h, 2))).toBe(48 - 4 * 2);
  const full = new Uint8Array(w * h).fill(1);
  expect(count(outline(full, w, h, 1))).toBe(2 * w + 2 * (h - 2));
  const rgb = new Uint8Array(w * h * 3);
  strokeBox(rgb, w, h, { x: 0, y: 0, width: w, height: h }, 1, [255, 255, 255]);
  expect(rgb.reduce((a, v) => a + (v === 255 ? 1 : 0), 0) / 3).toBe(2 * w + 2 * (h - 2));
});
