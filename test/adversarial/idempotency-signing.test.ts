import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';
import type { CommonsClient } from '../../client/commons-client.js';

/**
 * Attacks on the Idempotency-Key header: a proxy between a client and the API swaps the key of a
 * signed transfer (or drops it), so the client's retry under its own key is a new transfer and money
 * moves twice. The key is part of the signed string: the altered request is refused, nothing moves,
 * and the client's retries move the money once.
 */
describe('adversarial: the Idempotency-Key is signed', () => {
  let app: TestApp;
  let alice: CommonsClient;
  let bob: CommonsClient;
  const path = '/v1/transfers';

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    alice = await participant(app.url, ['developer'], { OPEN: '1000' });
    bob = await participant(app.url, ['developer']);
  });

  afterAll(async () => {
    await app?.close();
  });

  /** Alice's transfer as she signs it, with her key in the Idempotency-Key header. */
  async function signedByAlice(key: string | undefined) {
    const text = JSON.stringify({ to: bob.address, asset: 'OPEN', amount: '300' });
    const headers = signRequest({
      deploymentId: await deploymentIdOf(app.url),
      method: 'POST',
      path,
      body: text,
      keys: alice.keys!,
      ...(key ? { idempotencyKey: key } : {}),
    });
    return { text, headers: { 'content-type': 'application/json', ...headers } };
  }

  const send = (text: string, headers: Record<string, string>) =>
    fetch(app.url + path, { method: 'POST', headers, body: text });

  it('refuses a request whose Idempotency-Key was swapped or dropped on the way, and the retry moves money once', async () => {
    const mine = randomUUID();
    const swapped = await signedByAlice(mine);
    const res = await send(swapped.text, { ...swapped.headers, 'idempotency-key': randomUUID() });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/bad signature/);
    const dropped = await signedByAlice(mine);
    expect((await send(dropped.text, dropped.headers)).status).toBe(401);
    // Added by the proxy to a request signed without one: refused as well.
    const bare = await signedByAlice(undefined);
    expect((await send(bare.text, { ...bare.headers, 'idempotency-key': randomUUID() })).status).toBe(401);
    expect((await bob.account()).balances.OPEN).toBe('0');

    // Alice's own retries under her key: one transfer.
    for (let i = 0; i < 2; i++) {
      const retry = await signedByAlice(mine);
      const r = await send(retry.text, { ...retry.headers, 'idempotency-key': mine });
      expect(r.ok).toBe(true);
      expect(((await r.json()) as { replayed: boolean }).replayed).toBe(i > 0);
    }
    expect((await bob.account()).balances.OPEN).toBe('300');
    expect((await alice.account()).balances.OPEN).toBe('700');
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
