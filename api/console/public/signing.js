// Browser-side Commons identity: Ed25519 keys and request signing with WebCrypto only.
// Mirrors identity/keys.ts and identity/request-signing.ts (same canonical message, same headers).

const PKCS8_PREFIX = hexToBytes('302e020100300506032b657004220420');
const enc = new TextEncoder();

export function hexToBytes(hex) {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error('not hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

function bytesToBase64(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

function base64UrlToBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export async function sha256Hex(data) {
  return bytesToHex(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? enc.encode(data) : data));
}

/** 'cm' + the first 40 hex characters of sha256(raw public key), as identity/keys.ts. */
export async function addressOf(publicKeyHex) {
  return 'cm' + (await sha256Hex(hexToBytes(publicKeyHex))).slice(0, 40);
}

/**
 * Imports a 32-byte seed (64 hex characters, the `privateKey` of a key file) and derives the
 * public key and address. Returns { privateKey (hex), publicKey (hex), address, signingKey }.
 */
export async function importSeed(seedHex) {
  const seed = String(seedHex).trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(seed))
    throw new Error('a private key is 64 hex characters (the privateKey of a key file)');
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(hexToBytes(seed), PKCS8_PREFIX.length);
  // Extractable only long enough to read the public half (JWK `x`); the signing key is not.
  const extractable = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', extractable);
  const publicKey = bytesToHex(base64UrlToBytes(jwk.x));
  const signingKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  return { privateKey: seed, publicKey, address: await addressOf(publicKey), signingKey };
}

/** A fresh key pair generated in the browser; returns the seed as hex. */
export async function generateSeed() {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  return bytesToHex(pkcs8.slice(pkcs8.length - 32));
}

/**
 * `COMMONS-V3\n<deployment id>\n<METHOD>\n<path?query>\n<timestamp>\n<Idempotency-Key header or ''>\n<sha256 hex of the body>`
 */
export async function canonicalMessage(deploymentId, method, path, timestamp, idempotencyKey, body) {
  return `COMMONS-V3\n${deploymentId}\n${method.toUpperCase()}\n${path}\n${timestamp}\n${idempotencyKey ?? ''}\n${await sha256Hex(body ?? '')}`;
}

let deployment;
/** The deployment id this API publishes (GET /v1/deployment); signatures are bound to it. */
export function deploymentId() {
  deployment ??= fetch('/v1/deployment')
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`GET /v1/deployment → ${r.status}`))))
    .then((j) => j.deploymentId)
    .catch((err) => {
      deployment = undefined;
      throw err;
    });
  return deployment;
}

/** The four x-commons-* headers for a request with this exact body text (and Idempotency-Key, if sent). */
export async function signatureHeaders(identity, method, path, bodyText, { idempotencyKey, now = Date.now() } = {}) {
  const timestamp = String(Math.trunc(now));
  const message = await canonicalMessage(await deploymentId(), method, path, timestamp, idempotencyKey, bodyText);
  const signature = await crypto.subtle.sign({ name: 'Ed25519' }, identity.signingKey, enc.encode(message));
  return {
    'x-commons-address': identity.address,
    'x-commons-public-key': identity.publicKey,
    'x-commons-timestamp': timestamp,
    'x-commons-signature': bytesToBase64(signature),
  };
}
