import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, refusal, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { startApi } from '../../api/bootstrap.js';
import { loadConfig } from '../../infra/config.js';
import { generateKeyPair } from '../../identity/keys.js';
import { CommonsClient } from '../../client/commons-client.js';

type Api = Awaited<ReturnType<typeof startApi>>;

/**
 * Roles follow the configuration: an address taken out of COMMONS_ADMIN_ADDRESSES loses the admin
 * role on the next start, whatever its account row says (1.0 stored admin at registration).
 */
describe('adversarial: the admin role follows COMMONS_ADMIN_ADDRESSES', () => {
  let app: TestApp;
  /** The deployment while the address was an admin. */
  let before: Api;
  const keys = generateKeyPair();

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    before = await startApi(loadConfig({ ...process.env, API_PORT: '0', COMMONS_ADMIN_ADDRESSES: keys.address }), {
      logger: false,
    });
  });

  afterAll(async () => {
    await before?.close();
    await app?.close();
  });

  it('an address removed from the configuration can no longer act as admin, even with admin stored on its row', async () => {
    const admin = new CommonsClient(before.url, keys);
    expect((await admin.register(['developer', 'admin'])).roles).toContain('admin');
    const builder = await participant(app.url, ['app-builder']);
    const [first, second] = [await builder.issueApiKey('one'), await builder.issueApiKey('two')];
    // While configured, the admin revokes another account's key.
    await admin.signed('POST', `/v1/api-keys/${first.id}/revoke`);

    // The deployment restarted without the address (app.url: COMMONS_ADMIN_ADDRESSES unset). A row
    // written by 1.0, which stored the role, must not keep it either.
    await app.sql`update accounts set roles = array_append(roles, 'admin') where address = ${keys.address}`;
    const now = new CommonsClient(app.url, keys);
    expect((await now.account()).roles).not.toContain('admin');
    expect((await refusal(now.signed('POST', `/v1/api-keys/${second.id}/revoke`))).status).toBe(404);
    const [key] = await app.sql<{ revoked: boolean }[]>`select revoked from api_keys where id = ${second.id}`;
    expect(key?.revoked).toBe(false);
    // Registering again cannot take it back.
    expect((await refusal(now.register(['admin']))).status).toBe(403);
    // Its other roles stay.
    expect((await now.account()).roles).toEqual(['developer']);
  });
});
