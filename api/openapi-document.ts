import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../infra/config.js';
import { connectDb } from '../db/client.js';
import { Ledger } from '../db/ledger.js';
import { S3ArtifactStore } from '../storage/s3-store.js';
import { PostgresReplayGuard } from './auth.js';
import { buildServer } from './server.js';
import type { OpenApiDocument } from './openapi-markdown.js';

/**
 * The OpenAPI document the API serves at /docs/json, built without any service running: the
 * Postgres and Temporal clients connect lazily and nothing here sends a request to them. The
 * configuration is the defaults, not this process's environment, so the document is the same
 * wherever it is built.
 */
export async function buildOpenApiDocument(): Promise<OpenApiDocument> {
  const cfg = loadConfig({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
  const db = connectDb(cfg.databaseUrl, { max: 1 });
  const server = await buildServer(
    {
      cfg,
      sql: db.sql,
      ledger: new Ledger(db.sql),
      store: S3ArtifactStore.fromConfig(cfg.s3),
      temporal: new Client({ connection: Connection.lazy({ address: cfg.temporal.address }) }),
      replayGuard: new PostgresReplayGuard(db.sql),
      deploymentId: 'openapi-document',
    },
    { logger: false },
  );
  try {
    const res = await server.app.inject({ method: 'GET', url: '/docs/json' });
    if (res.statusCode !== 200) throw new Error(`/docs/json answered ${res.statusCode}`);
    return res.json<OpenApiDocument>();
  } finally {
    await server.close();
    await db.close();
  }
}
