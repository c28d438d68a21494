import type postgres from 'postgres';
import { lockBalances } from '../ledger.js';

/**
 * The committed randomness of staked review rounds (domain/rlhf/round-seed.ts): the commitment when
 * a round opens, the pool and seed when enlistment closes, the reveal at settlement. Each write
 * happens once: a retried activity reads back what the first wrote.
 */

export interface RoundSeedRow {
  proposalId: string;
  round: number;
  secret: string;
  commitment: string;
  committedAt: Date;
  pool: { reviewer: string; stake: string }[] | null;
  seed: string | null;
  revealedAt: Date | null;
}

interface Row {
  proposal_id: string;
  round: number;
  secret: string;
  commitment: string;
  committed_at: Date;
  pool: { reviewer: string; stake: string }[] | null;
  seed: string | null;
  revealed_at: Date | null;
}
const toRow = (r: Row): RoundSeedRow => ({
  proposalId: r.proposal_id,
  round: r.round,
  secret: r.secret,
  commitment: r.commitment,
  committedAt: r.committed_at,
  pool: r.pool,
  seed: r.seed,
  revealedAt: r.revealed_at,
});

/** Stores the round's secret and commitment unless it has them already; returns the stored row. */
export async function commitRoundSeed(
  sql: postgres.Sql,
  a: { proposalId: string; round: number; secret: string; commitment: string },
): Promise<RoundSeedRow> {
  await sql`
    insert into review_round_seeds (proposal_id, round, secret, commitment)
    values (${a.proposalId}, ${a.round}, ${a.secret}, ${a.commitment}) on conflict do nothing`;
  const row = await findRoundSeed(sql, a.proposalId, a.round);
  if (!row) throw new Error(`round seed of ${a.proposalId} round ${a.round} vanished`);
  return row;
}

/**
 * Closes enlistment for the round: in one transaction, locks the bonds of the enlisted reviewers
 * (so an unstake either commits before and is seen, or waits and then finds the bond locked),
 * records the pool (bond at least `minBond`) and the seed `derive` makes of it. Once recorded, the
 * same pool and seed are returned.
 */
export async function drawRoundPool(
  sql: postgres.Sql,
  a: {
    proposalId: string;
    round: number;
    bondAccountPrefix: string;
    minBond: bigint;
    derive: (secret: string, pool: { reviewer: string; stake: string }[]) => string;
  },
): Promise<{ pool: { reviewer: string; stake: string }[]; seed: string }> {
  return sql.begin(async (tx) => {
    const [row] = await tx<Row[]>`
      select * from review_round_seeds where proposal_id = ${a.proposalId} and round = ${a.round} for update`;
    if (!row) throw new Error(`round ${a.round} of ${a.proposalId} has no committed seed`);
    if (row.pool && row.seed) return { pool: row.pool, seed: row.seed };
    const enlisted = await tx<{ reviewer: string }[]>`
      select reviewer from review_enlistments where proposal_id = ${a.proposalId} order by reviewer`;
    const bonds = await lockBalances(
      tx,
      'OPEN',
      enlisted.map((e) => a.bondAccountPrefix + e.reviewer),
    );
    const pool = enlisted
      .map((e) => ({ reviewer: e.reviewer, bond: bonds.get(a.bondAccountPrefix + e.reviewer) ?? 0n }))
      .filter((e) => e.bond >= a.minBond)
      .map((e) => ({ reviewer: e.reviewer, stake: e.bond.toString() }));
    const seed = a.derive(row.secret, pool);
    await tx`
      update review_round_seeds set pool = ${tx.json(pool)}, seed = ${seed}, drawn_at = now()
      where proposal_id = ${a.proposalId} and round = ${a.round}`;
    return { pool, seed };
  });
}

/** Publishes the secret (settlement); a second call changes nothing. */
export async function revealRoundSeed(sql: postgres.Sql | postgres.TransactionSql, proposalId: string, round: number) {
  await sql`
    update review_round_seeds set revealed_at = now()
    where proposal_id = ${proposalId} and round = ${round} and revealed_at is null`;
}

export async function findRoundSeed(
  sql: postgres.Sql,
  proposalId: string,
  round: number,
): Promise<RoundSeedRow | undefined> {
  const [row] = await sql<Row[]>`
    select * from review_round_seeds where proposal_id = ${proposalId} and round = ${round}`;
  return row && toRow(row);
}
