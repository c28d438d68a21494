import type postgres from 'postgres';

/** Votes and final tallies, written by the governance activities; read by the API. */

export interface FinalTally {
  yes: string;
  no: string;
  abstain: string;
  veto: string;
  totalPower: string;
  outcome: string;
  closedEarly: boolean;
  closedAt: Date;
}

export interface Vote {
  voter: string;
  option: string;
  power: string;
  createdAt: Date;
}

export async function findFinalTally(sql: postgres.Sql, proposalId: string): Promise<FinalTally | undefined> {
  const [r] = await sql<
    {
      yes: string;
      no: string;
      abstain: string;
      veto: string;
      total_power: string;
      outcome: string;
      closed_early: boolean;
      closed_at: Date;
    }[]
  >`select * from tallies where proposal_id = ${proposalId}`;
  return (
    r && {
      yes: String(r.yes),
      no: String(r.no),
      abstain: String(r.abstain),
      veto: String(r.veto),
      totalPower: String(r.total_power),
      outcome: r.outcome,
      closedEarly: r.closed_early,
      closedAt: r.closed_at,
    }
  );
}

/** A proposal's votes in the order they were cast. */
export async function listVotes(sql: postgres.Sql, proposalId: string): Promise<Vote[]> {
  const rows = await sql<{ voter: string; option: string; power: string; created_at: Date }[]>`
    select voter, option, power, created_at from votes where proposal_id = ${proposalId} order by created_at`;
  return rows.map((v) => ({ voter: v.voter, option: v.option, power: String(v.power), createdAt: v.created_at }));
}

/** Each voter's power on a proposal, by address (the governors' share of inference fees). */
export async function listVoterPowers(
  sql: postgres.Sql,
  proposalId: string,
): Promise<{ address: string; power: string }[]> {
  const rows = await sql<{ address: string; power: string }[]>`
    select voter as address, power from votes where proposal_id = ${proposalId} order by voter`;
  return rows.map((r) => ({ address: r.address, power: String(r.power) }));
}

/** Governors' gOPEN balances (positive only), by address: what a power snapshot is taken from. */
export async function governorBalances(sql: postgres.Sql): Promise<Record<string, string>> {
  const rows = await sql<{ account: string; amount: string }[]>`
    select b.account, b.amount from balances b join accounts a on a.address = b.account
    where b.asset = 'gOPEN' and b.amount > 0 and 'governor' = any(a.roles)`;
  const balances: Record<string, string> = {};
  for (const r of rows) balances[r.account] = String(r.amount);
  return balances;
}

/** Every delegation, delegator to delegatee. */
export async function allDelegations(sql: postgres.Sql): Promise<Record<string, string>> {
  const delegations: Record<string, string> = {};
  for (const d of await sql<{ delegator: string; delegatee: string }[]>`select delegator, delegatee from delegations`)
    delegations[d.delegator] = d.delegatee;
  return delegations;
}

/**
 * A vote as the workflow accepted it; a replayed one changes nothing. The recording runs inside the
 * workflow task that accepts the vote, so a task lost before the acceptance was stored can leave a
 * row the workflow never counted: the voter's next accepted vote overwrites it.
 */
export async function insertVote(
  sql: postgres.Sql,
  v: { proposalId: string; voter: string; option: string; power: string },
): Promise<void> {
  await sql`insert into votes (proposal_id, voter, option, power) values (${v.proposalId}, ${v.voter}, ${v.option}, ${v.power})
    on conflict (proposal_id, voter) do update set option = excluded.option, power = excluded.power`;
}

/**
 * The final tally of a proposal's vote (the last one recorded stands). With `voters`, the voters the
 * workflow counted, any other vote row goes in the same transaction: a row recorded by a workflow
 * task that was lost before its acceptance was stored, and whose retry refused the vote, would
 * otherwise earn its voter a share of the governors' fees.
 */
export async function upsertTally(
  sql: postgres.Sql,
  proposalId: string,
  t: { yes: string; no: string; abstain: string; veto: string; total: string },
  outcome: string,
  closedEarly: boolean,
  voters?: string[],
): Promise<void> {
  await sql.begin(async (tx) => {
    if (voters) await tx`delete from votes where proposal_id = ${proposalId} and voter <> all(${voters})`;
    await tx`
      insert into tallies (proposal_id, yes, no, abstain, veto, total_power, outcome, closed_early)
      values (${proposalId}, ${t.yes}, ${t.no}, ${t.abstain}, ${t.veto}, ${t.total}, ${outcome}, ${closedEarly})
      on conflict (proposal_id) do update set yes = excluded.yes, no = excluded.no, abstain = excluded.abstain, veto = excluded.veto,
        total_power = excluded.total_power, outcome = excluded.outcome, closed_early = excluded.closed_early`;
  });
}
