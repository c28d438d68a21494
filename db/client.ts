import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';

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

/**
 * How many of this code's migrations the database lacks (0: its schema is current). Mirrors
 * drizzle's own rule: a migration is applied when the newest recorded one is not older than it.
 * Pods wait on this (infra/migrate.ts --wait) while the release's migrate Job applies them.
 */
export async function pendingMigrations(url: string): Promise<number> {
  const expected = readMigrationFiles({ migrationsFolder });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [table] = await sql<{ exists: boolean }[]>`
      select to_regclass('drizzle.__drizzle_migrations') is not null as exists`;
    if (!table?.exists) return expected.length;
    const [last] = await sql<{ at: string | null }[]>`
      select max(created_at)::text as at from drizzle.__drizzle_migrations`;
    const newest = Number(last?.at ?? 0);
    return expected.filter((m) => m.folderMillis > newest).length;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
