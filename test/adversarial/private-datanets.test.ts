import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import { CommonsClient } from '../../client/commons-client.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { generateX25519KeyPair } from '../../domain/data/envelope/sealed-box.js';

/**
 * Who reads the records of members and private Datanets. A stranger, a contributor of another
 * Datanet and a member of a members Datanet ask a private Datanet's records through every route
 * that returns records or text derived from them (docs/private-datanets.md, "Visibility"): none
 * gets the planted canary, and nothing is decrypted for them (no access-log row names them). A
 * curator's read comes back sealed (neither the API's response nor the read's workflow history
 * holds the canary) and shows in the access log the contributor reads; no route writes or erases
 * that log.
 */
const CANARY = `CANARY${randomBytes(8).toString('hex')}`;
const record = (i: number) => ({
  text: `Subject: free offer ${i}. Click the link to claim your money, reply with your address. Patient note ${CANARY} ${i}.`,
  label: 'spam',
});

describe('adversarial: private and members Datanets', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let curator: CommonsClient;
  let contributor: CommonsClient;
  let member: CommonsClient;
  let outsider: CommonsClient;
  let stranger: CommonsClient;
  const anonymous = () => new CommonsClient(app.url);
  const priv = uniqueId('private');
  const members = uniqueId('members');
  const open = uniqueId('public');
  const hashes: string[] = [];
  let memberHash = '';

  const collection = {
    windowMs: 600_000,
    targetCount: 100_000,
    pollIntervalMs: 300,
    batchSize: 50,
    minAcceptedRecords: 1,
    keywords: EMAIL_KEYWORDS,
  };
  // Review rounds would show held-out records to reviewers: an encrypted Datanet's proposal has none.
  const propose = (id: string, spec: Record<string, unknown>) =>
    dev.propose({
      ...proposalBody(id, { governance: { votingPeriodMs: 60_000 }, collection, rlhf: { rounds: 0 } }),
      datanetSpec: { ...SPAM_SPEC, ...spec },
      budget: '0',
    });
  /** Reads by this account that opened a record (the access log names the reader as actor). */
  const readsBy = async (who: CommonsClient) =>
    (await app.sql<{ n: number }[]>`select count(*)::int as n from record_access_log where actor = ${who.address}`)[0]
      ?.n ?? 0;

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
    [curator, contributor, member, outsider, stranger] = await Promise.all([
      participant(app.url, ['reviewer']),
      participant(app.url, ['contributor']),
      participant(app.url, ['contributor']),
      participant(app.url, ['contributor']),
      participant(app.url, ['contributor']),
    ]);
    // One governor votes all three through (its power is in each snapshot), then retires.
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    await propose(priv, { visibility: 'private', access: { curation: { curators: [curator.address] } } });
    await propose(members, { visibility: 'members' });
    await propose(open, {});
    for (const id of [priv, members, open]) {
      await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
      await gov.vote(id, 'yes');
    }
    for (const id of [priv, members, open])
      await eventually(async () =>
        (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
      );
    await retireGovernor(gov, dev.address);
    for (let i = 0; i < 3; i++) hashes.push((await contributor.contribute(priv, record(i))).hash);
    memberHash = (await member.contribute(members, record(100))).hash;
    await outsider.contribute(open, { text: 'Subject: meeting notes, please reply to the list.', label: 'ham' });
  }, 240_000);

  afterAll(async () => {
    for (const id of [priv, members, open])
      await app?.temporal.workflow
        .getHandle(workflowIds.lifecycle(id))
        .cancel()
        .catch(() => undefined);
    await app?.close();
  });

  it('shows the visibility of each Datanet', async () => {
    expect((await anonymous().datanet(priv)).visibility).toBe('private');
    expect((await anonymous().datanet(members)).visibility).toBe('members');
    expect((await anonymous().datanet(open)).visibility).toBe('public');
  });

  it('gives a stranger, a contributor of another Datanet and a member of a members Datanet no plaintext, and decrypts nothing for them', async () => {
    const hash = hashes[0]!;
    const key = generateX25519KeyPair().publicKey.toString('base64');
    for (const attacker of [stranger, outsider, member]) {
      const bodies: unknown[] = [];
      const refused = async (status: number, p: Promise<unknown>) => {
        const e = await refusal(p);
        expect(e.status, e.message).toBe(status);
        bodies.push(e.body);
      };
      const served = async (p: Promise<unknown>) => bodies.push(await p);
      // The record itself: in plaintext, sealed, or in the curators' queue.
      await refused(401, anonymous().contributionPayload(hash));
      await refused(403, attacker.contributionPayload(hash));
      await refused(
        403,
        attacker.signed('POST', `/v1/datanets/${priv}/records/${hash}/read`, { readerPublicKey: key }),
      );
      await refused(401, anonymous().get(`/v1/datanets/${priv}/curation/queue`));
      await refused(403, attacker.signed('GET', `/v1/datanets/${priv}/curation/queue`));
      // Text derived from records: reasons are withheld, lists name hashes and addresses.
      await served(anonymous().contribution(hash));
      await served(attacker.signed('GET', `/v1/contributions/${hash}`));
      await served(attacker.signed('GET', `/v1/datanets/${priv}/contributors/${contributor.address}/records`));
      await served(anonymous().get(`/v1/datanets/${priv}/leaderboard`));
      await served(anonymous().get(`/v1/datanets/${priv}/versions`));
      await served(anonymous().get(`/v1/datanets/${priv}`));
      await served(anonymous().get('/v1/datanets?limit=200'));
      // Who read what: the contributor's log and the owner's.
      await refused(403, attacker.signed('GET', `/v1/accounts/${contributor.address}/access-log`));
      await refused(403, attacker.signed('GET', `/v1/datanets/${priv}/access-log`));
      for (const b of bodies) expect(JSON.stringify(b)).not.toContain(CANARY);
      expect(await readsBy(attacker)).toBe(0);
    }
    const view = await stranger.signed<{ contributions: { reasons: unknown }[] }>('GET', `/v1/contributions/${hash}`);
    expect(view.contributions.every((c) => c.reasons === null)).toBe(true);
  });

  it('lets a members Datanet be read sealed by its member, never by a stranger, and never in plaintext', async () => {
    const mine = await member.readRecord(members, memberHash);
    expect(mine).toMatchObject({ purpose: 'member-view', payload: record(100) });
    expect((await refusal(member.contributionPayload(memberHash))).status).toBe(403);
    const e = await refusal(stranger.readRecord(members, memberHash));
    expect(e.status).toBe(403);
    expect(e.message).toMatch(/members-only/);
  });

  it("serves a curator's read sealed: no plaintext in the response nor in the workflow history, and the contributor sees it", async () => {
    const hash = hashes[1]!;
    const reader = generateX25519KeyPair();
    const raw = await curator.signed<{ sealed: string; purpose: string }>(
      'POST',
      `/v1/datanets/${priv}/records/${hash}/read`,
      { readerPublicKey: reader.publicKey.toString('base64') },
    );
    expect(raw.purpose).toBe('curator-view');
    expect(JSON.stringify(raw)).not.toContain(CANARY);
    expect(Buffer.from(raw.sealed, 'base64').toString('latin1')).not.toContain(CANARY);
    // Through the client, which opens the box with the key it made for the read.
    const read = await curator.readRecord(priv, hash);
    expect(read.payload).toEqual(record(1));

    // Every payload of every read's history: the reader's public key and the sealed box only.
    await eventually(async () => {
      const ids: string[] = [];
      for await (const w of app.temporal.workflow.list({ query: `WorkflowType = 'recordReadWorkflow'` }))
        ids.push(w.workflowId);
      return ids.length >= 3 ? ids : undefined;
    });
    for await (const w of app.temporal.workflow.list({ query: `WorkflowType = 'recordReadWorkflow'` })) {
      const history = await app.temporal.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      // Every byte field of every event (payload data are bytes) read as text.
      const texts: string[] = [];
      const walk = (v: unknown): void => {
        if (v instanceof Uint8Array) texts.push(Buffer.from(v).toString('utf8'));
        else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
      };
      walk(history.events);
      const text = texts.join('\n');
      // The payloads were decoded (the read's input names the full hash), and hold no plaintext.
      expect(text.includes(hash) || text.includes(memberHash)).toBe(true);
      expect(text).not.toContain(CANARY);
    }

    const log = await contributor.signed<{ entries: { recordHash: string; actor: string; purpose: string }[] }>(
      'GET',
      `/v1/accounts/${contributor.address}/access-log`,
    );
    const curatorReads = log.entries.filter((e) => e.actor === curator.address);
    expect(curatorReads).toEqual([
      expect.objectContaining({ recordHash: hash, purpose: 'curator-view' }),
      expect.objectContaining({ recordHash: hash, purpose: 'curator-view' }),
    ]);
    const owners = await dev.signed<{ entries: { actor: string }[] }>('GET', `/v1/datanets/${priv}/access-log`);
    expect(owners.entries.filter((e) => e.actor === curator.address)).toHaveLength(2);
  });

  it('has no route that writes or erases the access log', async () => {
    const before = (await app.sql<{ n: number }[]>`select count(*)::int as n from record_access_log`)[0]?.n;
    expect(before).toBeGreaterThan(0);
    for (const path of [`/v1/accounts/${contributor.address}/access-log`, `/v1/datanets/${priv}/access-log`])
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
        const e = await refusal(contributor.signed(method, path, { actor: contributor.address, purpose: 'forged' }));
        expect(e.status, `${method} ${path}`).toBe(404);
        const owner = await refusal(dev.signed(method, path, {}));
        expect(owner.status, `${method} ${path}`).toBe(404);
      }
    const after = (await app.sql<{ n: number }[]>`select count(*)::int as n from record_access_log`)[0]?.n;
    // Workers may have logged their own reads meanwhile; none was removed and none is forged.
    expect(after).toBeGreaterThanOrEqual(before!);
    expect(
      (await app.sql<{ n: number }[]>`select count(*)::int as n from record_access_log where purpose = 'forged'`)[0]?.n,
    ).toBe(0);
  });
});
