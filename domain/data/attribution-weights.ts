// Contributor attribution weights for a dataset version (how the Datanet's rewards are split).
//
// rawScore(c) = sum over c's ACCEPTED records of quality x relevance (duplicates, near-duplicates
// and rejected records earn nothing).
// weight(c)   = concave(rawScore(c)) x standing(c), normalised so the weights sum to 1.
//
// Why concave (sqrt by default): marginal records from one contributor are worth less than the
// first ones (they overlap in style and content, and a model gains less from the 100th example of
// one person's writing than from a new voice), and a concave reward removes the incentive to flood
// a Datanet with mediocre volume: with sqrt, 100 records of value v earn 10*sqrt(v), ten times
// what 1 record earns, not a hundred times; ten contributors with 10 such records each earn
// sqrt(10) ~ 3.2x as much IN TOTAL as one contributor with all 100.

export type RecordStatus = 'accepted' | 'duplicate' | 'near-duplicate' | 'rejected';

export interface ScoredRecordSummary {
  contributor: string;
  quality: number;
  relevance: number;
  status: RecordStatus;
}

export interface WeightOptions {
  /** Concave transform of rawScore; 'sqrt' (default), 'log1p', or any non-decreasing f with f(0) = 0. */
  concave?: 'sqrt' | 'log1p' | ((rawScore: number) => number);
  /** Count duplicates and near-duplicates as rejections for the standing rule (default false). */
  duplicatesCountAsRejected?: boolean;
}

export interface ContributorWeight {
  contributor: string;
  rawScore: number;
  weight: number;
  /** Standing multiplier applied before normalisation (see contributorStanding). */
  standing: number;
  accepted: number;
  rejected: number;
}

/** Records judged before standing can drop: a couple of early mistakes cost nothing. */
export const STANDING_MIN_RECORDS = 5;

/**
 * Standing multiplier in [0, 1] from a contributor's accepted and rejected record counts.
 * Exact rule: with n = accepted + rejected and share = rejected / n,
 *   - n < 5 or share <= 0.5  -> 1 (no penalty);
 *   - otherwise              -> 1 - share, i.e. just above 50% rejected halves the weight, and
 *                               it falls linearly to 0 when every record was rejected.
 * The step at 50% is deliberate: a contributor whose records are mostly rejected is submitting
 * junk, not making occasional mistakes, and their accepted records (likely lucky passes) are
 * discounted as a whole.
 */
export function contributorStanding(accepted: number, rejected: number): number {
  const a = Math.max(0, accepted);
  const r = Math.max(0, rejected);
  const n = a + r;
  if (n < STANDING_MIN_RECORDS) return 1;
  const share = r / n;
  return share <= 0.5 ? 1 : 1 - share;
}

const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

function concaveFn(opt: WeightOptions['concave']): (x: number) => number {
  if (typeof opt === 'function') return opt;
  if (opt === 'log1p') return Math.log1p;
  return Math.sqrt;
}

export interface ContributorTotals {
  contributor: string;
  /** Sum of quality x relevance over the contributor's accepted records. */
  rawScore: number;
  accepted: number;
  /** Records counted against standing (the caller decides whether duplicates count). */
  rejected: number;
}

const byWeightThenName = (a: ContributorWeight, b: ContributorWeight): number =>
  b.weight - a.weight || (a.contributor < b.contributor ? -1 : a.contributor > b.contributor ? 1 : 0);

/**
 * Weights from per-contributor totals (for callers that aggregate in SQL rather than load every
 * record). Sorted by weight descending then contributor ascending; when nobody earned anything
 * all weights are 0 (there is nothing to split).
 */
export function weightsFromTotals(
  totals: readonly ContributorTotals[],
  opts: Pick<WeightOptions, 'concave'> = {},
): ContributorWeight[] {
  const f = concaveFn(opts.concave);
  let sum = 0;
  const rows: ContributorWeight[] = totals.map((t) => {
    const raw = Number.isFinite(t.rawScore) ? Math.max(0, t.rawScore) : 0;
    const standing = contributorStanding(t.accepted, t.rejected);
    const unnormalised = raw > 0 ? Math.max(0, f(raw)) * standing : 0;
    sum += unnormalised;
    return {
      contributor: t.contributor,
      rawScore: raw,
      weight: unnormalised,
      standing,
      accepted: t.accepted,
      rejected: t.rejected,
    };
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
      e.rawScore += clamp01(r.quality) * clamp01(r.relevance);
    } else if (r.status === 'rejected' || opts.duplicatesCountAsRejected) {
      e.rejected++;
    }
  }
  return weightsFromTotals([...acc.values()], opts);
}
