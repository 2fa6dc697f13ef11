import { execFileSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { decodeNpy, encodeNpy } from '../../src/report/npy';
import { tempDir } from '../image/fixtures';

test('byte-exact against a hand-built header for a 2x3 array', () => {
  const data = new Float32Array([0, 1, -2.5, 0.1, 1e-7, 65504]);
  const buf = encodeNpy(data, [2, 3]);
  // numpy 1.23+ / 2.x: dict, then 21 - len("2") = 20 spaces of room for the first axis to grow, then spaces up
  // to a 64-byte boundary (10 + header length), then '\n'.
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const padded = dict + ' '.repeat(20);
  const header = padded + ' '.repeat(128 - 10 - padded.length - 1) + '\n';
  expect(header.length).toBe(118);
  const body = Buffer.alloc(24);
  data.forEach((v, i) => body.writeFloatLE(v, 4 * i));
  const expected = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]), Buffer.from(header, 'latin1'), body]);
  expect(buf.equals(expected)).toBe(true);
});

test('round trip, headers aligned to 64 bytes, for several shapes', () => {
  const shapes = [[5], [], [1, 7, 7, 1], [3, 224, 224], [0, 4], [12345678901, 0]];
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1000);
    const buf = encodeNpy(data, shape);
    expect((10 + buf.readUInt16LE(8)) % 64).toBe(0);
    expect(buf[10 + buf.readUInt16LE(8) - 1]).toBe(0x0a);
    const back = decodeNpy(buf);
    expect(back.shape).toEqual(shape);
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(data.buffer))).toBe(true);
  }
  // tuple spelling as Python writes it
  expect(encodeNpy(new Float32Array(5), [5]).toString('latin1')).toContain("'shape': (5,), }");
  expect(encodeNpy(new Float32Array(1), []).toString('latin1')).toContain("'shape': (), }");
});

test('special values survive', () => {
  const data = new Float32Array([NaN, Infinity, -Infinity, -0, 3.4028234663852886e38]);
  const back = decodeNpy(encodeNpy(data, [5])).data;
  expect(Number.isNaN(back[0])).toBe(true);
  expect(Array.from(back.subarray(1))).toEqual([Infinity, -Infinity, -0, 3.4028234663852886e38]);
});

test('bad input is refused', () => {
  expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/holds 6 values, data has 5/);
  expect(() => encodeNpy(new Float32Array(2), [-1, -2])).toThrow(/bad shape/);
  expect(() => decodeNpy(Buffer.from('PK\u0003\u0004 not npy'))).toThrow(/not an .npy file/);
  const good = encodeNpy(new Float32Array(6), [2, 3]);
  expect(() => decodeNpy(good.subarray(0, good.length - 1))).toThrow(/truncated/);
});

test('numpy reads our files and writes the same bytes (skipped without python3 + numpy)', () => {
  const python = ['python3', 'python'].find((p) => {
    try {
      execFileSync(p, ['-c', 'import numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!python) {
    console.log('skipped: python3 with numpy not found');
    return;
  }
  const tmp = tempDir('tfjs-cam-npy-');
  try {
    const cases: [number[], number[]][] = [
      [[2, 3], [0, 1, -2.5, 0.1, 1e-7, 65504]],
      [[4], [1, 2, 3, 4]],
      [[1, 2, 2, 1], [0.25, 0.5, 0.75, 1]],
      [[], [42]],
    ];
    const files = cases.map((_, k) => ['ours', 'theirs', 'f64'].map((kind) => path.join(tmp.dir, `${kind}${k}.npy`)));
    cases.forEach(([shape, values], k) => writeFileSync(files[k][0], encodeNpy(new Float32Array(values), shape)));
    // One interpreter for all cases (importing numpy takes a while): load ours, save it back, and save a float64 copy.
    const out = execFileSync(python, [
      '-c',
      'import sys, json, numpy as np\n' +
        'res = []\n' +
        'for ours, theirs, f64 in json.loads(sys.argv[1]):\n' +
        '    a = np.load(ours)\n' +
        '    np.save(theirs, a)\n' +
        '    np.save(f64, a.astype(np.float64))\n' +
        '    res.append({"dtype": str(a.dtype), "shape": list(a.shape), "c": bool(a.flags.c_contiguous), "values": [float(v) for v in a.ravel()]})\n' +
        'print(json.dumps(res))',
      JSON.stringify(files),
    ]).toString();
    const got = JSON.parse(out) as unknown[];
    cases.forEach(([shape, values], k) => {
      expect(got[k]).toEqual({ dtype: 'float32', shape, c: true, values: Array.from(new Float32Array(values)) });
      // numpy writes exactly our bytes
      expect(readFileSync(files[k][1]).equals(readFileSync(files[k][0]))).toBe(true);
      // and numpy-written float64 files decode as well
      expect(Array.from(decodeNpy(readFileSync(files[k][2])).data)).toEqual(Array.from(new Float32Array(values)));
    });
  } finally {
    tmp.cleanup();
  }
});
