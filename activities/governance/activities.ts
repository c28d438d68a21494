import {
  resolveDelegations,
  type Outcome,
  type PowerSnapshot,
  type TallyResult,
  type VoteOption,
} from '../../domain/governance/tally.js';
import type { ActivityDeps } from '../deps.js';
import { storePowerSnapshot } from '../../db/queries/lifecycle-views.js';
import { allDelegations, governorBalances, insertVote, upsertTally } from '../../db/queries/governance.js';

export function createGovernanceActivities({ sql }: Pick<ActivityDeps, 'sql'>) {
  return {
    /**
     * gOPEN balances of governors at the moment voting opens, with delegations resolved. Stored
     * once (the API tallies votes against it); a retry returns the stored snapshot.
     */
    async snapshotVotingPower(a: { proposalId: string }): Promise<{ snapshot: PowerSnapshot; total: string }> {
      const snapshot = resolveDelegations(await governorBalances(sql), await allDelegations(sql));
      const total = Object.values(snapshot)
        .reduce((s, v) => s + BigInt(v), 0n)
        .toString();
      const stored = await storePowerSnapshot(sql, a.proposalId, snapshot, total);
      return { snapshot: stored.snapshot, total: stored.total };
    },
    async recordVote(a: { proposalId: string; voter: string; option: VoteOption; power: string }) {
      await insertVote(sql, a);
    },
    async recordTally(a: {
      proposalId: string;
      tally: TallyResult;
      outcome: Outcome;
      closedEarly: boolean;
      /** The voters the workflow counted: any other vote row is removed (db/queries/governance.ts). */
      voters?: string[];
    }) {
      await upsertTally(sql, a.proposalId, a.tally, a.outcome, a.closedEarly, a.voters);
    },
  };
}
