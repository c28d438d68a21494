import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';

/**
 * The dev faucet's requestId: reused with other terms it hit the ledger's idempotency check and
 * answered 500; a number, boolean or null was coerced to text ("true", "") and collided the same
 * way; non-ASCII text reached the transfer key. Now a reuse with other terms is a 409, anything
 * but an idempotency-key string is a 400, and a true retry grants once.
 */
describe('adversarial: dev faucet request ids', () => {
  let app: TestApp;
  let user: CommonsClient;

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    user = await participant(app.url, ['contributor']);
  });

  afterAll(async () => app?.close());

  const faucet = (body: unknown) =>
    fetch(`${app.url}/v1/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('grants once per requestId, and answers 409 when it is reused with other terms', async () => {
    const requestId = uniqueId('grant');
    const grant = { address: user.address, asset: 'OPEN', amount: '70', requestId };
    expect((await faucet(grant)).status).toBe(201);
    expect((await faucet(grant)).status).toBe(201);
    expect((await user.account()).balances.OPEN).toBe('70');
    for (const other of [{ amount: '71' }, { asset: 'gOPEN' }, { address: 'treasury' }]) {
      const r = await faucet({ ...grant, ...other });
      expect(r.status).toBe(409);
      expect(((await r.json()) as { error: string }).error).toContain('requestId');
    }
    expect((await user.account()).balances).toEqual({ OPEN: '70', gOPEN: '0' });
  });

  it('refuses a requestId that is not an idempotency-key string with 400, never 500', async () => {
    const before = await app.sql<{ n: number }[]>`select count(*)::int as n from transfers`;
    for (const requestId of [7, true, false, null, {}, [], 'grânt', 'ключ', '🔑', 'a b', '', 'x'.repeat(129)]) {
      const r = await faucet({ address: user.address, asset: 'OPEN', amount: '5', requestId });
      expect(r.status, JSON.stringify(requestId)).toBe(400);
    }
    const after = await app.sql<{ n: number }[]>`select count(*)::int as n from transfers`;
    expect(after[0]?.n).toBe(before[0]?.n);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
