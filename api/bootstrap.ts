import { Client, Connection } from '@temporalio/client';
import { loadConfig, type CommonsConfig } from '../infra/config.js';
import { temporalConnectionOptions } from '../infra/temporal-connection.js';
import { connectDb } from '../db/client.js';
import { S3ArtifactStore } from '../storage/s3-store.js';
import { Ledger } from '../db/ledger.js';
import { PostgresReplayGuard } from './auth.js';
import { resolveDeploymentId } from './deployment.js';
import { buildServer, type BuiltServer } from './server.js';
import type { ApiContext } from './context.js';
import { countWorkflowReads } from './workflow-reads.js';
import { startTracing } from '../infra/telemetry/tracing.js';
import { tracingClientInterceptors } from '../infra/telemetry/temporal.js';

/**
 * Connects everything the API needs and builds the server (used by api/main.ts, the demo and tests).
 * The schema is migrated beforehand: by the release's migrate Job (infra/migrate.ts) in production,
 * by the local stack in development.
 */
export async function startApi(
  cfg: CommonsConfig = loadConfig(),
  opts: { logger?: boolean | object; listen?: boolean } = {},
): Promise<BuiltServer & { ctx: ApiContext; url: string }> {
  // First, so the request spans, the client's and fetch's are made by the installed provider.
  const tracing = startTracing(cfg.tracing, 'commons-api');
  const dbh = connectDb(cfg.databaseUrl, { max: 20 });
  const connection = await Connection.connect(temporalConnectionOptions(cfg.temporal));
  const temporal = new Client({
    connection,
    namespace: cfg.temporal.namespace,
    interceptors: { workflow: [countWorkflowReads, ...tracingClientInterceptors(tracing)] },
  });
  const ctx: ApiContext = {
    cfg,
    sql: dbh.sql,
    ledger: new Ledger(dbh.sql),
    store: S3ArtifactStore.fromConfig(cfg.s3),
    temporal,
    replayGuard: new PostgresReplayGuard(dbh.sql),
    deploymentId: await resolveDeploymentId(dbh.sql, cfg.deploymentId),
  };
  const server = await buildServer(ctx, { logger: opts.logger, tracing });
  let url = cfg.api.publicUrl;
  if (opts.listen !== false) url = await server.app.listen({ host: cfg.api.host, port: cfg.api.port });
  return {
    ...server,
    ctx,
    url,
    async close() {
      await server.close();
      await connection.close();
      await dbh.close();
      await tracing.flush();
    },
  };
}
