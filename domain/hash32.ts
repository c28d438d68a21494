/**
 * murmur3's 32-bit finaliser: a bijective avalanche on 32-bit integers. FNV-style hashes have weak
 * low bits for short keys; MinHash and the hashed feature space both take low bits, so both mix.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
