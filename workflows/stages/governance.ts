import { condition, patched, setHandler } from '@temporalio/workflow';
import { withdrawalRefusal } from '../../domain/governance/withdrawal.js';
import { voteUpdate, withdrawUpdate, tallyQuery } from '../../contracts/messages.js';
import {
  decidedEarly,
  outcome as decideOutcome,
  tally as computeTally,
  validateVote,
  type Outcome,
  type PowerSnapshot,
  type VoteOption,
} from '../../domain/governance/tally.js';
import { lifecycle, lifecycleLocal } from '../activity-proxies.js';
import type { GovernanceState, LifecycleInput, VoteInput } from '../../domain/lifecycle/types.js';

/** Patch id: a vote is recorded by a local activity (CONTRIBUTING, "Changing workflow code"). */
export const VOTE_RECORDED_LOCALLY = 'vote-recorded-locally';

export type GovernanceResult = { kind: 'outcome'; outcome: Outcome } | { kind: 'withdrawn' };

/**
 * Opens voting with a snapshot of gOPEN power, accepts votes as Updates (validated before they
 * reach history), and closes at the deadline or as soon as the remaining power cannot change
 * the outcome. Votes and the tally are persisted through activities, a vote before it is answered
 * (so the Postgres read model is never behind the workflow's count).
 */
export async function runGovernance(input: LifecycleInput, state: GovernanceState): Promise<GovernanceResult> {
  const params = input.params.governance;
  let snapshot: PowerSnapshot | undefined;
  const votes: Record<string, VoteOption> = {};
  let closed = false;
  let withdrawn = false;
  let pendingRecords = 0;

  setHandler(
    voteUpdate,
    async ({ voter, option }) => {
      votes[voter] = option; // claimed before the await so a concurrent duplicate is refused
      const record = { proposalId: input.proposalId, voter, option, power: snapshot?.[voter] ?? '0' };
      pendingRecords++;
      try {
        // Recorded inside the task that accepts the vote, which then answers it: no trip through
        // the task queue and no second workflow task before the voter has the answer.
        if (patched(VOTE_RECORDED_LOCALLY)) await lifecycleLocal.recordVote(record);
        else await lifecycle.recordVote(record);
      } finally {
        pendingRecords--;
      }
      state.tally = computeTally(snapshot!, votes);
      return { accepted: true as const, tally: state.tally };
    },
    {
      validator: ({ voter, option }: VoteInput) => {
        if (!snapshot) throw new Error('voting has not opened yet');
        const v = validateVote({ snapshot, votes, voter, option, closed });
        if (!v.ok) throw new Error(v.reason);
      },
    },
  );
  setHandler(
    withdrawUpdate,
    () => {
      withdrawn = true;
      return { withdrawn: true as const };
    },
    {
      validator: ({ requester }: { requester: string }) => {
        if (requester !== input.proposer) throw new Error('only the proposer may withdraw the proposal');
        if (closed) throw new Error('governance has closed; the proposal can no longer be withdrawn');
        // Withdrawal is refused while a veto is winning (domain/governance/withdrawal.ts).
        if (snapshot) {
          const refusal = withdrawalRefusal(snapshot, votes, params);
          if (refusal) throw new Error(refusal);
        }
      },
    },
  );
  setHandler(tallyQuery, () => ({ tally: state.tally, outcome: state.outcome, open: !closed && !!snapshot }));

  const snap = await lifecycle.snapshotVotingPower({ proposalId: input.proposalId });
  snapshot = snap.snapshot;
  state.opensAt = Date.now();
  state.closesAt = state.opensAt + params.votingPeriodMs;
  state.snapshotTotal = snap.total;
  state.voters = Object.keys(snapshot).length;
  state.tally = computeTally(snapshot, votes);

  const early = () =>
    pendingRecords === 0 &&
    !!snapshot &&
    Object.keys(votes).length > 0 &&
    decidedEarly(snapshot, votes, params) !== null;
  await condition(() => withdrawn || early(), params.votingPeriodMs);
  closed = true;
  await condition(() => pendingRecords === 0);
  if (withdrawn) return { kind: 'withdrawn' };

  state.tally = computeTally(snapshot, votes);
  const early2 = decidedEarly(snapshot, votes, params);
  state.closedEarly = early2 !== null && Date.now() < state.closesAt;
  state.outcome = state.closedEarly ? early2! : decideOutcome(state.tally, params);
  await lifecycle.recordTally({
    proposalId: input.proposalId,
    tally: state.tally,
    outcome: state.outcome,
    closedEarly: state.closedEarly,
    // A vote recorded locally by a task that was lost, and refused on its retry, left a row no
    // count holds: the tally's close removes every row but the counted voters'.
    ...(patched(VOTE_RECORDED_LOCALLY) ? { voters: Object.keys(votes) } : {}),
  });
  return { kind: 'outcome', outcome: state.outcome };
}
