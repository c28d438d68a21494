import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from './keys.js';
import {
  canonicalMessage,
  checkSignedRequest,
  MemoryReplayGuard,
  sha256Hex,
  signedFetch,
  signRequest,
  verifyRequestSignature,
  type HeaderBag,
} from './request-signing.js';

const NOW = 1_750_000_000_000;
const DEPLOYMENT = 'dep-test-1';
const keys = generateKeyPair();
const body = JSON.stringify({ title: 'spam filter', stake: '1000' });

function signed(overrides: { method?: string; path?: string; body?: string; now?: number } = {}) {
  return signRequest({
    deploymentId: DEPLOYMENT,
    method: overrides.method ?? 'POST',
    path: overrides.path ?? '/v1/proposals?dry=1',
    body: overrides.body ?? body,
    keys,
    now: overrides.now ?? NOW,
  });
}

function check(
  headers: HeaderBag,
  overrides: { method?: string; path?: string; rawBody?: string; now?: number; maxSkewMs?: number } = {},
) {
  return verifyRequestSignature({
    deploymentId: DEPLOYMENT,
    method: overrides.method ?? 'POST',
    path: overrides.path ?? '/v1/proposals?dry=1',
    headers,
    rawBody: overrides.rawBody ?? body,
    now: overrides.now ?? NOW,
    maxSkewMs: overrides.maxSkewMs,
  });
}

function reason(result: ReturnType<typeof check>): string {
  return result.ok ? '(accepted)' : result.reason;
}

describe('request signing', () => {
  it('builds the canonical message from deployment id, method, path with query, timestamp, Idempotency-Key and body hash', () => {
    expect(canonicalMessage('dep-1', 'post', '/a?b=1', 42, undefined, 'x')).toBe(
      `COMMONS-V3\ndep-1\nPOST\n/a?b=1\n42\n\n${sha256Hex('x')}`,
    );
    expect(canonicalMessage('dep-1', 'post', '/a', 42, 'k-1', 'x')).toBe(
      `COMMONS-V3\ndep-1\nPOST\n/a\n42\nk-1\n${sha256Hex('x')}`,
    );
    expect(() => canonicalMessage('dep\n1', 'post', '/a', 42, undefined)).toThrow(/deployment id/);
    expect(() => canonicalMessage('dep-1', 'post', '/a', 42, 'k\n1')).toThrow(/line break/);
    expect(sha256Hex(undefined)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(Buffer.from('x'))).toBe(sha256Hex('x'));
  });

  it('round-trips: a signed request verifies and names its signer', () => {
    const headers = signed();
    expect(headers['x-commons-address']).toBe(keys.address);
    expect(headers['x-commons-timestamp']).toBe(String(NOW));
    const result = check(headers, { rawBody: body });
    expect(result).toMatchObject({
      ok: true,
      address: keys.address,
      publicKey: keys.publicKey,
      signature: headers['x-commons-signature'],
    });
    if (result.ok) expect(result.expiresAt).toBe(NOW + 5 * 60_000);
    // Buffer bodies hash the same bytes; method case does not matter.
    expect(check(headers, { method: 'post' }).ok).toBe(true);
    expect(
      verifyRequestSignature({
        deploymentId: DEPLOYMENT,
        method: 'POST',
        path: '/v1/proposals?dry=1',
        headers,
        rawBody: Buffer.from(body),
        now: NOW,
      }).ok,
    ).toBe(true);
  });

  it('refuses a signature made for another deployment', () => {
    const headers = signed();
    const elsewhere = verifyRequestSignature({
      deploymentId: 'dep-test-2',
      method: 'POST',
      path: '/v1/proposals?dry=1',
      headers,
      rawBody: body,
      now: NOW,
    });
    expect(elsewhere.ok).toBe(false);
    expect(reason(elsewhere)).toMatch(/bad signature/);
  });

  it('verifies requests without a body', () => {
    const headers = signRequest({
      deploymentId: DEPLOYMENT,
      method: 'DELETE',
      path: '/v1/proposals/7',
      keys,
      now: NOW,
    });
    expect(
      verifyRequestSignature({ deploymentId: DEPLOYMENT, method: 'DELETE', path: '/v1/proposals/7', headers, now: NOW })
        .ok,
    ).toBe(true);
    expect(
      verifyRequestSignature({
        deploymentId: DEPLOYMENT,
        method: 'DELETE',
        path: '/v1/proposals/7',
        headers,
        rawBody: '{}',
        now: NOW,
      }).ok,
    ).toBe(false);
  });

  it('rejects tampered body, path, query, method and timestamp', () => {
    const headers = signed();
    expect(reason(check(headers, { rawBody: body.replace('1000', '1001') }))).toMatch(/bad signature/);
    expect(reason(check(headers, { path: '/v1/proposals' }))).toMatch(/bad signature/);
    expect(reason(check(headers, { path: '/v1/proposals?dry=0' }))).toMatch(/bad signature/);
    expect(reason(check(headers, { method: 'PUT' }))).toMatch(/bad signature/);
    const moved = { ...headers, 'x-commons-timestamp': String(NOW + 1) };
    expect(reason(check(moved))).toMatch(/bad signature/);
    const res = check(moved);
    expect(res.ok === false && res.status).toBe(401);
  });

  it('binds the Idempotency-Key header: added, changed or dropped, the signature fails', () => {
    const withKey = signRequest({
      deploymentId: DEPLOYMENT,
      method: 'POST',
      path: '/v1/proposals?dry=1',
      body,
      idempotencyKey: 'key-1',
      keys,
      now: NOW,
    });
    expect(check({ ...withKey, 'idempotency-key': 'key-1' }).ok).toBe(true);
    expect(check({ ...withKey, 'Idempotency-Key': 'key-1' }).ok).toBe(true);
    expect(reason(check({ ...withKey, 'idempotency-key': 'key-2' }))).toMatch(/bad signature/);
    expect(reason(check(withKey))).toMatch(/bad signature/);
    expect(reason(check({ ...signed(), 'idempotency-key': 'key-1' }))).toMatch(/bad signature/);
    expect(reason(check({ ...withKey, 'idempotency-key': 'key-1\nx' }))).toMatch(/line break/);
  });

  it('rejects a signature made by another key, even with a consistent address', () => {
    const mallory = generateKeyPair();
    const headers = { ...signed(), 'x-commons-address': mallory.address, 'x-commons-public-key': mallory.publicKey };
    expect(reason(check(headers))).toMatch(/bad signature/);
  });

  it('rejects an address that does not match the public key', () => {
    const headers = { ...signed(), 'x-commons-address': generateKeyPair().address };
    expect(reason(check(headers))).toMatch(/x-commons-address does not match x-commons-public-key/);
  });

  it('rejects stale and future timestamps with the reason, accepts the edge of the window', () => {
    const headers = signed();
    const skew = 5 * 60_000;
    expect(check(headers, { now: NOW + skew }).ok).toBe(true);
    expect(check(headers, { now: NOW - skew }).ok).toBe(true);
    expect(reason(check(headers, { now: NOW + skew + 1 }))).toMatch(/stale request: timestamp is 300001 ms old/);
    expect(reason(check(headers, { now: NOW - skew - 1 }))).toMatch(
      /stale request: timestamp is 300001 ms in the future/,
    );
    expect(reason(check(headers, { now: NOW + 2_000, maxSkewMs: 1_000 }))).toMatch(/stale/);
  });

  it('names missing and malformed headers', () => {
    const headers = signed();
    const { 'x-commons-signature': _sig, 'x-commons-timestamp': _ts, ...rest } = headers;
    expect(reason(check(rest))).toBe('missing signature header(s): x-commons-timestamp, x-commons-signature');
    expect(reason(check({}))).toMatch(/missing signature header\(s\): x-commons-address, x-commons-public-key/);
    expect(reason(check({ ...headers, 'x-commons-timestamp': 'yesterday' }))).toMatch(/malformed x-commons-timestamp/);
    expect(reason(check({ ...headers, 'x-commons-public-key': 'abc' }))).toMatch(/malformed x-commons-public-key/);
    expect(reason(check({ ...headers, 'x-commons-signature': 'AAAA' }))).toMatch(/malformed x-commons-signature/);
    expect(reason(check({ ...headers, 'x-commons-signature': [headers['x-commons-signature'], 'x'] }))).toMatch(
      /missing/,
    );
  });

  it('reads header names case-insensitively', () => {
    const upper: HeaderBag = {};
    for (const [k, v] of Object.entries(signed())) upper[k.toUpperCase()] = v;
    expect(check(upper).ok).toBe(true);
  });
});

describe('replay guard', () => {
  it('claims a signature once until it expires', async () => {
    let now = 1_000;
    const guard = new MemoryReplayGuard({ now: () => now });
    expect(await guard.claim('sig-a', 2_000)).toBe(true);
    expect(await guard.claim('sig-a', 2_000)).toBe(false);
    expect(await guard.claim('sig-b', 2_000)).toBe(true);
    now = 2_000; // expired entries are forgotten (the request would be stale by now anyway)
    expect(await guard.claim('sig-a', 3_000)).toBe(true);
    expect(guard.size).toBe(1);
  });

  it('stays bounded, evicting the oldest claims', async () => {
    const guard = new MemoryReplayGuard({ maxEntries: 3, now: () => 0 });
    for (const sig of ['a', 'b', 'c', 'd']) expect(await guard.claim(sig, 10)).toBe(true);
    expect(guard.size).toBe(3);
    expect(await guard.claim('d', 10)).toBe(false);
    expect(await guard.claim('a', 10)).toBe(true); // evicted, so claimable again
  });

  it('checkSignedRequest refuses the second use of a signed request', async () => {
    const guard = new MemoryReplayGuard({ now: () => NOW });
    const headers = signed();
    const opts = {
      deploymentId: DEPLOYMENT,
      method: 'POST',
      path: '/v1/proposals?dry=1',
      headers,
      rawBody: body,
      now: NOW,
      replayGuard: guard,
    };
    expect((await checkSignedRequest(opts)).ok).toBe(true);
    const again = await checkSignedRequest(opts);
    expect(again).toEqual({ ok: false, status: 401, reason: 'replayed request: this signature was already used' });
    // A bad signature is refused before it can occupy the guard.
    const bad = await checkSignedRequest({ ...opts, rawBody: '{}' });
    expect(bad.ok).toBe(false);
    expect(guard.size).toBe(1);
  });
});

describe('signedFetch', () => {
  let server: Server;
  let baseUrl: string;
  const guard = new MemoryReplayGuard();

  beforeAll(async () => {
    // A real HTTP server that verifies exactly what arrives on the wire.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const result = await checkSignedRequest({
          deploymentId: DEPLOYMENT,
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          rawBody: Buffer.concat(chunks),
          now: Date.now(),
          replayGuard: guard,
        });
        res.statusCode = result.ok ? 200 : 401;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify(
            result.ok ? { address: result.address, echo: Buffer.concat(chunks).toString() } : { reason: result.reason },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends signed JSON that a server verifies, and a different path is refused', async () => {
    const ok = await signedFetch(
      baseUrl,
      keys,
      'post',
      '/v1/votes?x=1',
      { option: 'yes' },
      { deploymentId: DEPLOYMENT },
    );
    expect({ status: ok.status, json: ok.json }).toEqual({
      status: 200,
      json: { address: keys.address, echo: '{"option":"yes"}' },
    });
    const get = await signedFetch(baseUrl, keys, 'GET', '/v1/me', undefined, { deploymentId: DEPLOYMENT });
    expect(get.status).toBe(200);
    // Replaying the exact headers is refused by the server's guard.
    const headers = signRequest({ deploymentId: DEPLOYMENT, method: 'GET', path: '/v1/me', keys });
    const first = await fetch(baseUrl + 'v1/me', { headers: { ...headers } });
    const second = await fetch(baseUrl + 'v1/me', { headers: { ...headers } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(401);
    expect(((await second.json()) as { reason: string }).reason).toMatch(/replayed/);
    const wrongPath = await fetch(baseUrl + 'v1/other', {
      headers: { ...signRequest({ deploymentId: DEPLOYMENT, method: 'GET', path: '/v1/me', keys }) },
    });
    expect(wrongPath.status).toBe(401);
  });
});
