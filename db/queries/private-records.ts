import type postgres from 'postgres';

/**
 * The key material of encrypted Datanets (their key pairs, each record's sealed data key), erasures
 * and the access log. Plaintext never passes through here: public keys, wrapped and sealed keys only.
 */

export interface WrappedDatanetKey {
  /** Raw X25519 public key. */
  publicKey: Buffer;
  wrappedPrivateKey: Buffer;
  kekId: string;
  kekVersion: string;
}

/**
 * Stores a Datanet's key pair once: a retried open draws a fresh pair but keeps the first one stored
 * (returned), so every sealed key of the Datanet stays under one public key.
 */
export async function insertDatanetKey(
  sql: postgres.Sql,
  datanetId: string,
  k: WrappedDatanetKey,
): Promise<WrappedDatanetKey> {
  await sql`
    insert into datanet_keys (datanet_id, public_key, wrapped_private_key, kek_id, kek_version)
    values (${datanetId}, ${k.publicKey}, ${k.wrappedPrivateKey}, ${k.kekId}, ${k.kekVersion})
    on conflict (datanet_id) do nothing`;
  const stored = await findDatanetKey(sql, datanetId);
  if (!stored) throw new Error(`the key pair of Datanet ${datanetId} was not stored`);
  return stored;
}

export async function findDatanetKey(sql: postgres.Sql, datanetId: string): Promise<WrappedDatanetKey | undefined> {
  const [r] = await sql<{ public_key: Buffer; wrapped_private_key: Buffer; kek_id: string; kek_version: string }[]>`
    select public_key, wrapped_private_key, kek_id, kek_version from datanet_keys where datanet_id = ${datanetId}`;
  return (
    r && {
      publicKey: r.public_key,
      wrappedPrivateKey: r.wrapped_private_key,
      kekId: r.kek_id,
      kekVersion: r.kek_version,
    }
  );
}

/** Datanet keys wrapped under anything but the current KEK (id and version): what a rotation rewraps, a page at a time. */
export async function datanetKeysNotUnder(
  sql: postgres.Sql,
  kek: { kekId: string; kekVersion: string },
  limit: number,
): Promise<(WrappedDatanetKey & { datanetId: string })[]> {
  const rows = await sql<
    { datanet_id: string; public_key: Buffer; wrapped_private_key: Buffer; kek_id: string; kek_version: string }[]
  >`
    select datanet_id, public_key, wrapped_private_key, kek_id, kek_version from datanet_keys
    where (kek_id, kek_version) <> (${kek.kekId}, ${kek.kekVersion}) order by datanet_id limit ${limit}`;
  return rows.map((r) => ({
    datanetId: r.datanet_id,
    publicKey: r.public_key,
    wrappedPrivateKey: r.wrapped_private_key,
    kekId: r.kek_id,
    kekVersion: r.kek_version,
  }));
}

/**
 * Replaces a Datanet's wrapped private key, only if it is still wrapped as `from` says (a concurrent
 * rotation that got there first wins; this one then changes nothing). True when it replaced it.
 */
export async function rewrapDatanetKey(
  sql: postgres.Sql,
  datanetId: string,
  from: { kekId: string; kekVersion: string },
  to: { wrappedPrivateKey: Buffer; kekId: string; kekVersion: string },
): Promise<boolean> {
  const r = await sql`
    update datanet_keys set wrapped_private_key = ${to.wrappedPrivateKey}, kek_id = ${to.kekId},
      kek_version = ${to.kekVersion}, rewrapped_at = now()
    where datanet_id = ${datanetId} and kek_id = ${from.kekId} and kek_version = ${from.kekVersion}`;
  return r.count === 1;
}

/**
 * Stores the sealed data keys of records just inserted (called in the transaction that inserts their
 * contributions rows: a record is never stored without its key, nor a key without its record).
 */
export async function insertRecordKeys(
  tx: postgres.TransactionSql,
  datanetId: string,
  keys: { hash: string; sealedKey: Buffer }[],
): Promise<void> {
  if (!keys.length) return;
  await tx`
    insert into record_keys ${tx(keys.map((k) => ({ datanet_id: datanetId, hash: k.hash, sealed_key: k.sealedKey })))}
    on conflict (datanet_id, hash) do nothing`;
}

/** The sealed data keys (and contributors) of those of `hashes` that still have one; erased records are absent. */
export async function findSealedKeys(
  sql: postgres.Sql,
  datanetId: string,
  hashes: string[],
): Promise<Map<string, { sealedKey: Buffer; contributor: string }>> {
  if (!hashes.length) return new Map();
  const rows = await sql<{ hash: string; sealed_key: Buffer; contributor: string }[]>`
    select k.hash, k.sealed_key, c.contributor from record_keys k
    join contributions c on c.datanet_id = k.datanet_id and c.hash = k.hash
    where k.datanet_id = ${datanetId} and k.hash = any(${hashes}::text[])`;
  return new Map(rows.map((r) => [r.hash, { sealedKey: r.sealed_key, contributor: r.contributor }]));
}

export type ErasureResult = 'erased' | 'already-erased' | 'not-found';

/**
 * Crypto-shreds a record: deletes its sealed data key and records who erased it and when, in one
 * transaction. A replayed or raced erasure finds the erasure row and changes nothing. Who may erase
 * is the caller's rule (the route checks it).
 */
export async function eraseRecordKey(
  sql: postgres.Sql,
  a: { datanetId: string; hash: string; erasedBy: string },
): Promise<ErasureResult> {
  return sql.begin(async (tx) => {
    const inserted = await tx`
      insert into record_erasures (datanet_id, hash, contributor, erased_by)
      select datanet_id, hash, contributor, ${a.erasedBy} from contributions
      where datanet_id = ${a.datanetId} and hash = ${a.hash}
      on conflict (datanet_id, hash) do nothing returning hash`;
    await tx`delete from record_keys where datanet_id = ${a.datanetId} and hash = ${a.hash}`;
    if (inserted.length) return 'erased';
    const [e] = await tx`select 1 from record_erasures where datanet_id = ${a.datanetId} and hash = ${a.hash}`;
    return e ? 'already-erased' : 'not-found';
  });
}

/** Which of `hashes` were erased. */
export async function erasedAmong(sql: postgres.Sql, datanetId: string, hashes: string[]): Promise<Set<string>> {
  if (!hashes.length) return new Set();
  const rows = await sql<{ hash: string }[]>`
    select hash from record_erasures where datanet_id = ${datanetId} and hash = any(${hashes}::text[])`;
  return new Set(rows.map((r) => r.hash));
}

export interface AccessLogEntry {
  datanetId: string;
  recordHash: string;
  contributor: string;
  actor: string;
  purpose: string;
}

/** Appends access-log rows (one per decrypted record). Nothing updates or deletes them. */
export async function appendAccessLog(sql: postgres.Sql, rows: AccessLogEntry[]): Promise<void> {
  if (!rows.length) return;
  await sql`
    insert into record_access_log ${sql(
      rows.map((r) => ({
        datanet_id: r.datanetId,
        record_hash: r.recordHash,
        contributor: r.contributor,
        actor: r.actor,
        purpose: r.purpose,
      })),
    )}`;
}

export interface AccessLogRow extends AccessLogEntry {
  id: number;
  at: Date;
}

type AccessLogDbRow = {
  id: string;
  datanet_id: string;
  record_hash: string;
  contributor: string;
  actor: string;
  purpose: string;
  at: Date;
};
const accessLogRow = (r: AccessLogDbRow): AccessLogRow => ({
  id: Number(r.id),
  datanetId: r.datanet_id,
  recordHash: r.record_hash,
  contributor: r.contributor,
  actor: r.actor,
  purpose: r.purpose,
  at: r.at,
});

/** Reads of a contributor's records, newest first, paged by id (`before`: the last page's smallest id). */
export async function accessLogOfContributor(
  sql: postgres.Sql,
  contributor: string,
  page: { before?: number; limit: number },
): Promise<AccessLogRow[]> {
  const rows = await sql<AccessLogDbRow[]>`
    select id, datanet_id, record_hash, contributor, actor, purpose, at from record_access_log
    where contributor = ${contributor} and id < ${page.before ?? Number.MAX_SAFE_INTEGER}
    order by id desc limit ${page.limit}`;
  return rows.map(accessLogRow);
}

/** Reads of a Datanet's records, newest first, paged by id. */
export async function accessLogOfDatanet(
  sql: postgres.Sql,
  datanetId: string,
  page: { before?: number; limit: number },
): Promise<AccessLogRow[]> {
  const rows = await sql<AccessLogDbRow[]>`
    select id, datanet_id, record_hash, contributor, actor, purpose, at from record_access_log
    where datanet_id = ${datanetId} and id < ${page.before ?? Number.MAX_SAFE_INTEGER}
    order by id desc limit ${page.limit}`;
  return rows.map(accessLogRow);
}
