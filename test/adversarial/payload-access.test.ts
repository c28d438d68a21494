import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../support/participants.js';
import { CommonsClient } from '../../client/commons-client.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { buildDomainProfile } from '../../domain/data/relevance.js';
import { scoreRecord } from '../../domain/data/score-record.js';

/**
 * Undecided payloads are not public. A stranger reads the hashes of a contributor's records (the
 * per-contributor list and the leaderboard name records by hash) and asks for their payloads, which
 * the curator-only queue hides: unsigned it gets 401, signed 403. The contributor, the owner and a
 * curator read them; anyone reads a record once it is accepted into an ungated Datanet.
 */
const profile = buildDomainProfile({
  domain: 'email spam',
  description: 'A spam classifier used by the test suite.',
  keywords: EMAIL_KEYWORDS,
  labels: ['spam', 'ham'],
});
// Records that pass scoring on their own: what becomes of them is the curator's doing.
const records = loadSpamAssassin({ limit: 300, seed: 23 })
  .filter((r) => r.text.split(' ').length > 60)
  .map((r) => ({ text: r.text, label: r.label }))
  .filter((r) => scoreRecord(SPAM_SPEC, profile, r, { minQuality: 0.3, minRelevance: 0.1 }).status === 'accepted')
  .slice(0, 5);

describe('adversarial: who reads a payload', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let curator: CommonsClient;
  let contributor: CommonsClient;
  const anonymous = () => new CommonsClient(app.url);
  const id = uniqueId('payloads');
  const hashes: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    [curator, contributor] = await Promise.all([
      participant(app.url, ['reviewer']),
      participant(app.url, ['contributor']),
    ]);
    await dev.propose({
      ...proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        collection: {
          windowMs: 600_000,
          targetCount: 100_000,
          pollIntervalMs: 300,
          batchSize: 50,
          minAcceptedRecords: 1,
          keywords: EMAIL_KEYWORDS,
        },
      }),
      datanetSpec: {
        ...SPAM_SPEC,
        access: { curation: { curators: [curator.address], requireApproval: true, reviewMs: 1000 } },
      },
      budget: '0',
    });
    await passAndOpenDatanet(dev, gov, id, dev.address);
    for (const r of records) hashes.push((await contributor.contribute(id, r)).hash);
  }, 180_000);

  afterAll(async () => {
    await app?.temporal.workflow
      .getHandle(workflowIds.lifecycle(id))
      .cancel()
      .catch(() => undefined);
    await app?.close();
  });

  it('refuses a stranger the payloads it finds by hash, and serves the contributor, the owner and a curator', async () => {
    const listed = await anonymous().get<{ records: { hash: string }[] }>(
      `/v1/datanets/${id}/contributors/${contributor.address}/records`,
    );
    expect(listed.records.map((r) => r.hash).sort()).toEqual([...hashes].sort());
    // The queue hides them from a stranger; so does the payload route.
    expect((await refusal(anonymous().get(`/v1/datanets/${id}/curation/queue`))).status).toBe(401);
    const stranger = await participant(app.url, ['contributor']);
    for (const hash of hashes) {
      const unsigned = await refusal(anonymous().contributionPayload(hash));
      expect(unsigned.status).toBe(401);
      expect(JSON.stringify(unsigned.body)).toMatch(/not public/);
      expect((await refusal(stranger.contributionPayload(hash))).status).toBe(403);
    }
    for (const [i, hash] of hashes.entries())
      for (const reader of [contributor, dev, curator])
        expect((await reader.contributionPayload(hash)).payload).toEqual(records[i]);
  });

  it('serves a record to anyone once accepted, never a refused or undecided one', async () => {
    const [approved, rejected, undecided] = hashes;
    await curator.signed('POST', `/v1/datanets/${id}/curation`, {
      decisions: [
        { hash: approved, decision: 'approve', reason: 'fine' },
        { hash: rejected, decision: 'reject', reason: 'not what we collect' },
      ],
    });
    const status = async (hash: string | undefined) =>
      (
        await app.sql<
          { status: string }[]
        >`select status from contributions where datanet_id = ${id} and hash = ${hash!}`
      )[0]?.status;
    // Scored, decided and built once the window closes.
    await dev.closeDatanet(id);
    await eventually(async () => (await dev.datanet(id)).datasetVersion ?? undefined, 120_000);
    expect(await status(approved)).toBe('accepted');
    expect((await anonymous().contributionPayload(approved!)).payload).toEqual(records[0]);
    expect(await status(rejected)).toBe('curator-rejected');
    expect((await refusal(anonymous().contributionPayload(rejected!))).status).toBe(401);
    expect(await status(undecided)).not.toBe('accepted');
    expect((await refusal(anonymous().contributionPayload(undecided!))).status).toBe(401);
    // Its contributor still reads a refused record.
    expect((await contributor.contributionPayload(rejected!)).payload).toEqual(records[1]);
  }, 180_000);
});
