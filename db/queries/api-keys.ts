import type postgres from 'postgres';

/** Inference API keys (only their SHA-256 is stored). */

export interface ApiKey {
  id: string;
  owner: string;
  revoked: boolean;
}

export async function findApiKeyByHash(sql: postgres.Sql, keyHash: string): Promise<ApiKey | undefined> {
  const [row] = await sql<ApiKey[]>`select id, owner, revoked from api_keys where key_hash = ${keyHash}`;
  return row && { id: row.id, owner: row.owner, revoked: row.revoked };
}

export async function insertApiKey(
  sql: postgres.Sql,
  k: { id: string; keyHash: string; owner: string },
): Promise<void> {
  await sql`insert into api_keys (id, key_hash, owner) values (${k.id}, ${k.keyHash}, ${k.owner})`;
}

/** Revokes a key of `owner` (any owner's when `owner` is undefined, for admins); false when there is no such key. */
export async function revokeApiKey(sql: postgres.Sql, id: string, owner: string | undefined): Promise<boolean> {
  const rows = await sql`
    update api_keys set revoked = true
    where id = ${id} and (${owner ?? null}::text is null or owner = ${owner ?? null})
    returning 1`;
  return rows.length === 1;
}
