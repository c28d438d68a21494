import postgres from 'postgres';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../infra/config.js';
import { Ledger } from '../db/ledger.js';
import { S3ArtifactStore } from '../storage/s3-store.js';
import { PostgresReplayGuard } from './auth.js';
import { buildServer, type BuiltServer } from './server.js';

interface OpenApiResponse {
  description?: string;
  content?: Record<string, { schema?: object }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, OpenApiResponse> }>>;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/**
 * The OpenAPI document is the API's contract: every route states what it answers. A route added
 * without a response schema for its success status fails here. No stack is needed: nothing
 * connects until a request is served (postgres.js and the Temporal client are lazy).
 */
describe('OpenAPI document (/docs/json)', () => {
  let server: BuiltServer;
  let sql: postgres.Sql;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    const cfg = loadConfig({ ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    sql = postgres(cfg.databaseUrl, { max: 1 });
    const ctx = {
      cfg,
      sql,
      ledger: new Ledger(sql),
      store: S3ArtifactStore.fromConfig(cfg.s3),
      temporal: new Client({ connection: Connection.lazy({ address: cfg.temporal.address }) }),
      replayGuard: new PostgresReplayGuard(sql),
      deploymentId: 'openapi-test',
    };
    server = await buildServer(ctx, { logger: false });
    const res = await server.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<OpenApiDocument>();
  });
  afterAll(async () => {
    await server.close();
    await sql.end({ timeout: 1 });
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.has(method))
        .map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, responses: op.responses ?? {} })),
    );

  it('lists the public routes', () => {
    const routes = operations().map((o) => o.route);
    expect(routes.length).toBeGreaterThanOrEqual(25);
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/proposals',
        'GET /v1/proposals/{id}',
        'POST /v1/datanets/{id}/contributions/batch',
        'POST /v1/models/{name}/infer',
        'GET /healthz',
      ]),
    );
  });

  it('gives every route a response schema for its success status', () => {
    const missing = operations()
      .filter(({ responses }) => {
        const success = Object.entries(responses).filter(([status]) => /^2\d\d$/.test(status));
        return success.length === 0 || success.some(([, r]) => !r.content?.['application/json']?.schema);
      })
      .map((o) => o.route);
    expect(missing).toEqual([]);
  });

  it('documents the error body of every route that may refuse a request', () => {
    const missing = operations()
      .filter((o) => o.route !== 'GET /healthz')
      .filter(({ responses }) => {
        const schema = responses['4XX']?.content?.['application/json']?.schema as
          { properties?: Record<string, unknown>; required?: string[] } | undefined;
        return !schema?.properties?.error || !schema.required?.includes('error');
      })
      .map((o) => o.route);
    expect(missing).toEqual([]);
  });
});
