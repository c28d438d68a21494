// Entry point of the release's migrate Job (infra/k8s/migrate-job.yaml, the compose `migrate`
// one-shot): applies the drizzle migrations once, so the API and the workers never migrate on start.
// `--wait` is the init container of every pod that uses Postgres: it applies nothing and returns
// once the database has every migration of this image, so no pod runs against an older schema.
import { loadConfig } from './config.js';
import { migrateDb, pendingMigrations } from '../db/client.js';

const WAIT_STEP_MS = 2_000;
const WAIT_LIMIT_MS = 30 * 60_000;

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ level: 'INFO', time: Date.now(), msg, ...extra }));

async function waitForSchema(url: string): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const pending = await pendingMigrations(url).catch((err: Error) => {
      log('database not reachable yet', { error: err.message });
      return undefined;
    });
    if (pending === 0) return log('database schema is current');
    if (Date.now() > deadline) throw new Error(`migrations still pending after ${WAIT_LIMIT_MS / 60_000} minutes`);
    if (pending !== undefined) log('waiting for the migrate Job', { pending });
    await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
  }
}

const cfg = loadConfig();
if (process.argv.includes('--wait')) await waitForSchema(cfg.databaseUrl);
else {
  await migrateDb(cfg.databaseUrl);
  log('migrations applied');
}
