import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, refusal, type TestApp } from '../support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../support/participants.js';
import { SPAM_SPEC } from '../../scenarios/scenario.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { kekOf, requireKek } from '../../infra/kms/from-config.js';
import { RecordOpener } from '../../infra/private-records/open-records.js';
import { openManifestToFile } from '../../activities/sealed-manifests.js';
import { sealFields, type SealedLine } from '../../domain/data/sealed-lines.js';
import { parseManifest } from '../../ml/embedded/embedded-trainer.js';
import { TASK_QUEUES } from '../../contracts/task-queues.js';

/**
 * Attacks on what a private Datanet's pipeline writes and reads, on the real stack (API, Postgres,
 * S3, the local KEK):
 * - a developer asks for review rounds or an external trainer on a private Datanet, to have its
 *   records shown to reviewers or reproduced by a served model;
 * - someone who can write to the bucket rewrites a sealed manifest line to be credited with another
 *   contributor's record, or moves a record's box onto another record's line.
 */
const PRIVATE_SPEC = { ...SPAM_SPEC, visibility: 'private' as const };

describe('attacks on the private pipeline', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let gov: CommonsClient;

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '5000' });
    gov = await participant(app.url, ['governor'], { gOPEN: '1000' });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('refuses review rounds and an external trainer on a private Datanet: 400, and nothing is stored', async () => {
    for (const [params, field] of [
      [{ rlhf: { rounds: 1 } }, 'rlhf.rounds'],
      [{ rlhf: { rounds: 0 }, training: { trainer: 'external' } }, 'training.trainer'],
    ] as const) {
      const id = uniqueId('priv-ask');
      const err = await refusal(dev.propose({ ...proposalBody(id, params), datanetSpec: PRIVATE_SPEC }));
      expect(err.status).toBe(400);
      expect(err.message).toContain(field);
      expect(await app.sql`select 1 from proposals where id = ${id}`).toHaveLength(0);
    }
  });

  it('a sealed line rewritten to credit another contributor, or a box moved to another record, does not open in training', async () => {
    const id = uniqueId('priv-lines');
    await dev.propose({
      ...proposalBody(id, { rlhf: { rounds: 0 }, collection: { windowMs: 600_000, targetCount: 1000 } }),
      datanetSpec: PRIVATE_SPEC,
    });
    await passAndOpenDatanet(dev, gov, id);
    const alice = await participant(app.url, ['contributor']);
    const mallory = await participant(app.url, ['contributor']);
    const mails = loadSpamAssassin({ limit: 4, seed: 5 }).map((m) => ({ text: m.text, label: m.label }));
    const sent = await alice.contributeBatch(id, mails);
    const hashes = sent.results.map((r) => r.hash!);

    // The workers' opener (the full KEK): it writes the sealed lines, as scoring does.
    const opener = new RecordOpener({ sql: app.sql, store: app.store, kek: requireKek(kekOf(app.cfg.kek)) });
    const keys = await opener.recordKeys(id, hashes);
    const lines: SealedLine[] = hashes.map((hash, i) =>
      sealFields(keys.get(hash)!, { hash, contributor: alice.address, datanet: id }, mails[i]!),
    );
    const manifest = (ls: SealedLine[]) => ls.map((l) => JSON.stringify(l)).join('\n') + '\n';
    const deps = { store: app.store, records: opener };
    const env = new MockActivityEnvironment({ taskQueue: TASK_QUEUES.training });
    const work = await mkdtemp(join(tmpdir(), 'priv-lines-'));
    const open = async (name: string, ls: SealedLine[]) => {
      await app.store.put(`attack/${id}/${name}.jsonl`, manifest(ls));
      const path = join(work, `${name}.jsonl`);
      await env.run(() => openManifestToFile(deps, `attack/${id}/${name}.jsonl`, path, 'training'));
      return parseManifest(await readFile(path));
    };
    try {
      // As written, the lines open to alice's records, and each read is logged for the training worker.
      const honest = await open('honest', lines);
      expect(honest.map((r) => [r.contributor, r.text])).toEqual(mails.map((m) => [alice.address, m.text]));
      const log = await app.sql<{ n: number; actor: string }[]>`
        select count(*)::int as n, min(actor) as actor from record_access_log
        where datanet_id = ${id} and purpose = 'training'`;
      expect(log[0]).toEqual({ n: hashes.length, actor: `worker:${TASK_QUEUES.training}` });

      // Mallory rewrites the contributor of alice's line (to be paid for it): refused.
      const diverted = lines.map((l, i) => (i === 0 ? { ...l, contributor: mallory.address } : l));
      await expect(open('diverted', diverted)).rejects.toThrow(/refused/);
      // Alice's second record's box moved onto her first record's line: refused.
      const moved = lines.map((l, i) => (i === 0 ? { ...l, sealed: lines[1]!.sealed } : l));
      await expect(open('moved', moved)).rejects.toThrow(/refused/);
      // Neither attempt opened alice's first record: its only training read is the honest one.
      const [after] = await app.sql<{ n: number }[]>`
        select count(*)::int as n from record_access_log where datanet_id = ${id} and purpose = 'training'
          and record_hash = ${hashes[0]!}`;
      expect(after?.n).toBe(1);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
