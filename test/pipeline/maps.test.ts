import { peakOf, topMassShare } from '../../src/pipeline/maps';

/** The definition: sort everything, sum the top share smallest first, divide by the total. */
function topMassBySorting(map: Float32Array, fraction = 0.2): number {
  let total = 0;
  for (let i = 0; i < map.length; i++) total += map[i];
  if (!(total > 0)) return 0;
  const sorted = Float32Array.from(map).sort();
  const n = Math.max(1, Math.round(map.length * fraction));
  let top = 0;
  for (let i = sorted.length - n; i < sorted.length; i++) top += sorted[i];
  return top / total;
}

describe('topMassShare', () => {
  test('by hand', () => {
    expect(topMassShare(new Float32Array([0, 0, 0, 0, 1]))).toBe(1);
    expect(topMassShare(new Float32Array(10).fill(0.5))).toBeCloseTo(0.2, 12);
    expect(topMassShare(Float32Array.from({ length: 10 }, (_, i) => i + 1))).toBeCloseTo(19 / 55, 12);
    expect(topMassShare(Float32Array.from({ length: 10 }, (_, i) => 10 - i), 0.5)).toBeCloseTo(40 / 55, 12);
    expect(topMassShare(new Float32Array(7))).toBe(0);
  });

  test('the same number, to the bit, as sorting the whole map (random maps with ties and zeros)', () => {
    let seed = 5;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let t = 0; t < 400; t++) {
      const n = 1 + Math.floor(rnd() * (t < 300 ? 60 : 60000));
      const kind = t % 4;
      const map = Float32Array.from({ length: n }, (_, i) =>
        kind === 0 ? rnd() : kind === 1 ? Math.floor(rnd() * 4) / 3 : kind === 2 ? (rnd() < 0.9 ? 0 : rnd()) : Math.max(0, Math.sin(i / 7)),
      );
      const fraction = [0.2, 0.01, 0.5, 1][t % 4];
      expect(topMassShare(map, fraction)).toBe(topMassBySorting(map, fraction));
    }
  });

  test('leaves the map as it was', () => {
    const map = Float32Array.from([3, 1, 2, 5, 4]);
    topMassShare(map);
    expect(Array.from(map)).toEqual([3, 1, 2, 5, 4]);
  });
});

describe('peakOf', () => {
  test('the first maximum, at its pixel centre', () => {
    expect(peakOf(new Float32Array([0, 2, 1, 2, 0, 0]), 3)).toEqual({ x: 1.5, y: 0.5, value: 2 });
  });
});
