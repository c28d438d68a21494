import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';

export interface DbHandle {
  sql: postgres.Sql;
  close(): Promise<void>;
}

/**
 * The raw postgres.js client every query uses. drizzle-orm defines the schema (db/schema.ts) and
 * applies the migrations below; queries are plain SQL through this client.
 */
export function connectDb(url: string, opts: { max?: number } = {}): DbHandle {
  const sql = postgres(url, { max: opts.max ?? 10, onnotice: () => {} });
  return { sql, close: () => sql.end({ timeout: 5 }) };
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
