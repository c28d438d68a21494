import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, refusal, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { startApi } from '../../api/bootstrap.js';
import { loadConfig } from '../../infra/config.js';
import { accountsOf } from '../../contracts/accounts.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';
import { CommonsClient } from '../../client/commons-client.js';

type Api = Awaited<ReturnType<typeof startApi>>;

/**
 * Attacks on authentication and on requests that move money: a signature replayed on another
 * deployment, a captured request sent again, a retried transfer or stake, oversized bodies, the
 * faucet on a deployment that did not enable it, a revoked API key used on another replica, and
 * unauthenticated inference calls trying to make the API load models. Each must fail, and the
 * ledger invariants hold afterwards.
 */
describe('adversarial: authentication and retries', () => {
  let app: TestApp;
  /** A second replica of the same deployment (same Postgres, so the same deployment id). */
  let replica: Api;
  /** Another deployment (its own id) sharing nothing but the database, with the faucet left off. */
  let other: Api;

  const post = (baseUrl: string, path: string, text: string, headers: Record<string, string>) =>
    fetch(baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text });

  async function expectInvariants() {
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    const env = { ...process.env, API_PORT: '0' };
    replica = await startApi(loadConfig(env), { logger: false });
    other = await startApi(
      loadConfig({ ...env, COMMONS_DEPLOYMENT_ID: 'another-deployment', COMMONS_DEV_FAUCET: '0' }),
      { logger: false },
    );
  });

  afterAll(async () => {
    await other?.close();
    await replica?.close();
    await app?.close();
  });

  it('publishes one deployment id per deployment, shared by its replicas', async () => {
    const id = await deploymentIdOf(app.url);
    expect(id).toMatch(/^dep-[0-9a-f]{24}$/);
    expect(await deploymentIdOf(replica.url)).toBe(id);
    expect(await deploymentIdOf(other.url)).toBe('another-deployment');
  });

  it('refuses a signature made for another deployment, and nothing moves', async () => {
    const alice = await participant(app.url, ['developer'], { OPEN: '1000' });
    const bob = await participant(app.url, ['developer']);
    const path = '/v1/transfers';
    const text = JSON.stringify({ to: bob.address, asset: 'OPEN', amount: '100' });
    // Signed for `other`, played against this deployment (which knows the same key), and back.
    const forOther = signRequest({
      deploymentId: 'another-deployment',
      method: 'POST',
      path,
      body: text,
      keys: alice.keys!,
    });
    const res = await post(app.url, path, text, forOther);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/bad signature/);
    const forThis = signRequest({
      deploymentId: await deploymentIdOf(app.url),
      method: 'POST',
      path,
      body: text,
      keys: alice.keys!,
    });
    expect((await post(other.url, path, text, forThis)).status).toBe(401);
    expect((await alice.account()).balances.OPEN).toBe('1000');
    expect((await bob.account()).balances.OPEN).toBe('0');
    await expectInvariants();
  });

  it('a retried transfer with the same idempotency key moves money once; another body with it is a 409', async () => {
    const alice = await participant(app.url, ['developer'], { OPEN: '1000' });
    const bob = await participant(app.url, ['developer']);
    const key = randomUUID();
    const first = await alice.transfer(bob.address, 'OPEN', '300', { idempotencyKey: key });
    expect(first.replayed).toBe(false);
    // The response was "lost": the client signs the same request again (new timestamp, new signature).
    const retry = await alice.transfer(bob.address, 'OPEN', '300', { idempotencyKey: key });
    expect(retry).toMatchObject({ transferId: first.transferId, replayed: true });
    // The header form is the same key.
    const viaHeader = await alice.signed<{ transferId: string; replayed: boolean }>(
      'POST',
      '/v1/transfers',
      { to: bob.address, asset: 'OPEN', amount: '300' },
      { 'idempotency-key': key },
    );
    expect(viaHeader).toMatchObject({ transferId: first.transferId, replayed: true });
    // One at a time: requests started together would reject before they are awaited.
    for (const changed of [
      () => alice.transfer(bob.address, 'OPEN', '301', { idempotencyKey: key }),
      () => alice.transfer(accountsOf.treasury, 'OPEN', '300', { idempotencyKey: key }),
      () => alice.transfer(bob.address, 'OPEN', '300', { idempotencyKey: key, memo: 'something else' }),
    ])
      expect((await refusal(changed())).status).toBe(409);
    // Keys are per payer: Bob using Alice's key is his own first transfer.
    expect((await bob.transfer(alice.address, 'OPEN', '1', { idempotencyKey: key })).replayed).toBe(false);
    expect((await alice.account()).balances.OPEN).toBe('701');
    expect((await bob.account()).balances.OPEN).toBe('299');
    await expectInvariants();
  });

  it('a retried stake with the same idempotency key stakes once', async () => {
    const v = await participant(app.url, ['validator'], { OPEN: '1000' });
    const key = randomUUID();
    const first = await v.stakeAsValidator('400', { idempotencyKey: key });
    const retry = await v.stakeAsValidator('400', { idempotencyKey: key });
    expect(retry).toMatchObject({ transferId: first.transferId, replayed: true, validatorStake: '400' });
    expect((await refusal(v.stakeAsValidator('500', { idempotencyKey: key }))).status).toBe(409);
    const acct = await v.account();
    expect({ open: acct.balances.OPEN, stake: acct.validatorStake }).toEqual({ open: '600', stake: '400' });
    await expectInvariants();
  });

  it('a captured signed request sent again is refused, on any replica', async () => {
    const alice = await participant(app.url, ['developer'], { OPEN: '1000' });
    const bob = await participant(app.url, ['developer']);
    const path = '/v1/transfers';
    const text = JSON.stringify({ to: bob.address, asset: 'OPEN', amount: '10' });
    const captured = signRequest({
      deploymentId: await deploymentIdOf(app.url),
      method: 'POST',
      path,
      body: text,
      keys: alice.keys!,
    });
    expect((await post(app.url, path, text, captured)).status).toBe(201);
    for (const url of [app.url, replica.url]) {
      const again = await post(url, path, text, captured);
      expect(again.status).toBe(401);
      expect(((await again.json()) as { error: string }).error).toMatch(/replayed/);
    }
    expect((await bob.account()).balances.OPEN).toBe('10');
    await expectInvariants();
  });

  it('refuses oversized bodies with 413 before parsing, and unsigned ones before reading them', async () => {
    const alice = await participant(app.url, ['developer', 'contributor'], { OPEN: '1000' });
    const path = '/v1/transfers';
    const text = JSON.stringify({ to: accountsOf.treasury, asset: 'OPEN', amount: '1', memo: 'x'.repeat(300 * 1024) });
    const headers = signRequest({
      deploymentId: await deploymentIdOf(app.url),
      method: 'POST',
      path,
      body: text,
      keys: alice.keys!,
    });
    const big = await post(app.url, path, text, headers);
    expect(big.status).toBe(413);
    // 60 MiB to the batch route without a signature: refused on its headers, whatever the body.
    const started = Date.now();
    const unsigned = await post(app.url, '/v1/datanets/none/contributions/batch', 'x'.repeat(60 * 1024 * 1024), {});
    expect(unsigned.status).toBe(401);
    expect(Date.now() - started).toBeLessThan(10_000);
    // A bad signature over a body that is not even JSON: refused by the signature, never parsed.
    const forged = signRequest({
      deploymentId: await deploymentIdOf(app.url),
      method: 'POST',
      path,
      body: '{}',
      keys: alice.keys!,
    });
    const bad = await post(app.url, path, '{"to": [', forged);
    expect(bad.status).toBe(401);
    // To a Datanet that does not exist: refused before the body is read, the signature not even checked.
    const batch = '/v1/datanets/none/contributions/batch';
    const nowhere = signRequest({
      deploymentId: await deploymentIdOf(app.url),
      method: 'POST',
      path: batch,
      body: '{}',
      keys: alice.keys!,
    });
    expect((await post(app.url, batch, '{"records": [', nowhere)).status).toBe(404);
    expect((await alice.account()).balances.OPEN).toBe('1000');
    await expectInvariants();
  });

  it('the faucet mints nothing on a deployment that did not enable it', async () => {
    const c = new CommonsClient(other.url, (await participant(app.url, ['developer'])).keys);
    const r = await refusal(c.faucet('OPEN', '1000000'));
    expect(r.status).toBe(404);
    expect((await c.account()).balances.OPEN).toBe('0');
    await expectInvariants();
  });

  it('a revoked API key is refused by the next call on another replica', async () => {
    const builder = await participant(app.url, ['app-builder'], { OPEN: '1000' });
    const { id, apiKey } = await builder.issueApiKey('revocation test');
    const infer = (url: string) =>
      fetch(`${url}/v1/models/no-such-model/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ input: 'hello' }),
      });
    // Accepted by both replicas (then no model: 404).
    expect((await infer(app.url)).status).toBe(404);
    expect((await infer(replica.url)).status).toBe(404);
    // Someone else cannot revoke it.
    const stranger = await participant(app.url, ['app-builder']);
    expect((await refusal(stranger.signed('POST', `/v1/api-keys/${id}/revoke`, {}))).status).toBe(404);
    await builder.signed('POST', `/v1/api-keys/${id}/revoke`, {});
    const refused = await infer(replica.url);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toMatch(/revoked/);
    expect((await infer(app.url)).status).toBe(401);
  });

  it('unauthenticated inference calls never load a model', async () => {
    const loads = async () => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('commons_model_loads_total'));
      return Number(line?.split(' ')[1] ?? NaN);
    };
    const before = await loads();
    const call = (headers: Record<string, string>) =>
      fetch(`${app.url}/v1/models/any-model/versions/1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ input: 'hello' }),
      });
    for (const headers of [{}, { authorization: 'Bearer ck_forged' }, { 'x-api-key': 'nope' }] as Record<
      string,
      string
    >[])
      expect((await call(headers)).status).toBe(401);
    expect(await loads()).toBe(before);
    // An authenticated call for a model the registry does not serve is refused before any load
    // too (404); that the counter counts a real load is checked in retired-models.test.ts.
    const builder = await participant(app.url, ['app-builder']);
    const { apiKey } = await builder.issueApiKey();
    expect((await call({ authorization: `Bearer ${apiKey}` })).status).toBe(404);
    expect(await loads()).toBe(before);
  });
});
