import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import * as schema from './schema.js';

export type Database = PostgresJsDatabase<typeof schema>;

export interface DbHandle {
  db: Database;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export function connectDb(url: string, opts: { max?: number } = {}): DbHandle {
  const sql = postgres(url, { max: opts.max ?? 10, onnotice: () => {} });
  // drizzle replaces its client's date and JSON serializers, so it gets a client of its own and the
  // raw `sql` client keeps postgres.js's defaults (sql.json, Date parameters).
  const drizzleSql = postgres(url, { max: 4, onnotice: () => {} });
  const db = drizzle(drizzleSql, { schema });
  return { db, sql, close: async () => void (await Promise.all([sql.end({ timeout: 5 }), drizzleSql.end({ timeout: 5 })])) };
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

/** Applies the drizzle-kit migrations; safe to run concurrently from several processes. */
export async function migrateDb(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // An advisory lock keeps two starting processes from racing on the migrations table.
    await sql`select pg_advisory_lock(727274)`;
    await migrate(drizzle(sql), { migrationsFolder });
    await sql`select pg_advisory_unlock(727274)`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
