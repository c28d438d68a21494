import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../../contracts/search-attributes.js';
import { migrateDb } from '../../db/client.js';

/**
 * Stack test files run in parallel on the one stack, each in its own Postgres database and its own
 * Temporal namespace: quorum over circulating gOPEN, the ledger invariants and table fingerprints
 * see only the file's own rows, and no file's workers take another file's tasks. Global setup
 * migrates a template database once and bundles the workflow code once; each file copies the
 * template (a file-level copy, where migrating would replay every migration) and registers a
 * namespace.
 */

const TEMPLATE_DB = 'commons_template';

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Global setup: the migrated database every file copies. */
export async function prepareTemplateDb(databaseUrl: string): Promise<void> {
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const exists = await admin`select 1 from pg_database where datname = ${TEMPLATE_DB}`;
    if (exists.length === 0) await admin.unsafe(`create database "${TEMPLATE_DB}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  // migrateDb closes its connection: a template must have no sessions while it is copied.
  await migrateDb(withDatabase(databaseUrl, TEMPLATE_DB));
}

/**
 * Per file, before it loads: a fresh database copied from the template and a fresh namespace with
 * the custom search attributes, both written into process.env so the file's workers, API and child
 * processes (which inherit the environment) use them.
 */
export async function isolateFile(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const databaseUrl = env.DATABASE_URL;
  const address = env.TEMPORAL_ADDRESS;
  if (!databaseUrl || !address) throw new Error('isolateFile needs the stack from test/global-setup.ts');
  const suffix = `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const database = `commons_${suffix}`;
  const namespace = `commons-${suffix.replace('_', '-')}`;
  await Promise.all([copyTemplate(databaseUrl, database), registerNamespace(address, namespace)]);
  env.DATABASE_URL = withDatabase(databaseUrl, database);
  env.TEMPORAL_NAMESPACE = namespace;
}

async function copyTemplate(databaseUrl: string, database: string): Promise<void> {
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    // Two copies started at once can see each other as a session on the template: retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${database}" template "${TEMPLATE_DB}"`);
        return;
      } catch (err) {
        if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
}

async function registerNamespace(address: string, namespace: string): Promise<void> {
  // The local dev server the global setup started: plain TCP on loopback.
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: proto.google.protobuf.Duration.fromObject({ seconds: 24 * 3600 }),
    });
    const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
    const searchAttributes = Object.fromEntries(
      SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}`]]),
    );
    // The namespace registry is a cache: retry until the frontend knows the new namespace.
    for (let attempt = 0; ; attempt++) {
      try {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
        break;
      } catch (err) {
        if (attempt >= 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await connection.close();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the workflow bundle global setup built (bundleWorkflowsOnce). */
    workflowBundle: string;
  }
}
