import type postgres from 'postgres';

/** Resolves when Postgres answers a trivial query. */
export async function pingDatabase(sql: postgres.Sql): Promise<void> {
  await sql`select 1`;
}
