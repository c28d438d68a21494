import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { EnvelopeError, GCM_NONCE_BYTES, GCM_TAG_BYTES, SEAL_OVERHEAD, openSealed, sealTo } from './sealed-box.js';

/**
 * The envelope of a record in an encrypted Datanet. The contributor's client draws a fresh 256-bit
 * data key, encrypts the record's canonical bytes with it (AES-256-GCM, the Datanet id and the
 * record's hash as additional data) and seals the data key to the Datanet's public key. The API
 * receives {hash, sealedKey, ciphertext} and never the plaintext; only a worker holding the Datanet's
 * private key (unwrapped by the KEK) opens it, and checks the plaintext against the hash.
 *
 * A ciphertext (records, and lines G encrypts with a record's key): version (1) ‖ nonce (12) ‖
 * AES-256-GCM body ‖ tag (16); the additional data names what the bytes are, so a ciphertext moved
 * to another record, Datanet or line kind fails its tag.
 */

export const ENVELOPE_SCHEME = 'x25519-hkdf-sha256-aes-256-gcm/1';
const CIPHER_VERSION = 1;
export const DATA_KEY_BYTES = 32;
/** Bytes a ciphertext adds to its plaintext. */
export const CIPHERTEXT_OVERHEAD = 1 + GCM_NONCE_BYTES + GCM_TAG_BYTES;
/** A sealed data key is always this long. */
export const SEALED_KEY_BYTES = SEAL_OVERHEAD + DATA_KEY_BYTES;

/** A record's envelope as bytes. */
export interface RecordEnvelope {
  /** SHA-256 (hex) of the record's canonical JSON bytes: its content address, as for public records. */
  hash: string;
  sealedKey: Buffer;
  ciphertext: Buffer;
}

/** A record's envelope as JSON (what the client sends): the byte fields base64. */
export interface RecordEnvelopeWire {
  hash: string;
  sealedKey: string;
  ciphertext: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HASH_RE = /^[0-9a-f]{64}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What the sealed data key of record `hash` is bound to. */
const keyContext = (datanetId: string, hash: string) => `record-key\0${datanetId}\0${hash}`;
/** What a record's ciphertext is bound to. */
export const recordContext = (datanetId: string, hash: string) => `record\0${datanetId}\0${hash}`;

/**
 * What a record sealed to a reader's ephemeral key (the curator or member view: sealTo(readerPublicKey,
 * bytes, readerContext(...))) is bound to: the reader opens it with openSealed and the same context.
 */
export const readerContext = (datanetId: string, hash: string) => `reader\0${datanetId}\0${hash}`;

/** Encrypts `bytes` under a record's data key for `context` (AES-256-GCM, fresh nonce). */
export function encryptFor(dataKey: Buffer, bytes: Buffer, context: string): Buffer {
  if (dataKey.length !== DATA_KEY_BYTES) throw new EnvelopeError(`a data key is ${DATA_KEY_BYTES} bytes`);
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(bytes), cipher.final()]);
  return Buffer.concat([Buffer.from([CIPHER_VERSION]), nonce, body, cipher.getAuthTag()]);
}

/** Decrypts what `encryptFor` made with the same key and context; EnvelopeError on a wrong key, context or any changed byte. */
export function decryptWith(dataKey: Buffer, ciphertext: Buffer, context: string): Buffer {
  if (ciphertext.length < CIPHERTEXT_OVERHEAD)
    throw new EnvelopeError('the ciphertext is shorter than its header and tag');
  if (ciphertext[0] !== CIPHER_VERSION) throw new EnvelopeError(`unknown ciphertext version ${ciphertext[0]}`);
  const decipher = createDecipheriv('aes-256-gcm', dataKey, ciphertext.subarray(1, 1 + GCM_NONCE_BYTES));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - GCM_TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(ciphertext.subarray(1 + GCM_NONCE_BYTES, ciphertext.length - GCM_TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new EnvelopeError('the ciphertext fails its authentication tag (wrong key or tampered bytes)');
  }
}

/** Seals a record to its Datanet (the contributor's side). `bytes` are the record's canonical JSON bytes. */
export function sealRecord(datanetPublicKey: Buffer, datanetId: string, bytes: Buffer): RecordEnvelope {
  const hash = sha256(bytes);
  const dataKey = randomBytes(DATA_KEY_BYTES);
  return {
    hash,
    sealedKey: sealTo(datanetPublicKey, dataKey, keyContext(datanetId, hash)),
    ciphertext: encryptFor(dataKey, bytes, recordContext(datanetId, hash)),
  };
}

export const envelopeToWire = (e: RecordEnvelope): RecordEnvelopeWire => ({
  hash: e.hash,
  sealedKey: e.sealedKey.toString('base64'),
  ciphertext: e.ciphertext.toString('base64'),
});

/** The data key of record `hash`, unsealed with the Datanet's private key (a worker's side). */
export function unsealRecordKey(datanetPrivateKey: Buffer, datanetId: string, hash: string, sealedKey: Buffer): Buffer {
  const key = openSealed(datanetPrivateKey, sealedKey, keyContext(datanetId, hash));
  if (key.length !== DATA_KEY_BYTES) throw new EnvelopeError('the sealed data key is not 32 bytes');
  return key;
}

/** A record's plaintext from its ciphertext, checked against its content hash. */
export function openRecordCiphertext(dataKey: Buffer, datanetId: string, hash: string, ciphertext: Buffer): Buffer {
  const bytes = decryptWith(dataKey, ciphertext, recordContext(datanetId, hash));
  if (sha256(bytes) !== hash) throw new EnvelopeError(`the record decrypts to bytes that do not hash to ${hash}`);
  return bytes;
}

export type EnvelopeCheck =
  | { ok: true; envelope: RecordEnvelope; /** The plaintext's length, exact from the ciphertext's. */ size: number }
  | { ok: false; status: 400 | 413; errors: string[] };

/**
 * What the API can check of an envelope without any key: the hash's form, base64, the sealed key's
 * exact length and version, the ciphertext's header, and the plaintext's size (the ciphertext's
 * length less the fixed overhead) against the Datanet's limit. A bad GCM tag can only be found by a
 * key holder: the worker that opens the record refuses it (never scored).
 */
export function checkEnvelope(wire: RecordEnvelopeWire, maxRecordBytes: number): EnvelopeCheck {
  const errors: string[] = [];
  if (!HASH_RE.test(wire.hash)) errors.push('hash must be the SHA-256 of the record as 64 lowercase hex digits');
  if (!BASE64_RE.test(wire.sealedKey)) errors.push('sealedKey must be base64');
  if (!BASE64_RE.test(wire.ciphertext)) errors.push('ciphertext must be base64');
  if (errors.length) return { ok: false, status: 400, errors };
  const sealedKey = Buffer.from(wire.sealedKey, 'base64');
  const ciphertext = Buffer.from(wire.ciphertext, 'base64');
  if (sealedKey.length !== SEALED_KEY_BYTES)
    errors.push(
      `sealedKey is ${sealedKey.length} bytes; a sealed data key (${ENVELOPE_SCHEME}) is ${SEALED_KEY_BYTES}`,
    );
  else if (sealedKey[0] !== 1) errors.push(`sealedKey has unknown version ${sealedKey[0]}`);
  if (ciphertext.length < CIPHERTEXT_OVERHEAD + 2)
    errors.push(`ciphertext is ${ciphertext.length} bytes: shorter than its header, tag and the smallest record`);
  else if (ciphertext[0] !== CIPHER_VERSION) errors.push(`ciphertext has unknown version ${ciphertext[0]}`);
  if (errors.length) return { ok: false, status: 400, errors };
  const size = ciphertext.length - CIPHERTEXT_OVERHEAD;
  if (size > maxRecordBytes)
    return {
      ok: false,
      status: 413,
      errors: [`record is ${size} bytes; this Datanet accepts at most ${maxRecordBytes}`],
    };
  return { ok: true, envelope: { hash: wire.hash, sealedKey, ciphertext }, size };
}
