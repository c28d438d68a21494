import type postgres from 'postgres';
import type { AccessPurpose } from '../../contracts/access-log.js';
import { EnvelopeError } from '../../domain/data/envelope/sealed-box.js';
import { decryptWith, openRecordCiphertext, unsealRecordKey } from '../../domain/data/envelope/record-envelope.js';
import { appendAccessLog, findSealedKeys, type AccessLogEntry } from '../../db/queries/private-records.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { readCiphertexts, type RecordRead, type RecordRef } from '../../storage/packs.js';
import type { Kek } from '../kms/kek.js';
import { DatanetPrivateKeys } from './datanet-keys.js';

/** Who decrypts and why: each record opened writes one access-log row with these. */
export interface Reader {
  /** A worker identity (contracts/access-log.ts workerActor) or the reading curator's or member's address. */
  actor: string;
  purpose: AccessPurpose;
}

/** A ciphertext made with a record's data key (encryptFor), e.g. a manifest line's text fields. */
export interface KeyedCiphertext {
  hash: string;
  ciphertext: Buffer;
  /** The context it was encrypted for (its additional data). */
  context: string;
}

/**
 * The only way plaintext of an encrypted Datanet comes into being: on a worker holding the full KEK.
 * Every record opened appends an access-log row before its plaintext is returned (if the log cannot
 * be written, nothing is returned). Erased records (no sealed key left) are absent from the results;
 * a record whose ciphertext fails its tag or whose plaintext does not hash to its hash comes back
 * `{ ok: false, reason }`, never as bytes.
 */
export class RecordOpener {
  private readonly privateKeys: DatanetPrivateKeys;
  constructor(
    private readonly deps: { sql: postgres.Sql; store: ArtifactStore; kek: Kek },
    private readonly concurrency = 16,
  ) {
    this.privateKeys = new DatanetPrivateKeys(deps.sql, deps.kek);
  }

  /** Opens records from their packs, keyed by hash (storage/packs.ts RecordRead, like readRecords). */
  async openRecords(datanetId: string, refs: readonly RecordRef[], who: Reader): Promise<Map<string, RecordRead>> {
    const sealed = await findSealedKeys(
      this.deps.sql,
      datanetId,
      refs.map((r) => r.hash),
    );
    const live = refs.filter((r) => sealed.has(r.hash));
    const out = new Map<string, RecordRead>();
    if (!live.length) return out;
    const [privateKey, stored] = await Promise.all([
      this.privateKeys.get(datanetId),
      readCiphertexts(this.deps.store, live, this.concurrency),
    ]);
    const log: AccessLogEntry[] = [];
    for (const ref of live) {
      const s = sealed.get(ref.hash)!;
      const c = stored.get(ref.hash);
      if (!c?.ok) {
        out.set(ref.hash, c ?? { ok: false, reason: 'stored record not found' });
        continue;
      }
      try {
        const key = unsealRecordKey(privateKey, datanetId, ref.hash, s.sealedKey);
        out.set(ref.hash, { ok: true, bytes: openRecordCiphertext(key, datanetId, ref.hash, c.bytes) });
        log.push({ datanetId, recordHash: ref.hash, contributor: s.contributor, ...who });
      } catch (err) {
        if (!(err instanceof EnvelopeError)) throw err;
        out.set(ref.hash, { ok: false, reason: `encrypted record refused: ${err.message}` });
      }
    }
    await appendAccessLog(this.deps.sql, log);
    return out;
  }

  /**
   * The data keys of records (to encrypt what is derived from each record under its own key,
   * encryptFor: erasure then shreds those too). Erased records are absent. Nothing is decrypted
   * from a record here, so nothing is logged; reading what these keys encrypted goes through
   * `openKeyed`, which logs.
   */
  async recordKeys(datanetId: string, hashes: readonly string[]): Promise<Map<string, Buffer>> {
    const sealed = await findSealedKeys(this.deps.sql, datanetId, [...hashes]);
    if (!sealed.size) return new Map();
    const privateKey = await this.privateKeys.get(datanetId);
    const out = new Map<string, Buffer>();
    for (const [hash, s] of sealed) {
      try {
        out.set(hash, unsealRecordKey(privateKey, datanetId, hash, s.sealedKey));
      } catch (err) {
        if (!(err instanceof EnvelopeError)) throw err;
      }
    }
    return out;
  }

  /**
   * Decrypts ciphertexts made with records' data keys (manifest and part lines), one result per
   * item in order: bytes, or a reason (tampered), or undefined for an erased record. Each record
   * opened logs one row, however many of its items were opened.
   */
  async openKeyed(
    datanetId: string,
    items: readonly KeyedCiphertext[],
    who: Reader,
  ): Promise<(RecordRead | undefined)[]> {
    const sealed = await findSealedKeys(this.deps.sql, datanetId, [...new Set(items.map((i) => i.hash))]);
    if (!sealed.size) return items.map(() => undefined);
    const privateKey = await this.privateKeys.get(datanetId);
    const keys = new Map<string, Buffer | EnvelopeError>();
    const logged = new Set<string>();
    const out = items.map((it): RecordRead | undefined => {
      const s = sealed.get(it.hash);
      if (!s) return undefined;
      let key = keys.get(it.hash);
      if (!key) {
        try {
          key = unsealRecordKey(privateKey, datanetId, it.hash, s.sealedKey);
        } catch (err) {
          if (!(err instanceof EnvelopeError)) throw err;
          key = err;
        }
        keys.set(it.hash, key);
      }
      if (key instanceof EnvelopeError) return { ok: false, reason: `encrypted record refused: ${key.message}` };
      try {
        const bytes = decryptWith(key, it.ciphertext, it.context);
        logged.add(it.hash);
        return { ok: true, bytes };
      } catch (err) {
        if (!(err instanceof EnvelopeError)) throw err;
        return { ok: false, reason: `encrypted line refused: ${err.message}` };
      }
    });
    await appendAccessLog(
      this.deps.sql,
      [...logged].map((hash) => ({ datanetId, recordHash: hash, contributor: sealed.get(hash)!.contributor, ...who })),
    );
    return out;
  }
}
