import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';
import type { CommonsClient } from '../../client/commons-client.js';
import type { KeyPair } from '../../identity/keys.js';
import { operationsOf, tableFingerprinter, type Operation as OpenApiOperation } from '../support/openapi-operations.js';

/**
 * Typed parameters on every route of the OpenAPI document (a new route or field is covered with no
 * change here): each numeric field (query, path or body, at any depth) and each amount field gets
 * a string, NaN, Infinity, -0, 1e308, a fraction (where it is a count) or a non-canonical spelling,
 * inside an otherwise valid request signed by a funded account holding every role. Every one must
 * be a 400 that writes nothing, and the ledger invariants hold afterwards.
 */

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  const?: unknown;
  enum?: unknown[];
  format?: string;
}

type Operation = OpenApiOperation<Schema>;

/** A field to attack: where it is and whether it holds a count, a number or an amount. */
interface Target {
  at: 'query' | 'path' | 'body';
  path: (string | number)[];
  kind: 'integer' | 'number' | 'amount';
}

const AMOUNT_PATTERN = /\[0-9\]|\\d/;
/** Raw JSON literals JSON.stringify cannot write: spliced in where this marker string stands. */
const RAW = (literal: string) => `\u0001raw:${literal}`;

/** Hostile values for a field of this kind, in JSON (body) or as text (path, query). */
function hostile(kind: Target['kind'], text: boolean): unknown[] {
  if (text)
    return kind === 'amount'
      ? ['01', '1e3', '+1', '-1', ' 1', '1.0']
      : [
          '1e309',
          'Infinity',
          '-Infinity',
          'NaN',
          '-0',
          '1e308',
          '07',
          '1e1',
          'abc',
          ...(kind === 'integer' ? ['1.5'] : []),
        ];
  if (kind === 'amount') return ['01000', '+1000', '1e3', '-1', '1000.0', ' 1000', 1000, RAW('1e309')];
  return [
    '1',
    '0.05',
    '1e309',
    'Infinity',
    'NaN',
    RAW('-0'),
    RAW('1e309'),
    1e308,
    ...(kind === 'integer' ? [1.5] : []),
  ];
}

/** Every numeric and amount leaf of a schema, with its path (arrays at index 0, unions through each variant). */
function targetsOf(s: Schema | undefined, at: Target['at'], path: (string | number)[] = []): Target[] {
  if (!s || typeof s !== 'object') return [];
  const out: Target[] = [];
  for (const v of s.anyOf ?? []) out.push(...targetsOf(v, at, path));
  if (s.type === 'integer' || s.type === 'number')
    out.push({ at, path, kind: s.type === 'integer' ? 'integer' : 'number' });
  if (
    s.type === 'string' &&
    s.pattern &&
    AMOUNT_PATTERN.test(s.pattern) &&
    /^\^\(?0?\|?\[1-9\]|\^\[0-9\]/.test(s.pattern)
  )
    out.push({ at, path, kind: 'amount' });
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...targetsOf(v, at, [...path, k]));
  if (s.type === 'array' && s.items) out.push(...targetsOf(s.items, at, [...path, 0]));
  const seen = new Set<string>();
  return out.filter((t) => !seen.has(JSON.stringify(t)) && !!seen.add(JSON.stringify(t)));
}

describe('adversarial: typed parameters on every route', () => {
  let app: TestApp;
  let actor: CommonsClient;
  let keys: KeyPair;
  let apiKey: string;
  let deploymentId: string;
  let ops: Operation[];
  let fingerprint: () => Promise<Record<string, string>>;
  const run = uniqueId('typed');

  /** Valid requests to mutate one field of: a refusal then says that field's value was refused. */
  const bodies = (): Record<string, unknown> => ({
    'POST /v1/proposals': {
      ...proposalBody(run, {
        collection: { windowMs: 60_000, pollIntervalMs: 300, batchSize: 20, windowRunMaxEvents: 500 },
        training: { hyperparams: { epochs: 2 } },
        rlhf: { answersPerItem: 2 },
        serving: { settlementPeriodMs: 60_000 },
      }),
      budget: '0',
    },
    'POST /v1/faucet': { address: actor.address, asset: 'OPEN', amount: '1' },
    'POST /v1/transfers': { to: 'treasury', asset: 'OPEN', amount: '1' },
    'POST /v1/validators/stake': { amount: '1' },
    'POST /v1/validators/unstake': { amount: '1' },
    'POST /v1/reviews/bond': { amount: '1000' },
    'POST /v1/models/{name}/infer': { input: 'hello', topK: 5 },
    'POST /v1/models/{name}/versions/{version}/infer': { input: 'hello', topK: 5 },
    'POST /v1/models/{name}/rollback': { version: 1 },
    'POST /v1/chat/completions': { model: 'none', messages: [{ role: 'user', content: 'hi' }], commons_top_k: 5 },
  });

  /** A value the schema accepts, for fields no valid request above supplies. */
  function sample(s: Schema | undefined): unknown {
    if (!s) return undefined;
    if (s.const !== undefined) return s.const;
    if (s.enum) return s.enum[0];
    if (s.anyOf) return sample(s.anyOf.find((v) => v.type !== 'null') ?? s.anyOf[0]);
    switch (s.type) {
      case 'integer':
      case 'number':
        return Math.min(s.maximum ?? Infinity, Math.max(s.minimum ?? 1, (s.exclusiveMinimum ?? 0) + 1));
      case 'boolean':
        return false;
      case 'array':
        return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items));
      case 'object':
        return Object.fromEntries((s.required ?? []).map((k) => [k, sample(s.properties?.[k])]));
      case 'string':
        if (s.pattern?.includes('cm[0-9a-f]{40}')) return actor.address;
        if (s.pattern?.includes('[0-9a-f]{64}')) return 'a'.repeat(64);
        if (s.pattern && AMOUNT_PATTERN.test(s.pattern)) return '1';
        if (s.format === 'date-time') return new Date().toISOString();
        return 'abc'.padEnd(s.minLength ?? 3, 'x');
      default:
        return undefined;
    }
  }

  function withValue(root: unknown, path: (string | number)[], value: unknown): unknown {
    if (path.length === 0) return value;
    const [k, ...rest] = path as [string | number, ...(string | number)[]];
    const node = (
      typeof k === 'number'
        ? [...(Array.isArray(root) ? (root as unknown[]) : [])]
        : { ...(root !== null && typeof root === 'object' ? root : {}) }
    ) as Record<string | number, unknown>;
    node[k] = withValue(node[k], rest, value);
    return node;
  }

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    ops = await operationsOf<Schema>(app.url, /^\/(docs|metrics|console)\b/);
    fingerprint = await tableFingerprinter(app.sql);
    actor = await participant(
      app.url,
      ['developer', 'governor', 'contributor', 'reviewer', 'validator', 'app-builder'],
      { OPEN: '1000000' },
    );
    keys = actor.keys!;
    apiKey = (await actor.signed<{ apiKey: string }>('POST', '/v1/api-keys', {})).apiKey;
    deploymentId = await deploymentIdOf(app.url);
  });

  afterAll(async () => app?.close());

  async function send(op: Operation, path: string, query: URLSearchParams, body: unknown) {
    const qs = query.toString();
    const url = path + (qs ? `?${qs}` : '');
    const text =
      op.method === 'GET'
        ? undefined
        : JSON.stringify(body ?? {}).replace(/"\\u0001raw:([^"]*)"/g, (_m, literal: string) => literal);
    const headers: Record<string, string> = {
      ...signRequest({ deploymentId, method: op.method, path: url, body: text, keys }),
      authorization: `Bearer ${apiKey}`,
    };
    if (text !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(app.url + url, {
      method: op.method,
      headers,
      body: text,
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, url, sent: text, answer: await res.text() };
  }

  it('finds the numeric and amount fields of every route', () => {
    const all = ops.flatMap((op) => [
      ...op.params.flatMap((p) => targetsOf(p.schema, p.in, [p.name])),
      ...targetsOf(op.body, 'body'),
    ]);
    expect(all.length).toBeGreaterThan(80);
    const proposal = ops.find((o) => o.method === 'POST' && o.path === '/v1/proposals');
    const fields = targetsOf(proposal?.body, 'body').map((t) => t.path.join('.'));
    for (const f of [
      'params.serving.shares.treasury',
      'params.training.hyperparams.epochs',
      'params.rlhf.answersPerItem',
      'params.collection.batchSize',
      'params.collection.pollIntervalMs',
      'params.collection.windowRunMaxEvents',
      'params.serving.settlementPeriodMs',
      'params.stake',
      'budget',
    ])
      expect(fields).toContain(f);
  });

  it('refuses every mistyped or unbounded number with a 400 that writes nothing', { timeout: 900_000 }, async () => {
    const failures: string[] = [];
    const valid = bodies();
    let sent = 0;
    for (const op of ops) {
      const pathValues: Record<string, string> = {};
      for (const p of op.params.filter((x) => x.in === 'path'))
        pathValues[p.name] = String(p.schema.type === 'integer' ? 1 : `${run}-x`);
      const baseQuery = () => {
        const q = new URLSearchParams();
        for (const p of op.params.filter((x) => x.in === 'query' && x.required))
          q.set(p.name, String(sample(p.schema)));
        return q;
      };
      const pathOf = (over: Record<string, string> = {}) =>
        op.path.replace(/\{(\w+)\}/g, (_m, n: string) => encodeURIComponent(over[n] ?? pathValues[n] ?? 'x'));
      const baseBody = op.body ? (valid[`${op.method} ${op.path}`] ?? sample(op.body)) : undefined;
      const targets = [...op.params.flatMap((p) => targetsOf(p.schema, p.in, [p.name])), ...targetsOf(op.body, 'body')];
      for (const t of targets)
        for (const value of hostile(t.kind, t.at !== 'body')) {
          const query = baseQuery();
          let path = pathOf();
          let body = baseBody;
          if (t.at === 'query') query.set(String(t.path[0]), String(value));
          else if (t.at === 'path') path = pathOf({ [String(t.path[0])]: String(value) });
          else body = withValue(baseBody, t.path, value);
          const before = await fingerprint();
          const r = await send(op, path, query, body);
          sent++;
          const where = `${op.method} ${op.path} ${t.at}:${t.path.join('.')}=${JSON.stringify(value)}`;
          if (r.status !== 400) failures.push(`${where} → ${r.status} ${r.answer.slice(0, 160)}`);
          const after = await fingerprint();
          const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
          if (changed.length) failures.push(`${where} → ${r.status} wrote to ${changed.join(', ')}`);
        }
    }
    console.log(`${sent} mistyped values over ${ops.length} operations`);
    expect(sent).toBeGreaterThan(500);
    expect(failures).toEqual([]);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it('accepts the valid proposal the attacks were made from, stake and all', async () => {
    // The baseline itself passes: each refusal above was that field's value, not the rest of the request.
    const body = {
      ...(bodies()['POST /v1/proposals'] as Record<string, unknown>),
      id: `${run}-ok`,
      modelName: `m-${run}-ok`,
    };
    const r = await actor.signed<{ stake: string }>('POST', '/v1/proposals', body);
    expect(r.stake).toBe('500');
  });
});
