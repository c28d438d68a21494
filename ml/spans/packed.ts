/**
 * Unsigned integers stored in the fewest whole bytes that hold the largest (1 to 4, little
 * endian): a suffix array over 10M tokens takes 3 bytes per entry instead of 4, and so do token
 * ranks over a vocabulary under 16M words. This is what keeps the span index under 8 bytes a token.
 */
export function byteWidth(max: number): 1 | 2 | 3 | 4 {
  return max < 1 << 8 ? 1 : max < 1 << 16 ? 2 : max < 1 << 24 ? 3 : 4;
}

export function packUints(values: ArrayLike<number>, width: 1 | 2 | 3 | 4): Buffer {
  const out = Buffer.allocUnsafe(values.length * width);
  for (let i = 0, o = 0; i < values.length; i++, o += width) out.writeUIntLE(values[i]!, o, width);
  return out;
}

/** A reader of packed values: `get(i)` is the i-th. */
export function packedReader(bytes: Uint8Array, width: number): (i: number) => number {
  switch (width) {
    case 1:
      return (i) => bytes[i]!;
    case 2:
      return (i) => bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
    case 3:
      return (i) => {
        const o = 3 * i;
        return bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16);
      };
    case 4:
      return (i) => {
        const o = 4 * i;
        return (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
      };
    default:
      throw new RangeError(`no packed width ${width}`);
  }
}
