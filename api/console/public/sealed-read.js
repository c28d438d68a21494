// A curator's (or member's) read of an encrypted Datanet's record in the browser: an X25519 key
// pair made for the one read (WebCrypto), the signed request that names its public half, and the
// opening of the box the worker sealed to it. Mirrors domain/data/envelope/sealed-box.ts: version
// (1 byte) ‖ ephemeral public key (32) ‖ ciphertext ‖ GCM tag (16); key ‖ nonce = HKDF-SHA256 over
// X25519(ephemeral, reader), salt = ephemeral ‖ reader public keys, info = "commons-seal/1" ‖ 0 ‖
// context; the context is also the GCM additional data. The record never reaches the API in clear.
import { apiCall } from './api.js';

const SEAL_VERSION = 1;
const KEY_BYTES = 32;
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
const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** The context a sealed read's box is bound to (record-envelope.ts readerContext). */
export const readerContext = (datanetId, hash) => `reader\0${datanetId}\0${hash}`;

export async function openSealed(privateKey, readerPublic, sealed, context) {
  if (sealed.length < 1 + KEY_BYTES + TAG_BYTES || sealed[0] !== SEAL_VERSION) throw new Error('not a sealed box');
  const ephemeral = sealed.subarray(1, 1 + KEY_BYTES);
  const ephemeralKey = await crypto.subtle.importKey('raw', ephemeral, { name: 'X25519' }, false, []);
  const shared = await crypto.subtle.deriveBits({ name: 'X25519', public: ephemeralKey }, privateKey, 256);
  const hkdf = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
  const okm = new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: concat(ephemeral, readerPublic),
        info: concat(enc.encode('commons-seal/1'), new Uint8Array([0]), enc.encode(context)),
      },
      hkdf,
      (32 + 12) * 8,
    ),
  );
  const key = await crypto.subtle.importKey('raw', okm.subarray(0, 32), 'AES-GCM', false, ['decrypt']);
  return new Uint8Array(
    await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: okm.subarray(32), additionalData: enc.encode(context), tagLength: TAG_BYTES * 8 },
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
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  if (Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') !== hash)
    throw new Error(`the record read for ${hash} does not hash to it`);
  return { ok: true, purpose: r.json.purpose, payload: JSON.parse(new TextDecoder().decode(bytes)) };
}
