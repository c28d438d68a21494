/**
 * Protocol setting of staked review: the bond (OPEN base units in `stake:validator:<address>`) an
 * account needs to be assigned and to answer review tasks. Read by the API (refusals) and by the
 * round activities (the reviewer pool), so both apply the same minimum.
 */
export const DEFAULT_MIN_REVIEW_BOND = 1000n;

export function minReviewBond(env: NodeJS.ProcessEnv = process.env): bigint {
  const v = env.COMMONS_MIN_REVIEW_BOND;
  if (v === undefined || v === '') return DEFAULT_MIN_REVIEW_BOND;
  if (!/^\d+$/.test(v) || BigInt(v) < 1n)
    throw new Error('COMMONS_MIN_REVIEW_BOND must be a positive integer (OPEN base units)');
  return BigInt(v);
}
