import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../test/support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../test/support/participants.js';
import type { CommonsClient } from '../client/commons-client.js';
import { EMAIL_KEYWORDS } from '../scenarios/scenario.js';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import { buildMerkleTree } from '../domain/data/merkle.js';
import { workflowIds } from '../contracts/workflow-ids.js';

/**
 * Both ways a dataset version is made go through datasets/dataset-version.ts: the collection's build
 * (version 1, from the part files) and a curator's decision after it (the next version, from the
 * previous manifest). A record scoring rejected but a curator approved is in neither base, so its
 * manifest line comes from its payload, and every version's manifest holds exactly its records.
 */
describe('dataset versions', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const id = uniqueId('dsv');

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
  }, 180_000);

  afterAll(async () => {
    await app?.temporal.workflow
      .getHandle(workflowIds.lifecycle(id))
      .cancel()
      .catch(() => undefined);
    await app?.close();
  });

  const manifestHashes = async (key: string) =>
    (await app.store.get(key))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { hash: string; text: string }).hash);
  const versions = async () =>
    (
      await dev.get<{ versions: { version: number; merkleRoot: string; manifestKey: string; records: number }[] }>(
        `/v1/datanets/${id}/versions`,
      )
    ).versions;

  it('puts records a curator approved against scoring in the manifest, before the build and after it', async () => {
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    const contributor = await participant(app.url, ['contributor']);
    await dev.propose(
      proposalBody(id, {
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
    );
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

    const v1 = await eventually(async () => (await versions())[0], 60_000);
    const inV1 = await manifestHashes(v1.manifestKey);
    expect(inV1).toContain(early.hash);
    expect(inV1).not.toContain(late.hash);
    expect(inV1).toHaveLength(v1.records);
    expect(v1.merkleRoot).toBe(buildMerkleTree([...inV1].sort()).root);

    const r = await approve(late.hash);
    expect(r).toMatchObject({ applied: true, version: { version: 2, records: v1.records + 1 } });
    const v2 = (await versions())[1]!;
    const inV2 = await manifestHashes(v2.manifestKey);
    expect(inV2).toEqual([...inV1, late.hash]);
    expect(v2.merkleRoot).toBe(buildMerkleTree([...inV2].sort()).root);
  });
});
