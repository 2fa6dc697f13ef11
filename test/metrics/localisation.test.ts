import { energyInBoxes, iou, localisationHit, pointingGameHit, thresholdBox } from '../../src/metrics/localisation';

// A 6x5 map (width 6): a strong blob at columns 1-2, rows 1-2, and a weaker single pixel at (5, 4).
const W = 6;
const H = 5;
const map = new Float32Array(W * H);
map[1 * W + 1] = 1;
map[1 * W + 2] = 0.5;
map[2 * W + 1] = 0.3;
map[2 * W + 2] = 0.25;
map[4 * W + 5] = 0.9;

test('pointing game: the maximum (1, 1) is inside a box covering it, outside one that does not', () => {
  expect(pointingGameHit(map, W, [{ x: 1, y: 1, width: 2, height: 2 }])).toBe(true);
  expect(pointingGameHit(map, W, [{ x: 3, y: 0, width: 3, height: 5 }])).toBe(false);
  // grown by a 1-pixel tolerance, the second box reaches pixel centre 1.5? 3 - 1 = 2 > 1.5: still a miss; 2 px: hit
  expect(pointingGameHit(map, W, [{ x: 3, y: 0, width: 3, height: 5 }], 1)).toBe(false);
  expect(pointingGameHit(map, W, [{ x: 3, y: 0, width: 3, height: 5 }], 2)).toBe(true);
});

test('energy in the box: mass inside over total mass', () => {
  // inside the blob box: 1 + 0.5 + 0.3 + 0.25 = 2.05; total 2.95
  expect(energyInBoxes(map, W, [{ x: 1, y: 1, width: 2, height: 2 }])).toBeCloseTo(2.05 / 2.95, 6);
  expect(energyInBoxes(new Float32Array(30), W, [{ x: 0, y: 0, width: 6, height: 5 }])).toBe(0);
});

test('IoU of boxes by hand', () => {
  expect(iou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 1, width: 2, height: 2 })).toBeCloseTo(1 / 7, 6);
  expect(iou({ x: 0, y: 0, width: 2, height: 2 }, { x: 5, y: 5, width: 1, height: 1 })).toBe(0);
});

test('threshold box: largest 8-connected component above 20% of the maximum', () => {
  // threshold 0.2: the blob (4 pixels) and the single pixel (1 pixel) are above; the blob is larger
  expect(thresholdBox(map, W, H)).toEqual({ x: 1, y: 1, width: 2, height: 2 });
  // at 60% only (1,1) and (5,4) stay, one pixel each: the first found wins the tie
  expect(thresholdBox(map, W, H, 0.6)).toEqual({ x: 1, y: 1, width: 1, height: 1 });
  // diagonal neighbours join one component
  const d = new Float32Array(9);
  d[0] = 1;
  d[4] = 1;
  d[8] = 1;
  expect(thresholdBox(d, 3, 3)).toEqual({ x: 0, y: 0, width: 3, height: 3 });
  expect(thresholdBox(new Float32Array(9), 3, 3)).toBeNull();
});

test('localisation: IoU >= 0.5 with the ground truth counts as a hit', () => {
  expect(localisationHit(map, W, H, [{ x: 1, y: 1, width: 2, height: 3 }])).toMatchObject({ hit: true, iou: 4 / 6 });
  expect(localisationHit(map, W, H, [{ x: 0, y: 0, width: 6, height: 5 }]).hit).toBe(false); // IoU 4/30
});
