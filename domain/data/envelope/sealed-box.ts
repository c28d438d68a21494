import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';

/**
 * Sealing bytes to an X25519 public key: an ephemeral X25519 key pair, HKDF-SHA256 over the shared
 * secret, AES-256-GCM. Only the holder of the recipient's private key opens it, and the sender keeps
 * no way to open it either (its ephemeral private key is dropped). Every piece is in WebCrypto
 * (X25519, HKDF, AES-GCM, tag appended to the ciphertext), so a browser can seal and open the same
 * boxes (docs/private-datanets.md gives the byte layout).
 *
 * Layout: version (1 byte) ‖ ephemeral public key (32) ‖ ciphertext ‖ GCM tag (16).
 * key ‖ nonce = HKDF-SHA256(ikm = X25519(eph, recipient), salt = eph.pub ‖ recipient.pub,
 * info = "commons-seal/1" ‖ 0x00 ‖ context), 32 + 12 bytes. The context (who the box is for, e.g. a
 * Datanet id and record hash) is also the GCM additional data: a box moved to another context fails.
 */

export const SEAL_VERSION = 1;
const INFO = 'commons-seal/1';
export const X25519_KEY_BYTES = 32;
export const GCM_TAG_BYTES = 16;
export const GCM_NONCE_BYTES = 12;
/** Bytes a sealed box adds to what it seals. */
export const SEAL_OVERHEAD = 1 + X25519_KEY_BYTES + GCM_TAG_BYTES;

export class EnvelopeError extends Error {}

/** An X25519 key pair as raw 32-byte keys (the form WebCrypto exports as 'raw'). */
export interface X25519KeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
}

// DER prefixes of X25519 keys (RFC 8410): raw 32-byte keys in and out of node:crypto's KeyObjects.
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

const publicKeyObject = (raw: Buffer): KeyObject => {
  if (raw.length !== X25519_KEY_BYTES) throw new EnvelopeError(`an X25519 public key is 32 bytes, not ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
};
const privateKeyObject = (raw: Buffer): KeyObject => {
  if (raw.length !== X25519_KEY_BYTES) throw new EnvelopeError(`an X25519 private key is 32 bytes, not ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
};

export function generateX25519KeyPair(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length),
  };
}

/** The public half of a raw X25519 private key. */
export function x25519PublicKeyOf(privateKey: Buffer): Buffer {
  return createPublicKey(privateKeyObject(privateKey))
    .export({ format: 'der', type: 'spki' })
    .subarray(SPKI_PREFIX.length);
}

function boxKey(shared: Buffer, ephemeralPublic: Buffer, recipientPublic: Buffer, context: string) {
  const okm = Buffer.from(
    hkdfSync(
      'sha256',
      shared,
      Buffer.concat([ephemeralPublic, recipientPublic]),
      Buffer.concat([Buffer.from(INFO), Buffer.from([0]), Buffer.from(context, 'utf8')]),
      32 + GCM_NONCE_BYTES,
    ),
  );
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32) };
}

/** Seals `bytes` to `recipientPublicKey` (raw X25519) for `context`. */
export function sealTo(recipientPublicKey: Buffer, bytes: Buffer, context = ''): Buffer {
  const recipient = publicKeyObject(recipientPublicKey);
  const eph = generateX25519KeyPair();
  const shared = diffieHellman({ privateKey: privateKeyObject(eph.privateKey), publicKey: recipient });
  const { key, nonce } = boxKey(shared, eph.publicKey, recipientPublicKey, context);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(bytes), cipher.final()]);
  return Buffer.concat([Buffer.from([SEAL_VERSION]), eph.publicKey, body, cipher.getAuthTag()]);
}

/** Opens a box sealed to the key pair of `recipientPrivateKey` for `context`; EnvelopeError if it does not open. */
export function openSealed(recipientPrivateKey: Buffer, sealed: Buffer, context = ''): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new EnvelopeError(`a sealed box is at least ${SEAL_OVERHEAD} bytes`);
  if (sealed[0] !== SEAL_VERSION) throw new EnvelopeError(`unknown sealed-box version ${sealed[0]}`);
  const ephemeralPublic = sealed.subarray(1, 1 + X25519_KEY_BYTES);
  const privateKey = privateKeyObject(recipientPrivateKey);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: publicKeyObject(ephemeralPublic) });
  } catch {
    throw new EnvelopeError('the sealed box holds an invalid ephemeral key');
  }
  const { key, nonce } = boxKey(shared, ephemeralPublic, x25519PublicKeyOf(recipientPrivateKey), context);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(1 + X25519_KEY_BYTES, sealed.length - GCM_TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new EnvelopeError('the sealed box does not open with this key (wrong key, context or tampered bytes)');
  }
}
