import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealTo } from '../../domain/data/envelope/sealed-box.js';
import { readerContext } from '../../domain/data/envelope/record-envelope.js';

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
