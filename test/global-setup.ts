import { startSystem, type System } from '../infra/local/system.js';

/**
 * One real stack per test run: Temporal dev server, Postgres and versitygw in a fresh temporary
 * state directory, without workers or an API (each test file starts its own in process, through
 * the same harness). Test processes (forks) inherit the connection settings through process.env.
 * Only the `stack` tier (vitest.config.ts) uses it.
 */
let system: System | undefined;

export async function setup(): Promise<void> {
  const started = Date.now();
  system = await startSystem({
    workers: false,
    api: false,
    env: { COMMONS_TEST_STACK: '1' },
    log: (m) => console.log(`[stack] ${m}`),
  });
  console.log(
    `[stack] up in ${Date.now() - started} ms (Temporal ${system.cfg.temporal.address}, UI ${system.temporalUiUrl ?? 'external'})`,
  );
}

export async function teardown(): Promise<void> {
  await system?.stop();
}
