// Contributor attribution weights for a dataset version (how the Datanet's rewards are split).
//
// recordValue(r) = (quality(r) x relevance(r)) ^ RECORD_VALUE_EXPONENT for an ACCEPTED record,
//                  0 for a rejected, duplicate or near-duplicate one (whoever sent it);
// rawScore(c)    = sum of recordValue over the records contributor c submitted;
// weight(c)      = rawScore(c) / sum over all contributors of rawScore.
//
// Why additive, and not concave per account (the former sqrt(sum) rule): every participant may
// control many accounts, and a per-account concave reward pays N accounts with one record each
// sqrt(N) times what one account with the same N records earns. The only rule where splitting
// records across k accounts never earns more than one account, and merging never earns more
// either, is one where an account's weight is the sum of its records' values: splitting is then
// exactly neutral (domain/data/attribution-weights.test.ts proves it with property-based tests).
//
// How quality still beats volume without a per-account curve:
//   - the value of one record is superlinear in quality x relevance (exponent 2): one excellent
//     record (1.0) is worth four at 0.5 and eleven near the acceptance floor (0.3);
//   - records below the Datanet's minQuality / minRelevance are rejected and earn nothing;
//   - exact and near-duplicates earn nothing whoever sends them;
//   - every record carries a submission deposit (domain/data/deposits.ts) refunded when it is
//     accepted and forfeited when it is rejected or a duplicate: the cost of junk is paid per
//     record, so throwaway accounts cannot shed it (the former "standing" factor was per account,
//     applied only from 5 records on, and a fresh account reset it).

export type RecordStatus = 'accepted' | 'duplicate' | 'near-duplicate' | 'rejected';

export interface ScoredRecordSummary {
  contributor: string;
  quality: number;
  relevance: number;
  status: RecordStatus;
}

/** Per-record value = (quality x relevance) ^ this. 2 by default; 1 would be linear. */
export const RECORD_VALUE_EXPONENT = 2;

export interface WeightOptions {
  /** Exponent of the per-record value; at least 1 (superlinear in quality), default 2. */
  exponent?: number;
}

export interface ContributorWeight {
  contributor: string;
  /** Sum of recordValue over the contributor's accepted records. */
  rawScore: number;
  weight: number;
  accepted: number;
  /** Records that earned nothing: rejected, duplicate or near-duplicate (each forfeits its deposit). */
  rejected: number;
}

const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

function exponentOf(opts: WeightOptions): number {
  const e = opts.exponent ?? RECORD_VALUE_EXPONENT;
  if (!Number.isFinite(e) || e < 1) throw new Error(`attribution: exponent must be a number >= 1, got ${e}`);
  return e;
}

/** The value one record adds to its contributor's rawScore. */
export function recordValue(record: Omit<ScoredRecordSummary, 'contributor'>, opts: WeightOptions = {}): number {
  if (record.status !== 'accepted') return 0;
  return Math.pow(clamp01(record.quality) * clamp01(record.relevance), exponentOf(opts));
}

export interface ContributorTotals {
  contributor: string;
  /** Sum of recordValue over the contributor's accepted records (in SQL: sum(power(quality * relevance, 2))). */
  rawScore: number;
  accepted: number;
  /** Records that earned nothing (rejected, duplicate, near-duplicate). */
  rejected: number;
}

const byWeightThenName = (a: ContributorWeight, b: ContributorWeight): number =>
  b.weight - a.weight || (a.contributor < b.contributor ? -1 : a.contributor > b.contributor ? 1 : 0);

/**
 * Weights from per-contributor totals (for callers that aggregate in SQL rather than load every
 * record). Sorted by weight descending then contributor ascending; when nobody earned anything
 * all weights are 0 (there is nothing to split).
 */
export function weightsFromTotals(totals: readonly ContributorTotals[]): ContributorWeight[] {
  let sum = 0;
  const rows: ContributorWeight[] = totals.map((t) => {
    const raw = Number.isFinite(t.rawScore) ? Math.max(0, t.rawScore) : 0;
    sum += raw;
    return { contributor: t.contributor, rawScore: raw, weight: raw, accepted: t.accepted, rejected: t.rejected };
  });
  for (const row of rows) row.weight = sum > 0 ? row.weight / sum : 0;
  return rows.sort(byWeightThenName);
}

/** Weights for every contributor that appears in `records` (including those who earned nothing). */
export function contributorWeights(
  records: readonly ScoredRecordSummary[],
  opts: WeightOptions = {},
): ContributorWeight[] {
  const acc = new Map<string, ContributorTotals>();
  for (const r of records) {
    let e = acc.get(r.contributor);
    if (!e) {
      e = { contributor: r.contributor, rawScore: 0, accepted: 0, rejected: 0 };
      acc.set(r.contributor, e);
    }
    if (r.status === 'accepted') {
      e.accepted++;
      e.rawScore += recordValue(r, opts);
    } else {
      e.rejected++;
    }
  }
  return weightsFromTotals([...acc.values()]);
}
