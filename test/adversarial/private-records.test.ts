import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, refusal, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { SPAM_SPEC } from '../../scenarios/scenario.js';
import { contentHash } from '../../domain/data/content-hash.js';
import { envelopeToWire, sealRecord } from '../../domain/data/envelope/record-envelope.js';
import { loadConfig } from '../../infra/config.js';
import { withoutKekUnwrap } from '../../infra/local/system.js';
import { canUnwrap, KekUnavailableError, type Kek } from '../../infra/kms/kek.js';
import { kekOf, keyWrapperOf, requireKek } from '../../infra/kms/from-config.js';
import { localKek, retireLocalKekVersions, rotateLocalKekFile } from '../../infra/kms/local-kek.js';
import { rewrapDatanetKeys } from '../../infra/kms/rewrap.js';
import { RecordOpener } from '../../infra/private-records/open-records.js';
import { createDataActivities } from '../../activities/data/activities.js';
import { findDatanetKey } from '../../db/queries/private-records.js';
import { recordRefOf, type RecordRef } from '../../storage/packs.js';

/**
 * Attacks on "a private Datanet's records exist in plaintext only inside the workers that open them":
 * a direct read of every object in the bucket, the API process's own key material, a malformed or
 * oversized envelope, a ciphertext changed in S3, and a KEK rotation that must not need a single
 * payload re-encrypted.
 */
describe('adversarial: private records at rest', () => {
  let app: TestApp;
  let contributor: CommonsClient;
  let workerKek: Kek;
  const id = uniqueId('private-rec');
  const canary = `CANARY-${id}-7f3a`;
  const spec = { ...SPAM_SPEC, maxRecordBytes: 2048, visibility: 'private' as const };
  const records = Array.from({ length: 12 }, (_, i) => ({
    text: `patient ${i} reports ${canary} after the visit; follow-up booked`,
    label: i % 2 ? 'spam' : 'ham',
  }));

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    contributor = await participant(app.url, ['contributor']);
    workerKek = requireKek(kekOf(app.cfg.kek));
    // A running lifecycle's proposal, and its Datanet opened by the collection's own activity (which
    // makes the key pair): this file needs no lifecycle beyond the open window.
    const p = proposalBody(id);
    await app.sql`
      insert into proposals (id, proposer, model_name, title, description, domain, labels, datanet_spec, params, stake, budget, workflow_id)
      values (${id}, ${contributor.address}, ${p.modelName}, ${p.title}, ${p.description}, ${p.domain}, ${app.sql.json(p.labels)},
              ${app.sql.json(spec)}, ${app.sql.json(p.params)}, ${'500'}, ${'0'}, ${`lifecycle-${id}`})`;
    const data = createDataActivities({
      sql: app.sql,
      store: app.store,
      ledger: app.ledger,
      trainers: {},
      protocol: app.cfg.protocol,
      kek: workerKek,
      records: new RecordOpener({ sql: app.sql, store: app.store, kek: workerKek }),
    });
    await data.openDatanet({
      proposalId: id,
      datanetId: id,
      spec,
      targetCount: 1000,
      closesAt: Date.now() + 3_600_000,
    });
  }, 120_000);

  afterAll(async () => app?.close());

  async function refsOf(hashes: string[]): Promise<RecordRef[]> {
    const rows = await app.sql<{ hash: string; s3_key: string; pack_offset: string; pack_length: number }[]>`
      select hash, s3_key, pack_offset, pack_length from contributions where datanet_id = ${id} and hash = any(${hashes}::text[])`;
    return rows.map(recordRefOf);
  }

  /** What this Datanet holds: rows, sealed keys and pack objects (a refused request must change none). */
  async function holdings() {
    const [c] = await app.sql<{ n: number }[]>`select count(*)::int as n from contributions where datanet_id = ${id}`;
    const [k] = await app.sql<{ n: number }[]>`select count(*)::int as n from record_keys where datanet_id = ${id}`;
    const packs = await app.store.list(`datanets/${id}/packs/`);
    return { rows: c!.n, keys: k!.n, packs: packs.length };
  }

  it('publishes the public key, takes records sealed by the client, and S3 holds no plaintext', async () => {
    const d = await contributor.datanet(id);
    expect(d.encryption?.publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const r = await contributor.contributeBatch(id, records);
    expect(r.stored).toBe(records.length);
    expect(await contributor.contribute(id, records[0]!)).toMatchObject({ status: 'already-stored' });
    // Every object in the bucket, read directly.
    const objects = await app.store.list('');
    expect(objects.some((o) => o.key.startsWith(`datanets/${id}/packs/`))).toBe(true);
    for (const o of objects) {
      const body = (await app.store.get(o.key)).toString('latin1');
      expect(body, o.key).not.toContain(canary);
      expect(body, o.key).not.toContain('follow-up booked');
      expect(body, o.key).not.toContain(Buffer.from(canary).toString('base64').slice(0, 16));
    }
    // Nor any row of Postgres (labels of sealed records stay empty).
    const rows =
      await app.sql`select c.*, k.sealed_key from contributions c join record_keys k using (datanet_id, hash) where datanet_id = ${id}`;
    expect(rows).toHaveLength(records.length);
    expect(JSON.stringify(rows)).not.toContain(canary);
    expect(rows.every((x) => x.label === '' || x.label === null)).toBe(true);
  });

  it("the API's key material cannot open a record; the worker's opens it and logs each read", async () => {
    const apiCfg = loadConfig(withoutKekUnwrap(process.env));
    expect(apiCfg.kek).toMatchObject({ kind: 'local' });
    expect(kekOf(apiCfg.kek)).toBeUndefined();
    expect(() => requireKek(kekOf(apiCfg.kek))).toThrow(KekUnavailableError);
    const apiWrapper = keyWrapperOf(apiCfg.kek)!;
    expect(canUnwrap(apiWrapper)).toBe(false);
    // Even read as a key file, the API's public file unwraps nothing.
    const apiKek = apiCfg.kek;
    if (apiKek?.kind !== 'local' || !apiKek.publicFile) throw new Error('the API has no local public KEK file');
    expect(apiKek.keyFile).toBeUndefined();
    expect(() => localKek(apiKek.publicFile!)).toThrow(KekUnavailableError);

    const hashes = records.map((r) => contentHash(r).hash);
    const opened = await new RecordOpener({ sql: app.sql, store: app.store, kek: workerKek }).openRecords(
      id,
      await refsOf(hashes),
      { actor: 'worker:test', purpose: 'scoring' },
    );
    for (const [i, h] of hashes.entries())
      expect(opened.get(h)).toEqual({ ok: true, bytes: contentHash(records[i]).bytes });
    const log = await app.sql<{ record_hash: string; contributor: string; actor: string; purpose: string }[]>`
      select record_hash, contributor, actor, purpose from record_access_log where datanet_id = ${id} and actor = 'worker:test'`;
    expect(log.map((l) => l.record_hash).sort()).toEqual([...hashes].sort());
    expect(new Set(log.map((l) => `${l.contributor} ${l.purpose}`))).toEqual(
      new Set([`${contributor.address} scoring`]),
    );
  });

  it('refuses malformed and oversized envelopes with a 4xx and the reason, storing nothing', async () => {
    const { publicKey } = (await findDatanetKey(app.sql, id))!;
    const before = await holdings();
    const fresh = { text: `a new note ${canary}`, label: 'ham' };
    const wire = envelopeToWire(sealRecord(publicKey, id, contentHash(fresh).bytes));
    const post = (body: unknown) => contributor.signed('POST', `/v1/datanets/${id}/contributions`, body);

    const truncated = await refusal(
      post({
        envelope: { ...wire, sealedKey: Buffer.from(wire.sealedKey, 'base64').subarray(0, 50).toString('base64') },
      }),
    );
    expect(truncated.status).toBe(400);
    expect(JSON.stringify(truncated.body)).toMatch(/sealedKey is 50 bytes/);

    const shortCipher = await refusal(post({ envelope: { ...wire, ciphertext: Buffer.alloc(16).toString('base64') } }));
    expect(shortCipher.status).toBe(400);
    expect(JSON.stringify(shortCipher.body)).toMatch(/shorter than its header/);

    const big = { text: 'x'.repeat(2100), label: 'ham' };
    const oversized = await refusal(
      post({ envelope: envelopeToWire(sealRecord(publicKey, id, contentHash(big).bytes)) }),
    );
    expect(oversized.status).toBe(413);
    expect(JSON.stringify(oversized.body)).toMatch(/accepts at most 2048/);

    const clear = await refusal(post({ payload: fresh }));
    expect(clear.status).toBe(400);
    expect(JSON.stringify(clear.body)).toMatch(/this Datanet is encrypted/);

    const batch = await contributor.signed<{ stored: number; results: { status: string; errors?: string[] }[] }>(
      'POST',
      `/v1/datanets/${id}/contributions/batch`,
      { records: [{ envelope: { ...wire, ciphertext: 'not base64!' } }, { payload: fresh }] },
    );
    expect(batch.stored).toBe(0);
    expect(batch.results.map((r) => r.status)).toEqual(['invalid', 'invalid']);
    expect(await holdings()).toEqual(before);
  });

  it('refuses a ciphertext changed in S3 on open (GCM tag): no bytes, no access-log row', async () => {
    const victim = contentHash(records[3]).hash;
    const [ref] = await refsOf([victim]);
    const pack = await app.store.get(ref!.key);
    const line = pack.subarray(ref!.offset, ref!.offset + ref!.length).toString('latin1');
    // A different base64 character in the middle of the body: still well-formed, one bit off.
    const at = Math.floor(line.length / 2);
    const swapped = line[at] === 'A' ? 'B' : 'A';
    const tampered = Buffer.concat([
      pack.subarray(0, ref!.offset + at),
      Buffer.from(swapped),
      pack.subarray(ref!.offset + at + 1),
    ]);
    await app.store.put(ref!.key, tampered);
    try {
      const opened = await new RecordOpener({ sql: app.sql, store: app.store, kek: workerKek }).openRecords(
        id,
        [ref!],
        {
          actor: 'worker:tamper-check',
          purpose: 'scoring',
        },
      );
      const read = opened.get(victim);
      expect(read?.ok).toBe(false);
      expect(read && !read.ok && read.reason).toMatch(/authentication tag/);
      const [n] = await app.sql<{ n: number }[]>`
        select count(*)::int as n from record_access_log where datanet_id = ${id} and actor = 'worker:tamper-check'`;
      expect(n!.n).toBe(0);
    } finally {
      await app.store.put(ref!.key, pack);
    }
  });

  it('rotates the KEK without re-encrypting a payload; the retired version opens nothing', async () => {
    // A copy of the stack's key files: other test files keep theirs.
    const dir = mkdtempSync(join(tmpdir(), 'kek-rotation-'));
    try {
      const keyFile = join(dir, 'kek.json');
      const publicFile = join(dir, 'kek-public.json');
      if (app.cfg.kek?.kind !== 'local' || !app.cfg.kek.keyFile) throw new Error('the stack has no local KEK file');
      copyFileSync(app.cfg.kek.keyFile, keyFile);
      const oldKek = localKek(keyFile);
      const packsBefore = (await app.store.list(`datanets/${id}/packs/`)).map((o) => [o.key, o.etag] as const);
      const before = (await findDatanetKey(app.sql, id))!;

      const next = rotateLocalKekFile(keyFile, publicFile);
      const { rewrapped } = await rewrapDatanetKeys(app.sql, localKek(keyFile));
      expect(rewrapped).toBe(1);
      expect(await rewrapDatanetKeys(app.sql, localKek(keyFile))).toEqual({ rewrapped: 0 });
      const after = (await findDatanetKey(app.sql, id))!;
      expect(after).toMatchObject({ kekVersion: next.kekVersion, publicKey: before.publicKey });
      expect(after.wrappedPrivateKey.equals(before.wrappedPrivateKey)).toBe(false);
      expect(retireLocalKekVersions(keyFile)).toEqual([before.kekVersion]);

      // Same pack objects, same bytes; every record opens under the new version alone.
      const packsAfter = (await app.store.list(`datanets/${id}/packs/`)).map((o) => [o.key, o.etag] as const);
      expect(packsAfter).toEqual(packsBefore);
      const hashes = records.map((r) => contentHash(r).hash);
      const opened = await new RecordOpener({ sql: app.sql, store: app.store, kek: localKek(keyFile) }).openRecords(
        id,
        await refsOf(hashes),
        { actor: 'worker:after-rotation', purpose: 'training' },
      );
      expect([...opened.values()].filter((r) => r.ok)).toHaveLength(records.length);
      // The old version (what a worker not yet restarted holds) no longer unwraps the Datanet key.
      await expect(
        oldKek.unwrap({ kekId: after.kekId, kekVersion: after.kekVersion, blob: after.wrappedPrivateKey }, id),
      ).rejects.toThrow(KekUnavailableError);
    } finally {
      // Runs last: the Datanet key stays under the rotated copy, which no other test reads.
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
