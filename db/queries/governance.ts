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
