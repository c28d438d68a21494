import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { generateKeyPair } from '../identity/keys.js';
import { mcpOverHttp } from '../test/support/mcp.js';
import { mcpEndpoint } from './http-endpoint.js';

/**
 * Which credentials /mcp hands to the request each tool stands for, against stand-in routes (no
 * stack): the bearer key to the paid call only, the client's signature headers to the signed call
 * only, nothing to public reads.
 */
describe('POST /mcp', () => {
  let app: FastifyInstance;
  let url: string;
  const seen: { route: string; headers: IncomingHttpHeaders; body: unknown }[] = [];
  const keys = generateKeyPair();

  beforeAll(async () => {
    app = Fastify();
    app.get('/v1/deployment', () => ({ deploymentId: 'unit' }));
    app.get('/v1/models', (req) => {
      seen.push({ route: 'list', headers: req.headers, body: undefined });
      return { object: 'list', data: [], nextCursor: null };
    });
    app.post('/v1/models/:name/infer', (req) => {
      seen.push({ route: 'infer', headers: req.headers, body: req.body });
      return {
        callId: 'c1',
        receipt: 'c1',
        model: 'm',
        version: 1,
        output: 'spam',
        probabilities: {},
        attribution: { contributors: [], records: [] },
        fee: '1',
      };
    });
    app.post('/v1/datanets/:id/contributions', (req) => {
      seen.push({ route: 'contribute', headers: req.headers, body: req.body });
      return { hash: 'h', status: 'stored' };
    });
    await app.register(mcpEndpoint);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('gives the bearer key to the paid call and the signature to the signed call, nothing else', async () => {
    const s = await mcpOverHttp(url, { keys, apiKey: 'ck_secret' });
    await s.call('list_models', {});
    expect((await s.call('call_model', { model: 'm', input: 'hi' })).structuredContent).toMatchObject({
      receiptId: 'c1',
    });
    const record = { text: 'a mail', label: 'spam' };
    expect((await s.call('contribute_record', { datanetId: 'd', record })).structuredContent).toEqual({
      hash: 'h',
      status: 'stored',
    });
    await s.close();
    const by = Object.fromEntries(seen.map((x) => [x.route, x]));
    expect(by.list?.headers.authorization).toBeUndefined();
    expect(by.list?.headers['x-commons-signature']).toBeUndefined();
    expect(by.infer?.headers.authorization).toBe('Bearer ck_secret');
    expect(by.infer?.body).toEqual({ input: 'hi' });
    expect(by.infer?.headers['x-commons-signature']).toBeUndefined();
    expect(by.contribute?.headers.authorization).toBeUndefined();
    expect(by.contribute?.headers['x-commons-address']).toBe(keys.address);
    expect(by.contribute?.headers['x-commons-signature']).toMatch(/.+/);
    expect(by.contribute?.body).toEqual({ payload: record });
  });

  it('answers GET and DELETE with 405: no stream, no session', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${url}/mcp`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });
});
