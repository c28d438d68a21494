import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifecycleStageKey, SEARCH_ATTRIBUTE_KEYS } from '../../contracts/search-attributes.js';
import { freePort } from './ports.js';
import { freeServerPorts, startTemporalServer, type TemporalServerPorts } from './temporal-server.js';
import type { LocalTemporal } from './temporal.js';

// The real server (COMMONS_TEMPORAL=server) of its own, on the run's Postgres under databases named
// for this file, whichever server the run's stack is: schemas applied by the server's SQL tool, the
// default namespace and the contract's search attributes registered, state kept across a restart.
const prefix = `temporal_test_${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'commons-temporal-server-'));
let ports: TemporalServerPorts;
let server: LocalTemporal | undefined;
const start = () =>
  startTemporalServer({ dir, postgresUrl: process.env.DATABASE_URL!, shards: 2, ports, databasePrefix: prefix });

async function withConnection<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
  // The server this file started: plain TCP on loopback.
  const c = await Connection.connect({ address: server!.address });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

beforeAll(async () => {
  ports = await freeServerPorts(await freePort(), await freePort());
  server = await start();
}, 600_000);

afterAll(async () => {
  await server?.stop();
  const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  try {
    for (const db of [`${prefix}_2_shards`, `${prefix}_visibility_2_shards`])
      await admin.unsafe(`drop database if exists "${db}" with (force)`);
  } finally {
    await admin.end();
  }
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('the real Temporal server in the local stack', () => {
  it('has the default namespace with every contract search attribute, searchable in SQL visibility, and the UI', async () => {
    await withConnection(async (c) => {
      const ns = await c.workflowService.describeNamespace({ namespace: 'default' });
      expect(ns.namespaceInfo?.name).toBe('default');
      const { customAttributes } = await c.operatorService.listSearchAttributes({
        namespace: 'default',
      });
      const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
      for (const key of SEARCH_ATTRIBUTE_KEYS)
        expect(customAttributes?.[key.name], key.name).toBe(IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]);
      const info = await c.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBe('1.29.1');
    });
    // SQL visibility (the only store configured) finds a workflow by a contract search attribute.
    const probe = `probe-${randomBytes(4).toString('hex')}`;
    await withConnection(async (connection) => {
      const client = new Client({ connection, namespace: 'default' });
      await client.workflow.start('NoWorkerRunsThis', {
        taskQueue: 'temporal-server-stack-test',
        workflowId: probe,
        typedSearchAttributes: [{ key: LifecycleStageKey, value: probe }],
      });
      await expect
        .poll(
          async () => {
            const ids: string[] = [];
            for await (const w of client.workflow.list({ query: `LifecycleStage = '${probe}'` }))
              ids.push(w.workflowId);
            return ids;
          },
          { timeout: 30_000, interval: 500 },
        )
        .toEqual([probe]);
    });
    expect((await fetch(server!.uiUrl)).ok).toBe(true);
    expect(await (await fetch(server!.metricsUrl)).text()).toContain('persistence_requests');
  });

  it('keeps namespaces and workflows in Postgres across a stop and a start', async () => {
    const workflowId = `survives-${randomBytes(4).toString('hex')}`;
    await withConnection(async (c) => {
      await c.workflowService.startWorkflowExecution({
        namespace: 'default',
        workflowId,
        workflowType: { name: 'NoWorkerRunsThis' },
        taskQueue: { name: 'temporal-server-stack-test' },
        requestId: workflowId,
      });
    });
    await server!.stop();
    server = await start();
    await withConnection(async (c) => {
      const d = await c.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });
      expect(d.workflowExecutionInfo?.status).toBe(
        proto.temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
      );
      const { customAttributes } = await c.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(customAttributes ?? {})).toEqual(
        expect.arrayContaining(SEARCH_ATTRIBUTE_KEYS.map((k) => k.name)),
      );
    });
  }, 300_000);
});
