import type postgres from 'postgres';

/**
 * What the serving side needs to know of erasures: the hashes of the records erased from the
 * Datanets of a proposal, whose fee shares go to the treasury from the erasure on
 * (domain/serving/erased-share.ts). Erasing itself is db/queries/private-records.ts's.
 */
export async function erasedHashesOfProposal(sql: postgres.Sql, proposalId: string): Promise<Set<string>> {
  const rows = await sql<{ hash: string }[]>`
    select e.hash from record_erasures e join datanets d on d.id = e.datanet_id where d.proposal_id = ${proposalId}`;
  return new Set(rows.map((r) => r.hash));
}
