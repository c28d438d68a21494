// Per-record submission deposits: the price of a rejection, paid per record so it cannot be shed
// by moving records to throwaway accounts.
//
// At ingest every record moves `depositPerRecord` OPEN (a protocol setting) from the contributor's
// balance into the Datanet's deposit escrow. When the dataset version is built:
//   - an accepted record's deposit is refunded to the contributor who sent it;
//   - a rejected, duplicate or near-duplicate record's deposit is forfeited to the treasury.
// Each record settles on its own, so a contributor's refund and forfeit are sums over their
// records, and splitting records across k accounts moves exactly the same total.
import type { RecordStatus } from './attribution-weights.js';

export interface DepositRecord {
  contributor: string;
  status: RecordStatus;
}

export interface DepositSettlement {
  contributor: string;
  records: number;
  deposited: bigint;
  refunded: bigint;
  forfeited: bigint;
}

/** What happens to one record's deposit. */
export function depositOutcome(status: RecordStatus): 'refund' | 'forfeit' {
  return status === 'accepted' ? 'refund' : 'forfeit';
}

/**
 * Refunds and forfeits per contributor (sorted by contributor). `deposited` = refunded + forfeited
 * = records x depositPerRecord for every contributor; the treasury receives the sum of forfeited.
 */
export function settleDeposits(records: readonly DepositRecord[], depositPerRecord: bigint): DepositSettlement[] {
  if (depositPerRecord < 0n) throw new Error('deposits: depositPerRecord must not be negative');
  const out = new Map<string, DepositSettlement>();
  for (const r of records) {
    let s = out.get(r.contributor);
    if (!s) {
      s = { contributor: r.contributor, records: 0, deposited: 0n, refunded: 0n, forfeited: 0n };
      out.set(r.contributor, s);
    }
    s.records++;
    s.deposited += depositPerRecord;
    if (depositOutcome(r.status) === 'refund') s.refunded += depositPerRecord;
    else s.forfeited += depositPerRecord;
  }
  return [...out.values()].sort((a, b) => (a.contributor < b.contributor ? -1 : a.contributor > b.contributor ? 1 : 0));
}

/**
 * The break-even deposit: a near-copy that dedupe catches with probability `recall` forfeits the
 * deposit, one it misses earns `valuePerRecord`. Submitting near-copies loses money in expectation
 * when deposit > (1 - recall) / recall x valuePerRecord; this returns that bound.
 */
export function breakEvenDeposit(recall: number, valuePerRecord: number): number {
  if (!(recall > 0)) return Infinity;
  return ((1 - Math.min(1, recall)) / recall) * Math.max(0, valuePerRecord);
}
