import type postgres from 'postgres';

/** The deployment id kept in Postgres: the first caller's candidate wins, every later caller reads it. */
export async function ensureDeploymentId(sql: postgres.Sql, candidate: string): Promise<string> {
  await sql`insert into deployment_identity (singleton, id) values (true, ${candidate}) on conflict do nothing`;
  const [row] = await sql<{ id: string }[]>`select id from deployment_identity where singleton`;
  if (!row) throw new Error('deployment_identity has no row');
  return row.id;
}
