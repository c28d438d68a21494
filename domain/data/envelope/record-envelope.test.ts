import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../content-hash.js';
import {
  CIPHERTEXT_OVERHEAD,
  SEALED_KEY_BYTES,
  checkEnvelope,
  decryptWith,
  encryptFor,
  envelopeToWire,
  openRecordCiphertext,
  readerContext,
  recordContext,
  sealRecord,
  unsealRecordKey,
} from './record-envelope.js';
import { EnvelopeError, generateX25519KeyPair, openSealed, sealTo, x25519PublicKeyOf } from './sealed-box.js';

const datanet = 'dn-test';
const { bytes, hash } = contentHash({ text: 'patient reports a mild cough', label: 'triage' });

describe('sealed boxes', () => {
  it('open with the recipient key and context only', () => {
    const r = generateX25519KeyPair();
    expect(x25519PublicKeyOf(r.privateKey).equals(r.publicKey)).toBe(true);
    const box = sealTo(r.publicKey, Buffer.from('secret'), 'ctx');
    expect(openSealed(r.privateKey, box, 'ctx').toString()).toBe('secret');
    expect(() => openSealed(r.privateKey, box, 'other')).toThrow(EnvelopeError);
    expect(() => openSealed(generateX25519KeyPair().privateKey, box, 'ctx')).toThrow(EnvelopeError);
    const flipped = Buffer.from(box);
    flipped[40]! ^= 1;
    expect(() => openSealed(r.privateKey, flipped, 'ctx')).toThrow(EnvelopeError);
    expect(() => openSealed(r.privateKey, box.subarray(0, 20), 'ctx')).toThrow(EnvelopeError);
  });

  it('never repeat: two seals of the same bytes differ', () => {
    const r = generateX25519KeyPair();
    expect(sealTo(r.publicKey, Buffer.from('x')).equals(sealTo(r.publicKey, Buffer.from('x')))).toBe(false);
  });

  it('open in WebCrypto as docs/private-datanets.md describes them (the console reads sealed records there)', async () => {
    const { subtle } = webcrypto;
    // @types/node types X25519 generateKey as one key; it returns a pair.
    const reader = (await subtle.generateKey({ name: 'X25519' }, true, [
      'deriveBits',
    ])) as unknown as webcrypto.CryptoKeyPair;
    const readerPublic = Buffer.from(await subtle.exportKey('raw', reader.publicKey));
    const context = readerContext(datanet, hash);
    const box = sealTo(readerPublic, bytes, context);
    // version ‖ ephemeral public key ‖ ciphertext ‖ tag
    expect(box[0]).toBe(1);
    const eph = box.subarray(1, 33);
    const ephKey = await subtle.importKey('raw', eph, { name: 'X25519' }, false, []);
    const shared = await subtle.deriveBits({ name: 'X25519', public: ephKey }, reader.privateKey, 256);
    const ikm = await subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
    const info = Buffer.concat([Buffer.from('commons-seal/1'), Buffer.from([0]), Buffer.from(context)]);
    const okm = Buffer.from(
      await subtle.deriveBits(
        { name: 'HKDF', hash: 'SHA-256', salt: Buffer.concat([eph, readerPublic]), info },
        ikm,
        (32 + 12) * 8,
      ),
    );
    const aes = await subtle.importKey('raw', okm.subarray(0, 32), 'AES-GCM', false, ['decrypt']);
    const plain = await subtle.decrypt(
      { name: 'AES-GCM', iv: okm.subarray(32), additionalData: Buffer.from(context) },
      aes,
      box.subarray(33),
    );
    expect(Buffer.from(plain).equals(bytes)).toBe(true);
  });
});

describe('record envelopes', () => {
  const pair = generateX25519KeyPair();

  it('round-trip: the worker opens what the client sealed, checked against the hash', () => {
    const e = sealRecord(pair.publicKey, datanet, bytes);
    expect(e.hash).toBe(hash);
    expect(e.sealedKey).toHaveLength(SEALED_KEY_BYTES);
    expect(e.ciphertext).toHaveLength(bytes.length + CIPHERTEXT_OVERHEAD);
    expect(e.ciphertext.includes(Buffer.from('cough'))).toBe(false);
    const key = unsealRecordKey(pair.privateKey, datanet, hash, e.sealedKey);
    expect(openRecordCiphertext(key, datanet, hash, e.ciphertext).equals(bytes)).toBe(true);
  });

  it('refuse a ciphertext or key moved to another record or Datanet, and any changed byte', () => {
    const e = sealRecord(pair.publicKey, datanet, bytes);
    const other = contentHash({ text: 'other' }).hash;
    expect(() => unsealRecordKey(pair.privateKey, datanet, other, e.sealedKey)).toThrow(EnvelopeError);
    expect(() => unsealRecordKey(pair.privateKey, 'dn-other', hash, e.sealedKey)).toThrow(EnvelopeError);
    const key = unsealRecordKey(pair.privateKey, datanet, hash, e.sealedKey);
    expect(() => openRecordCiphertext(key, 'dn-other', hash, e.ciphertext)).toThrow(EnvelopeError);
    const tampered = Buffer.from(e.ciphertext);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => openRecordCiphertext(key, datanet, hash, tampered)).toThrow(/authentication tag/);
  });

  it('refuse a well-sealed record whose plaintext is not what its hash names', () => {
    // A contributor claiming another record's hash: the key and ciphertext are bound to the claimed
    // hash and open, but the plaintext's SHA-256 differs.
    const claimed = contentHash({ text: 'someone else' }).hash;
    const e = sealRecord(pair.publicKey, datanet, bytes);
    const forged = {
      hash: claimed,
      key: sealTo(pair.publicKey, Buffer.alloc(32, 7), `record-key\0${datanet}\0${claimed}`),
      ct: encryptFor(Buffer.alloc(32, 7), bytes, recordContext(datanet, claimed)),
    };
    expect(e.hash).not.toBe(claimed);
    const key = unsealRecordKey(pair.privateKey, datanet, forged.hash, forged.key);
    expect(() => openRecordCiphertext(key, datanet, forged.hash, forged.ct)).toThrow(/do not hash/);
  });

  it('line helpers: a record key encrypts derived text that only the same key and context open', () => {
    const key = Buffer.alloc(32, 3);
    const line = encryptFor(key, Buffer.from('the text field'), 'manifest-line');
    expect(decryptWith(key, line, 'manifest-line').toString()).toBe('the text field');
    expect(() => decryptWith(key, line, 'part-line')).toThrow(EnvelopeError);
    expect(() => decryptWith(Buffer.alloc(32, 4), line, 'manifest-line')).toThrow(EnvelopeError);
  });
});

describe('checkEnvelope (what the API checks without a key)', () => {
  const pair = generateX25519KeyPair();
  const wire = envelopeToWire(sealRecord(pair.publicKey, datanet, bytes));

  it('accepts a well-formed envelope and gives the exact plaintext size', () => {
    const c = checkEnvelope(wire, 1000);
    expect(c.ok && c.size).toBe(bytes.length);
  });

  it('refuses oversized records with 413, by their exact size', () => {
    expect(checkEnvelope(wire, bytes.length)).toMatchObject({ ok: true });
    expect(checkEnvelope(wire, bytes.length - 1)).toMatchObject({
      ok: false,
      status: 413,
      errors: [`record is ${bytes.length} bytes; this Datanet accepts at most ${bytes.length - 1}`],
    });
  });

  it.each([
    [
      'a truncated sealed key',
      { sealedKey: Buffer.from(wire.sealedKey, 'base64').subarray(0, 60).toString('base64') },
      /sealedKey is 60 bytes/,
    ],
    [
      'a sealed key of unknown version',
      {
        sealedKey: Buffer.concat([Buffer.from([9]), Buffer.from(wire.sealedKey, 'base64').subarray(1)]).toString(
          'base64',
        ),
      },
      /unknown version 9/,
    ],
    [
      'a ciphertext shorter than its tag',
      { ciphertext: Buffer.alloc(20, 1).toString('base64') },
      /shorter than its header/,
    ],
    [
      'a ciphertext of unknown version',
      {
        ciphertext: Buffer.concat([Buffer.from([2]), Buffer.from(wire.ciphertext, 'base64').subarray(1)]).toString(
          'base64',
        ),
      },
      /unknown version 2/,
    ],
    ['non-base64 bytes', { ciphertext: 'not base64!' }, /must be base64/],
    ['an upper-case hash', { hash: wire.hash.toUpperCase() }, /64 lowercase hex/],
  ])('refuses %s with 400 and the reason', (_what, change, reason) => {
    const c = checkEnvelope({ ...wire, ...change }, 1000);
    expect(c.ok).toBe(false);
    if (!c.ok) {
      expect(c.status).toBe(400);
      expect(c.errors.join('; ')).toMatch(reason);
    }
  });
});
