// Raw maps as NumPy .npy files (format v1.0, '<f4', C order), so they can be compared with Python tools directly.
// Byte-for-byte what numpy.save writes for a float32 array (numpy >= 1.23 / 2.x).

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ALIGN = 64;
// numpy leaves room after the dict for the first axis to grow to 21 digits, so files can be appended in place.
const GROWTH_AXIS_MAX_DIGITS = 21;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeNpy(data: Float32Array, shape: number[]): Buffer {
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new RangeError(`bad shape [${shape.join(', ')}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}`);

  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${pyTuple(shape)}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  // Pad with spaces and end with '\n' so that magic + version + length + header is a multiple of 64 bytes.
  const pad = (ALIGN - ((MAGIC.length + 2 + 2 + header.length + 1) % ALIGN)) % ALIGN;
  header += ' '.repeat(pad) + '\n';
  if (header.length > 0xffff) throw new RangeError('npy header too long for format version 1.0');

  const out = Buffer.alloc(MAGIC.length + 4 + header.length + data.length * 4);
  MAGIC.copy(out, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  const start = 10 + header.length;
  if (LITTLE_ENDIAN) {
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, start);
  } else {
    for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], start + 4 * i);
  }
  return out;
}

/** Reads what encodeNpy writes (and numpy's float32/float64 C-order .npy files, versions 1-3). */
export function decodeNpy(buf: Buffer): { data: Float32Array; shape: number[] } {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error('not an .npy file');
  const major = buf[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    start = 12;
  } else {
    throw new Error(`unsupported .npy version ${major}.${buf[7]}`);
  }
  const header = buf.subarray(start, start + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error('malformed .npy header');
  if (fortran === 'True') throw new Error('Fortran-order .npy files are not supported');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = start + headerLen;
  const size = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (size === 0) throw new Error(`unsupported .npy dtype ${descr} (expected <f4 or <f8)`);
  if (buf.length < body + count * size) throw new Error('truncated .npy file');
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = size === 4 ? buf.readFloatLE(body + 4 * i) : buf.readDoubleLE(body + 8 * i);
  return { data, shape };
}

function pyTuple(shape: number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}
