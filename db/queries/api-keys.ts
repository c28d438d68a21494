import type postgres from 'postgres';

/** Inference API keys (only their SHA-256 is stored). */

export interface ApiKey {
  id: string;
  owner: string;
  revoked: boolean;
}

/** The keys with these hashes, by hash (one query for many calls; see api/api-key-lookup.ts). */
export async function findApiKeysByHashes(sql: postgres.Sql, keyHashes: string[]): Promise<Map<string, ApiKey>> {
  const rows = await sql<(ApiKey & { key_hash: string })[]>`
    select id, owner, revoked, key_hash from api_keys where key_hash = any(${keyHashes}::text[])`;
  return new Map(rows.map((r) => [r.key_hash, { id: r.id, owner: r.owner, revoked: r.revoked }]));
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
