import type postgres from 'postgres';
import { accountsOf } from '../../contracts/accounts.js';

/**
 * What the economy's Prometheus gauges read at scrape time (api/business-metrics.ts). Every figure
 * is a total over Postgres, so it is the same whichever API replica answers and survives restarts.
 * Labels stay bounded: Datanets and budgets of running lifecycles only (each one passed or awaits
 * a vote), models by name (each one named by a passed proposal), never an account.
 */

export interface ContributionCount {
  datanet: string;
  status: string;
  count: number;
}

/**
 * Contributions of the Datanets of running lifecycles, by status (pending, scored, accepted,
 * rejected, duplicate, near-duplicate, curation states). Reads those Datanets' rows through
 * contributions_seq_idx; an ended lifecycle's Datanet no longer changes and is not counted.
 */
export async function countLiveContributions(sql: postgres.Sql): Promise<ContributionCount[]> {
  const rows = await sql<{ datanet: string; status: string; n: number }[]>`
    select c.datanet_id as datanet, c.status, count(*)::int as n
    from datanets d join proposals p on p.id = d.proposal_id and p.status = 'running'
    join contributions c on c.datanet_id = d.id
    group by c.datanet_id, c.status`;
  return rows.map((r) => ({ datanet: r.datanet, status: r.status, count: r.n }));
}

export interface LiveBudget {
  proposal: string;
  reserved: string;
  paid: string;
  left: string;
}

/**
 * Budgets of running lifecycles that reserved one (passed their vote): what was reserved, what was
 * paid out of budget:proposal:<id> (to anyone but the treasury, which only takes back what is
 * unused) and what is left in it.
 */
export async function listLiveBudgets(sql: postgres.Sql): Promise<LiveBudget[]> {
  // accountsOf.budget('') is the prefix every proposal's budget account shares.
  return sql<LiveBudget[]>`
    select p.id as proposal, p.budget_reserved::text as reserved,
      coalesce((select sum(t.amount) from transfers t
        where t.from_account = a.account and t.to_account <> ${accountsOf.treasury}), 0)::text as paid,
      coalesce((select b.amount from balances b where b.account = a.account and b.asset = 'OPEN'), 0)::text as "left"
    from proposals p cross join lateral (select ${accountsOf.budget('')} || p.id as account) a
    where p.status = 'running' and p.budget_reserved is not null`;
}

/** The treasury's OPEN balance: what new budgets are reserved from. */
export async function treasuryBalance(sql: postgres.Sql): Promise<string> {
  const [r] = await sql<{ amount: string }[]>`
    select coalesce((select amount from balances where account = ${accountsOf.treasury} and asset = 'OPEN'), 0)::text as amount`;
  return r?.amount ?? '0';
}

export interface ReviewTotals {
  model: string;
  rounds: number;
  agreed: number;
  disagreed: number;
  rewards: string;
  penalties: string;
}

/**
 * Settled review rounds by model (review_round_reviewers, one row per reviewer and round): items
 * answered with and against the consensus, rewards earned and bonds slashed for disagreeing.
 */
export async function reviewTotalsByModel(sql: postgres.Sql): Promise<ReviewTotals[]> {
  const rows = await sql<
    { model: string; rounds: number; agreed: number; disagreed: number; rewards: string; penalties: string }[]
  >`
    select p.model_name as model, count(distinct (r.proposal_id, r.round))::int as rounds,
      coalesce(sum(r.agreed), 0)::int as agreed, coalesce(sum(r.disagreed), 0)::int as disagreed,
      coalesce(sum(r.reward), 0)::text as rewards, coalesce(sum(r.penalty), 0)::text as penalties
    from review_round_reviewers r join proposals p on p.id = r.proposal_id
    group by p.model_name`;
  return rows;
}

/**
 * Proposal stakes slashed to the treasury: a governance veto is the only ending that slashes
 * (domain/lifecycle/compensation.ts), so the sum of vetoed proposals' stakes.
 */
export async function slashedProposalStakes(sql: postgres.Sql): Promise<string> {
  const [r] = await sql<{ amount: string }[]>`
    select coalesce(sum(stake), 0)::text as amount from proposals where status = 'vetoed'`;
  return r?.amount ?? '0';
}
