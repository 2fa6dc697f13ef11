/** Seeded pseudo-random numbers, the same on every JS engine: runs, data and tests repeat exactly. */

export type Rng = () => number;

/** mulberry32: 32-bit state, uniform floats in [0, 1). Small and fast. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
