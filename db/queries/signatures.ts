import type postgres from 'postgres';

/** Used request signatures (replay protection shared by every API instance). */

export async function pruneExpiredSignatures(sql: postgres.Sql): Promise<void> {
  await sql`delete from used_signatures where expires_at < now()`;
}

/** Records the signature; false when it had been used already. */
export async function claimSignature(sql: postgres.Sql, signature: string, expiresAt: Date): Promise<boolean> {
  const rows = await sql`
    insert into used_signatures (signature, expires_at) values (${signature}, ${expiresAt.toISOString()}) on conflict do nothing returning 1`;
  return rows.length === 1;
}
