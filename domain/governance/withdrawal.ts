import { tally, type GovernanceParams, type PowerSnapshot, type VoteOption } from './tally.js';

/**
 * Withdrawal vs veto: a proposer may withdraw (stake refunded) only while the veto is not
 * winning. Once the veto power cast is above `vetoThreshold` of the power cast — the vote would
 * end `vetoed` if it closed now, quorum permitting — withdrawing is refused, so a proposer cannot
 * see a veto coming and take the stake back before the close slashes it. The proposal then ends
 * by the vote: vetoed (slashed) unless later votes dilute the veto, exactly as without the
 * attempt. Exact integer comparison, as in the tally. Returns the refusal, or undefined.
 */
export function withdrawalRefusal(
  snapshot: PowerSnapshot,
  votes: Record<string, VoteOption>,
  params: GovernanceParams,
): string | undefined {
  const t = tally(snapshot, votes);
  const veto = BigInt(t.veto);
  const cast = BigInt(t.cast);
  const threshold = BigInt(Math.round(params.vetoThreshold * 1_000_000));
  if (cast > 0n && veto * 1_000_000n > threshold * cast)
    return `the veto (${t.veto} of ${t.cast} power cast) is above the veto threshold (${params.vetoThreshold}): a proposal cannot be withdrawn while a veto is winning`;
  return undefined;
}
