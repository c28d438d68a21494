import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateX25519KeyPair, openSealed, sealTo } from '../../domain/data/envelope/sealed-box.js';
import {
  checkEnvelope,
  openRecordCiphertext,
  readerContext,
  unsealRecordKey,
  type RecordEnvelopeWire,
} from '../../domain/data/envelope/record-envelope.js';
import { canonicalJson, contentHash } from '../../domain/data/content-hash.js';

/**
 * The console's opener of sealed reads (a plain browser module, loaded by URL like
 * records-file.test.ts does) against the worker's sealing: Node's WebCrypto has X25519 as
 * Chromium's does, so the page's code runs here unchanged.
 */
const sealedRead = (await import(new URL('./public/sealed-read.js', import.meta.url).href)) as {
  readerContext(datanetId: string, hash: string): string;
  openSealed(
    privateKey: webcrypto.CryptoKey,
    readerPublic: Uint8Array,
    sealed: Uint8Array,
    context: string,
  ): Promise<Uint8Array>;
  canonicalJson(value: unknown): string;
  contentHash(payload: unknown): Promise<{ hash: string; bytes: Uint8Array }>;
  sealTo(recipientPublic: Uint8Array, bytes: Uint8Array, context: string): Promise<Uint8Array>;
  sealRecord(datanetPublicKey: string, datanetId: string, payload: unknown): Promise<RecordEnvelopeWire>;
  sealerFor(datanet: {
    id: string;
    encryption: { publicKey: string } | null;
  }): (payload: unknown) => Promise<{ payload: unknown } | { envelope: RecordEnvelopeWire }>;
};

describe('console sealed read', () => {
  it('opens what the worker sealed to a key made in the page, for that record only', async () => {
    // Node's typings return a single key for this algorithm name; X25519 makes a pair.
    const pair = (await webcrypto.subtle.generateKey({ name: 'X25519' }, false, [
      'deriveBits',
    ])) as unknown as webcrypto.CryptoKeyPair;
    const pub = new Uint8Array(await webcrypto.subtle.exportKey('raw', pair.publicKey));
    const context = readerContext('dn-1', 'a'.repeat(64));
    expect(sealedRead.readerContext('dn-1', 'a'.repeat(64))).toBe(context);
    const record = Buffer.from(JSON.stringify({ text: 'a private note', label: 'ham' }));
    const sealed = sealTo(Buffer.from(pub), record, context);
    const opened = await sealedRead.openSealed(pair.privateKey, pub, new Uint8Array(sealed), context);
    expect(Buffer.from(opened).equals(record)).toBe(true);
    // Bound to its record: the same box does not open for another one, nor once tampered with.
    await expect(
      sealedRead.openSealed(pair.privateKey, pub, new Uint8Array(sealed), readerContext('dn-1', 'b'.repeat(64))),
    ).rejects.toThrow();
    const tampered = new Uint8Array(sealed);
    tampered[40] = (tampered[40] ?? 0) ^ 1;
    await expect(sealedRead.openSealed(pair.privateKey, pub, tampered, context)).rejects.toThrow();
  });
});

describe('console sealed contribution', () => {
  // Keys out of order, nesting, an absent field, non-ASCII text: what canonical JSON must settle.
  const payload = {
    text: 'Subject: a private note — ünïcødé ✓ and "quotes"\n',
    label: 'ham',
    meta: { z: 1, a: [true, null, 2.5, { y: 'b', x: 'a' }] },
    missing: undefined,
  };

  it('hashes a record exactly as domain/data/content-hash.ts does', async () => {
    const ours = contentHash(payload);
    expect(sealedRead.canonicalJson(payload)).toBe(canonicalJson(payload));
    const theirs = await sealedRead.contentHash(payload);
    expect(theirs.hash).toBe(ours.hash);
    expect(Buffer.from(theirs.bytes).equals(ours.bytes)).toBe(true);
  });

  it('seals a record in the page that the worker opens with the Datanet key, bound to its record', async () => {
    const datanet = generateX25519KeyPair();
    const wire = await sealedRead.sealRecord(datanet.publicKey.toString('base64'), 'dn-1', payload);
    const { hash, bytes } = contentHash(payload);
    expect(wire.hash).toBe(hash);
    // What the API checks without a key (lengths, versions, the size of the plaintext).
    const checked = checkEnvelope(wire, 65_536);
    expect(checked).toMatchObject({ ok: true, size: bytes.length });
    const dataKey = unsealRecordKey(datanet.privateKey, 'dn-1', hash, Buffer.from(wire.sealedKey, 'base64'));
    const opened = openRecordCiphertext(dataKey, 'dn-1', hash, Buffer.from(wire.ciphertext, 'base64'));
    expect(opened.equals(bytes)).toBe(true);
    // Bound to its Datanet and record: another Datanet's or record's context does not open it.
    expect(() => unsealRecordKey(datanet.privateKey, 'dn-2', hash, Buffer.from(wire.sealedKey, 'base64'))).toThrow();
    expect(() => openRecordCiphertext(dataKey, 'dn-2', hash, Buffer.from(wire.ciphertext, 'base64'))).toThrow();
    // Another Datanet's key does not open it either.
    expect(() =>
      unsealRecordKey(generateX25519KeyPair().privateKey, 'dn-1', hash, Buffer.from(wire.sealedKey, 'base64')),
    ).toThrow();
    // Fresh data key and ephemeral key per seal: the same record never seals to the same bytes.
    const again = await sealedRead.sealRecord(datanet.publicKey.toString('base64'), 'dn-1', payload);
    expect(again.hash).toBe(hash);
    expect(again.sealedKey).not.toBe(wire.sealedKey);
    expect(again.ciphertext).not.toBe(wire.ciphertext);
  });

  it("seals a box sealed-box.ts opens, and sealerFor follows the Datanet's encryption", async () => {
    const pair = generateX25519KeyPair();
    const bytes = Buffer.from('a data key, or anything');
    const box = await sealedRead.sealTo(new Uint8Array(pair.publicKey), new Uint8Array(bytes), 'ctx');
    expect(openSealed(pair.privateKey, Buffer.from(box), 'ctx').equals(bytes)).toBe(true);
    expect(await sealedRead.sealerFor({ id: 'dn-1', encryption: null })(payload)).toEqual({ payload });
    const sealed = await sealedRead.sealerFor({
      id: 'dn-1',
      encryption: { publicKey: pair.publicKey.toString('base64') },
    })(payload);
    expect((sealed as { envelope: RecordEnvelopeWire }).envelope.hash).toBe(contentHash(payload).hash);
    expect(JSON.stringify(sealed)).not.toContain('private note');
  });
});
