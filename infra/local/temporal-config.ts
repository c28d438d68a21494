/**
 * What both local Temporal servers are given, so the dev server and the real server differ only in
 * persistence and process layout (infra/local/temporal.ts, infra/local/temporal-server.ts).
 */

/** The dynamic config the stack sets on either server. */
export const STACK_DYNAMIC_CONFIG: Record<string, unknown> = {
  // Workflows wait on Updates from humans; lift the default per-workflow in-flight update cap.
  'history.maxInFlightUpdates': 100,
  // Worker Versioning (worker deployments, pinned workflows). On by default in this server (1.29.1);
  // stated so the stack does not depend on a default. Versions report "drained" seconds after their
  // last pinned workflow closes instead of minutes (the production defaults are 3 min grace, 3 min refresh).
  'system.enableDeploymentVersions': true,
  'matching.wv.VersionDrainageStatusVisibilityGracePeriod': '5s',
  'matching.wv.VersionDrainageStatusRefreshInterval': '1s',
};

/**
 * What the CLI's dev server sets on itself beside the stack's values (temporalcli/commands.server.go
 * and devserver/server.go at the pinned CLI), given to the real server too: test files register a
 * namespace and its search attributes and start workflows with them at once, which needs the
 * search-attribute cache read through; the raised persistence and visibility limits go with it.
 */
export const DEV_SERVER_BUILTIN_DYNAMIC_CONFIG: Record<string, unknown> = {
  'system.forceSearchAttributesCacheRefreshOnRead': true,
  'frontend.persistenceMaxQPS': 10000,
  'history.persistenceMaxQPS': 45000,
  'frontend.namespaceRPS.visibility': 100,
};

/** Which server the local stack runs: `dev` (the CLI's dev server, SQLite) or `server` (the real one, PostgreSQL). */
export type TemporalFlavour = 'dev' | 'server';

export function temporalFlavour(env: NodeJS.ProcessEnv = process.env): TemporalFlavour {
  const v = env.COMMONS_TEMPORAL ?? 'dev';
  if (v !== 'dev' && v !== 'server') throw new Error(`COMMONS_TEMPORAL must be "dev" or "server", not "${v}"`);
  return v;
}

/**
 * History shards of the real server (COMMONS_TEMPORAL_SHARDS). Fixed for the life of a cluster's
 * database, so each count gets its own databases (temporal-server.ts).
 */
export function temporalShards(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.COMMONS_TEMPORAL_SHARDS ?? '4';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16384)
    throw new Error(`COMMONS_TEMPORAL_SHARDS must be an integer from 1 to 16384, not "${raw}"`);
  return n;
}
