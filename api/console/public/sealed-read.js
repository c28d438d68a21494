// An encrypted Datanet's records in the browser, both ways. Contributing: the record's canonical
// JSON bytes (domain/data/content-hash.ts) are hashed, encrypted under a fresh data key and the key
// sealed to the Datanet's public key, as sealRecord in domain/data/envelope/record-envelope.ts does,
// so only {hash, sealedKey, ciphertext} leaves the page. Reading (a curator or member): an X25519 key
// pair made for the one read (WebCrypto), the signed request that names its public half, and the
// opening of the box the worker sealed to it. Mirrors domain/data/envelope/sealed-box.ts: version
// (1 byte) ‖ ephemeral public key (32) ‖ ciphertext ‖ GCM tag (16); key ‖ nonce = HKDF-SHA256 over
// X25519(ephemeral, reader), salt = ephemeral ‖ reader public keys, info = "commons-seal/1" ‖ 0 ‖
// context; the context is also the GCM additional data. The record never reaches the API in clear.
import { apiCall } from './api.js';

const SEAL_VERSION = 1;
const CIPHER_VERSION = 1;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const enc = new TextEncoder();

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
// In chunks: a record's ciphertext is too long to spread into one call's arguments.
const toBase64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
const fromBase64 = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const sha256Hex = async (bytes) => toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));

/** The context a sealed read's box is bound to (record-envelope.ts readerContext). */
export const readerContext = (datanetId, hash) => `reader\0${datanetId}\0${hash}`;
/** What a record's sealed data key and its ciphertext are bound to (record-envelope.ts). */
const keyContext = (datanetId, hash) => `record-key\0${datanetId}\0${hash}`;
const recordContext = (datanetId, hash) => `record\0${datanetId}\0${hash}`;

/** JSON with object keys sorted at every level, as domain/data/content-hash.ts canonicalJson. */
export function canonicalJson(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .filter((k) => value[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
    .join(',')}}`;
}

/** A record's content hash and the bytes it is over (content-hash.ts contentHash). */
export async function contentHash(payload) {
  const bytes = enc.encode(canonicalJson(payload));
  return { hash: await sha256Hex(bytes), bytes };
}

/** The AES-256-GCM key and nonce of a box (sealed-box.ts boxKey). */
async function boxKey(shared, ephemeralPublic, recipientPublic, context, usage) {
  const hkdf = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
  const okm = new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: concat(ephemeralPublic, recipientPublic),
        info: concat(enc.encode('commons-seal/1'), new Uint8Array([0]), enc.encode(context)),
      },
      hkdf,
      (32 + NONCE_BYTES) * 8,
    ),
  );
  const key = await crypto.subtle.importKey('raw', okm.subarray(0, 32), 'AES-GCM', false, [usage]);
  return { key, nonce: okm.subarray(32) };
}

/** Seals `bytes` to a raw X25519 public key for `context` (sealed-box.ts sealTo). */
export async function sealTo(recipientPublic, bytes, context) {
  const recipientKey = await crypto.subtle.importKey('raw', recipientPublic, { name: 'X25519' }, false, []);
  // The ephemeral private half is never exported and dropped here: the page keeps no way to open the box.
  const eph = await crypto.subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
  const ephemeralPublic = new Uint8Array(await crypto.subtle.exportKey('raw', eph.publicKey));
  const shared = await crypto.subtle.deriveBits({ name: 'X25519', public: recipientKey }, eph.privateKey, 256);
  const { key, nonce } = await boxKey(shared, ephemeralPublic, recipientPublic, context, 'encrypt');
  const body = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: enc.encode(context), tagLength: TAG_BYTES * 8 },
      key,
      bytes,
    ),
  );
  return concat(new Uint8Array([SEAL_VERSION]), ephemeralPublic, body);
}

/**
 * A record sealed to its Datanet, as the wire envelope {hash, sealedKey, ciphertext} (base64)
 * that POST /v1/datanets/:id/contributions(/batch) takes: record-envelope.ts sealRecord and
 * envelopeToWire. `datanetPublicKey` is GET /v1/datanets/:id's encryption.publicKey (base64).
 */
export async function sealRecord(datanetPublicKey, datanetId, payload) {
  const { hash, bytes } = await contentHash(payload);
  const dataKey = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const sealedKey = await sealTo(fromBase64(datanetPublicKey), dataKey, keyContext(datanetId, hash));
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const aes = await crypto.subtle.importKey('raw', dataKey, 'AES-GCM', false, ['encrypt']);
  const body = new Uint8Array(
    await crypto.subtle.encrypt(
      {
        name: 'AES-GCM',
        iv: nonce,
        additionalData: enc.encode(recordContext(datanetId, hash)),
        tagLength: TAG_BYTES * 8,
      },
      aes,
      bytes,
    ),
  );
  return {
    hash,
    sealedKey: toBase64(sealedKey),
    ciphertext: toBase64(concat(new Uint8Array([CIPHER_VERSION]), nonce, body)),
  };
}

/**
 * How a Datanet takes a record from this page (client/commons-client.ts sealerFor): `{payload}` for
 * a public one, `{envelope}` sealed here for a members or private one (its `encryption` is set).
 */
export function sealerFor(datanet) {
  const publicKey = datanet.encryption?.publicKey;
  return publicKey
    ? async (payload) => ({ envelope: await sealRecord(publicKey, datanet.id, payload) })
    : async (payload) => ({ payload });
}

export async function openSealed(privateKey, readerPublic, sealed, context) {
  if (sealed.length < 1 + KEY_BYTES + TAG_BYTES || sealed[0] !== SEAL_VERSION) throw new Error('not a sealed box');
  const ephemeral = sealed.subarray(1, 1 + KEY_BYTES);
  const ephemeralKey = await crypto.subtle.importKey('raw', ephemeral, { name: 'X25519' }, false, []);
  const shared = await crypto.subtle.deriveBits({ name: 'X25519', public: ephemeralKey }, privateKey, 256);
  const { key, nonce } = await boxKey(shared, ephemeral, readerPublic, context, 'decrypt');
  return new Uint8Array(
    await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: enc.encode(context), tagLength: TAG_BYTES * 8 },
      key,
      sealed.subarray(1 + KEY_BYTES),
    ),
  );
}

/**
 * Reads one record sealed to a key pair made for this read and opens it here. Returns
 * { ok: true, payload, purpose } or the API's answer ({ ok: false, ... }) when refused.
 */
export async function readSealedRecord(identity, datanetId, hash) {
  const pair = await crypto.subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
  const readerPublic = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const r = await apiCall(
    identity,
    'POST',
    `/v1/datanets/${encodeURIComponent(datanetId)}/records/${hash}/read`,
    { readerPublicKey: toBase64(readerPublic) },
    { sign: true },
  );
  if (!r.ok) return r;
  const bytes = await openSealed(
    pair.privateKey,
    readerPublic,
    fromBase64(r.json.sealed),
    readerContext(datanetId, hash),
  );
  if ((await sha256Hex(bytes)) !== hash) throw new Error(`the record read for ${hash} does not hash to it`);
  return { ok: true, purpose: r.json.purpose, payload: JSON.parse(new TextDecoder().decode(bytes)) };
}
