import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../identity/keys.js';
import { verifyRequestSignature } from '../identity/request-signing.js';
import { signingFetch } from './signing-fetch.js';
import { bodyText, signatureHeadersOf, signedToolRequest } from './requests.js';

const DEPLOYMENT = 'test-deployment';

/** What the client's fetch sends: the body after signing, captured instead of sent. */
async function sent(body: unknown, method = 'POST'): Promise<string | undefined> {
  let out: string | undefined;
  const f = signingFetch(generateKeyPair(), 'http://api', {
    deploymentId: DEPLOYMENT,
    fetch: (_url, init) => {
      out = init?.body as string | undefined;
      return Promise.resolve(new Response('{}'));
    },
  });
  await f('http://api/mcp', { method, body: JSON.stringify(body) });
  return out;
}

describe('signingFetch', () => {
  it("signs the request a contribution stands for, and the server's rebuilt request verifies", async () => {
    // Key order and integer-like keys as an agent may send them: the server parses the same JSON.
    const record = { text: 'a mail', '10': 'x', label: 'spam', '2': { b: 1, a: [1.0, 'é'] } };
    const call = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'contribute_record', arguments: { datanetId: 'd 1', record } },
    };
    const body = JSON.parse((await sent(call)) ?? 'null') as typeof call & {
      params: { _meta?: Record<string, unknown> };
    };
    const req = signedToolRequest(body.params.name, body.params.arguments);
    expect(req?.path).toBe('/v1/datanets/d%201/contributions');
    const check = verifyRequestSignature({
      deploymentId: DEPLOYMENT,
      method: 'POST',
      path: req?.path ?? '',
      headers: signatureHeadersOf(body.params._meta),
      rawBody: req ? bodyText(req) : undefined,
      now: Date.now(),
    });
    expect(check.ok).toBe(true);
    // A changed record no longer matches the signature.
    const forged = signedToolRequest('contribute_record', { datanetId: 'd 1', record: { ...record, label: 'ham' } });
    expect(
      verifyRequestSignature({
        deploymentId: DEPLOYMENT,
        method: 'POST',
        path: forged?.path ?? '',
        headers: signatureHeadersOf(body.params._meta),
        rawBody: forged ? bodyText(forged) : undefined,
        now: Date.now(),
      }).ok,
    ).toBe(false);
  });

  it('leaves reads, paid calls and other messages as they are', async () => {
    for (const m of [
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'call_model', arguments: { model: 'm', input: 'x' } },
      },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
    ])
      expect(await sent(m)).toBe(JSON.stringify(m));
  });

  it('takes only the four signature headers from _meta', () => {
    expect(
      signatureHeadersOf({
        'commons/signature': { 'x-commons-address': 'a', authorization: 'Bearer stolen', 'x-commons-timestamp': 5 },
      }),
    ).toEqual({ 'x-commons-address': 'a' });
  });
});
