import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../test/support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../test/support/participants.js';
import type { CommonsClient } from '../client/commons-client.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../scenarios/scenario.js';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import { buildMerkleTree } from '../domain/data/merkle.js';
import { workflowIds } from '../contracts/workflow-ids.js';

/**
 * Both ways a dataset version is made go through datasets/dataset-version.ts: the collection's build
 * (version 1, from the part files) and a curator's decision after it (the next version, from the
 * previous manifest). A record scoring rejected but a curator approved is in neither base, so its
 * manifest line comes from its payload (a private Datanet's: the sealed line scoring kept for it,
 * since nothing that builds a version opens a record), and every version's manifest holds exactly
 * its records.
 */
describe('dataset versions', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const ids: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
  }, 180_000);

  afterAll(async () => {
    for (const id of ids)
      await app?.temporal.workflow
        .getHandle(workflowIds.lifecycle(id))
        .cancel()
        .catch(() => undefined);
    await app?.close();
  });

  const manifestLines = async (key: string) =>
    (await app.store.get(key))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { hash: string; text?: string; sealed?: string });
  const manifestHashes = async (key: string) => (await manifestLines(key)).map((l) => l.hash);
  const versions = async (id: string) =>
    (
      await dev.get<{ versions: { version: number; merkleRoot: string; manifestKey: string; records: number }[] }>(
        `/v1/datanets/${id}/versions`,
      )
    ).versions;

  /** Runs the collection with two approvals, one before the build and one after; returns the two versions. */
  async function approvedAgainstScoring(spec: typeof SPAM_SPEC & { visibility?: 'private' }) {
    const id = uniqueId('dsv');
    ids.push(id);
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    const contributor = await participant(app.url, ['contributor']);
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
        rlhf: { rounds: 0 },
      }),
      datanetSpec: spec,
    });
    await passAndOpenDatanet(dev, gov, id, dev.address);
    const good = loadSpamAssassin({ limit: 40, seed: 21 })
      .filter((r) => r.text.split(' ').length > 60)
      .slice(0, 6);
    // Each text carries the Datanet's id: content hashes are global, and other files contribute this corpus too.
    for (const r of good) await contributor.contribute(id, { text: `${r.text}\n${id}`, label: r.label });
    // Too short to pass quality scoring: rejected unless a curator approves it.
    const early = await contributor.contribute(id, { text: `ok ${id}`, label: 'ham' });
    const late = await contributor.contribute(id, { text: `fine ${id}`, label: 'spam' });
    const approve = (hash: string) =>
      dev.signed('POST', `/v1/datanets/${id}/curation`, {
        decisions: [{ hash, decision: 'approve', reason: 'a curator vouches for it' }],
      });
    expect(await approve(early.hash)).toMatchObject({ applied: false });
    await dev.closeDatanet(id);

    const v1 = await eventually(async () => (await versions(id))[0], 60_000);
    const inV1 = await manifestHashes(v1.manifestKey);
    expect(inV1).toContain(early.hash);
    expect(inV1).not.toContain(late.hash);
    expect(inV1).toHaveLength(v1.records);
    expect(v1.merkleRoot).toBe(buildMerkleTree([...inV1].sort()).root);

    const r = await approve(late.hash);
    expect(r).toMatchObject({ applied: true, version: { version: 2, records: v1.records + 1 } });
    const v2 = (await versions(id))[1]!;
    const inV2 = await manifestHashes(v2.manifestKey);
    expect(inV2).toEqual([...inV1, late.hash]);
    expect(v2.merkleRoot).toBe(buildMerkleTree([...inV2].sort()).root);
    return { id, v1, v2 };
  }

  it('puts records a curator approved against scoring in the manifest, before the build and after it', async () => {
    const { v2 } = await approvedAgainstScoring(SPAM_SPEC);
    for (const l of await manifestLines(v2.manifestKey)) expect(typeof l.text).toBe('string');
  });

  it('does the same for a private Datanet from sealed lines, the API opening nothing', async () => {
    const { id, v1, v2 } = await approvedAgainstScoring({ ...SPAM_SPEC, visibility: 'private' });
    for (const key of [v1.manifestKey, v2.manifestKey])
      for (const l of await manifestLines(key)) {
        expect(l.text).toBeUndefined();
        expect(typeof l.sealed).toBe('string');
      }
    // Scoring opened each record once; building either version (the second one by the API, on the
    // curator's approval) opened nothing.
    const reads = await app.sql<{ purpose: string; n: number }[]>`
      select purpose, count(*)::int as n from record_access_log where datanet_id = ${id} group by purpose`;
    const [stored] = await app.sql<
      { n: number }[]
    >`select count(*)::int as n from contributions where datanet_id = ${id}`;
    expect(reads).toEqual([{ purpose: 'scoring', n: stored!.n }]);
  });
});
