import {
  resolveDelegations,
  type Outcome,
  type PowerSnapshot,
  type TallyResult,
  type VoteOption,
} from '../../domain/governance/tally.js';
import type { ActivityDeps } from '../deps.js';
import { storePowerSnapshot } from '../../db/queries/lifecycle-views.js';

export function createGovernanceActivities({ sql }: Pick<ActivityDeps, 'sql'>) {
  return {
    /**
     * gOPEN balances of governors at the moment voting opens, with delegations resolved. Stored
     * once (the API tallies votes against it); a retry returns the stored snapshot.
     */
    async snapshotVotingPower(a: { proposalId: string }): Promise<{ snapshot: PowerSnapshot; total: string }> {
      const rows = await sql<{ account: string; amount: string }[]>`
        select b.account, b.amount from balances b join accounts a on a.address = b.account
        where b.asset = 'gOPEN' and b.amount > 0 and 'governor' = any(a.roles)`;
      const balances: Record<string, string> = {};
      for (const r of rows) balances[r.account] = String(r.amount);
      const delegations: Record<string, string> = {};
      for (const d of await sql<
        { delegator: string; delegatee: string }[]
      >`select delegator, delegatee from delegations`)
        delegations[d.delegator] = d.delegatee;
      const snapshot = resolveDelegations(balances, delegations);
      const total = Object.values(snapshot)
        .reduce((s, v) => s + BigInt(v), 0n)
        .toString();
      const stored = await storePowerSnapshot(sql, a.proposalId, snapshot, total);
      return { snapshot: stored.snapshot, total: stored.total };
    },
    async recordVote(a: { proposalId: string; voter: string; option: VoteOption; power: string }) {
      await sql`insert into votes (proposal_id, voter, option, power) values (${a.proposalId}, ${a.voter}, ${a.option}, ${a.power}) on conflict do nothing`;
    },
    async recordTally(a: { proposalId: string; tally: TallyResult; outcome: Outcome; closedEarly: boolean }) {
      const t = a.tally;
      await sql`
        insert into tallies (proposal_id, yes, no, abstain, veto, total_power, outcome, closed_early)
        values (${a.proposalId}, ${t.yes}, ${t.no}, ${t.abstain}, ${t.veto}, ${t.total}, ${a.outcome}, ${a.closedEarly})
        on conflict (proposal_id) do update set yes = excluded.yes, no = excluded.no, abstain = excluded.abstain, veto = excluded.veto,
          total_power = excluded.total_power, outcome = excluded.outcome, closed_early = excluded.closed_early`;
    },
  };
}
