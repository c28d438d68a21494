// The reduction of a band partition's staged claims (db/queries/lsh-bands.ts): each scoring batch
// claimed each of its bands once, with its lowest seq in the batch; a band claimed by more than one
// batch is owned by the lowest seq overall, and each batch learns the bands an earlier record in
// another batch owns. Hundreds of thousands of claims per partition at 1M records, so typed arrays
// and an open-addressing table instead of a Map keyed by (heap) numbers above 2^31.
import { fmix32 } from '../hash32.js';

/** One batch's claims in a partition: bands (below 2^53) and each band's lowest seq in the batch. */
export interface BatchClaims {
  bands: Float64Array;
  seqs: Float64Array;
}

/**
 * Parses a Postgres bigint[] text literal ("{1,2,3}") of non-negative integers below 2^53 without
 * splitting it into strings.
 */
export function parseBigintArray(lit: string): Float64Array {
  let n = 0;
  for (let i = 1; i < lit.length - 1; i++) if (lit.charCodeAt(i) === 44) n++;
  const out = new Float64Array(lit.length > 2 ? n + 1 : 0);
  let k = 0;
  let v = 0;
  for (let i = 1; i < lit.length - 1; i++) {
    const c = lit.charCodeAt(i);
    if (c === 44) {
      out[k++] = v;
      v = 0;
    } else if (c >= 48 && c <= 57) v = v * 10 + (c - 48);
    else throw new Error(`not a non-negative bigint[] literal: ${lit.slice(0, 40)}`);
  }
  if (out.length > 0) out[k] = v;
  return out;
}

/**
 * For each batch, the bands whose lowest seq over all batches is lower than the batch's own (a record
 * in another batch owns it), with that seq; and how many bands more than one batch claimed.
 */
export function reduceBandClaims(batches: readonly BatchClaims[]): {
  shared: number;
  owners: { bands: number[]; owners: number[] }[];
} {
  let n = 0;
  for (const b of batches) n += b.bands.length;
  let cap = 16;
  while (cap < n * 2) cap *= 2;
  const mask = cap - 1;
  const keys = new Float64Array(cap).fill(-1); // bands are >= 0
  const lowest = new Float64Array(cap);
  const claimedTwice = new Uint8Array(cap);
  const slotOf = (band: number): number => {
    const lo = (band % 4294967296) | 0;
    const hi = Math.floor(band / 4294967296) | 0;
    let h = fmix32(lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (keys[h] !== band && keys[h] !== -1) h = (h + 1) & mask;
    return h;
  };
  let shared = 0;
  for (const b of batches)
    for (let i = 0; i < b.bands.length; i++) {
      const band = b.bands[i]!;
      const seq = b.seqs[i]!;
      const h = slotOf(band);
      if (keys[h] === -1) {
        keys[h] = band;
        lowest[h] = seq;
      } else {
        if (claimedTwice[h] === 0) shared++;
        claimedTwice[h] = 1;
        if (seq < lowest[h]!) lowest[h] = seq;
      }
    }
  const owners = batches.map((b) => {
    const bands: number[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < b.bands.length; i++) {
      const h = slotOf(b.bands[i]!);
      if (claimedTwice[h] === 1 && lowest[h]! < b.seqs[i]!) {
        bands.push(b.bands[i]!);
        seqs.push(lowest[h]!);
      }
    }
    return { bands, owners: seqs };
  });
  return { shared, owners };
}
