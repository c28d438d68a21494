import type postgres from 'postgres';
import { generateX25519KeyPair } from '../../domain/data/envelope/sealed-box.js';
import { findDatanetKey, insertDatanetKey } from '../../db/queries/private-records.js';
import { KekUnavailableError, type Kek, type KeyWrapper } from '../kms/kek.js';

/**
 * The key pair of an encrypted Datanet, made when it opens (the collection's openDatanet activity,
 * on a worker): the public key in the clear, the private key wrapped by the KEK. A retry keeps the
 * first pair stored. Returns the public key (raw X25519).
 */
export async function ensureDatanetKeyPair(sql: postgres.Sql, kek: KeyWrapper, datanetId: string): Promise<Buffer> {
  const existing = await findDatanetKey(sql, datanetId);
  if (existing) return existing.publicKey;
  const pair = generateX25519KeyPair();
  const wrapped = await kek.wrap(pair.privateKey, datanetId);
  pair.privateKey.fill(0);
  const stored = await insertDatanetKey(sql, datanetId, {
    publicKey: pair.publicKey,
    wrappedPrivateKey: wrapped.blob,
    kekId: wrapped.kekId,
    kekVersion: wrapped.kekVersion,
  });
  return stored.publicKey;
}

/**
 * Datanet private keys unwrapped once per process (one KEK call per Datanet, not per record), the
 * most recently used kept. Only a process holding the full KEK (the workers) can build one.
 */
export class DatanetPrivateKeys {
  private readonly cache = new Map<string, Promise<Buffer>>();
  constructor(
    private readonly sql: postgres.Sql,
    private readonly kek: Kek,
    private readonly max = 256,
  ) {}

  get(datanetId: string): Promise<Buffer> {
    let p = this.cache.get(datanetId);
    if (p) {
      this.cache.delete(datanetId);
      this.cache.set(datanetId, p);
      return p;
    }
    p = this.unwrap(datanetId);
    this.cache.set(datanetId, p);
    p.catch(() => this.cache.delete(datanetId));
    while (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value!);
    return p;
  }

  private async unwrap(datanetId: string): Promise<Buffer> {
    const k = await findDatanetKey(this.sql, datanetId);
    if (!k) throw new KekUnavailableError(`Datanet ${datanetId} has no key pair: it is not encrypted`);
    return this.kek.unwrap({ kekId: k.kekId, kekVersion: k.kekVersion, blob: k.wrappedPrivateKey }, datanetId);
  }
}
