// Ed25519 identities: raw hex keys on the wire, KeyObjects only inside this module.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KeyPair {
  /** hex of the raw 32-byte Ed25519 public key */
  publicKey: string;
  /** hex of the raw 32-byte Ed25519 seed */
  privateKey: string;
  /** 'cm' + first 40 hex chars of sha256(raw public key) */
  address: string;
}

// Fixed ASN.1 headers that turn a raw 32-byte key into SPKI / PKCS#8 DER (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const HEX32 = /^[0-9a-fA-F]{64}$/;
const ADDRESS = /^cm[0-9a-f]{40}$/;

function rawFromHex(hex: string, what: string): Buffer {
  if (typeof hex !== 'string' || !HEX32.test(hex)) {
    throw new Error(`${what} must be 64 hex characters (32 bytes)`);
  }
  return Buffer.from(hex, 'hex');
}

function publicKeyObject(pubHex: string): KeyObject {
  const raw = rawFromHex(pubHex, 'public key');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function privateKeyObject(privHex: string): KeyObject {
  const raw = rawFromHex(privHex, 'private key');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

function rawPublic(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

export function isAddress(value: unknown): value is string {
  return typeof value === 'string' && ADDRESS.test(value);
}

export function addressFromPublicKey(pubHex: string): string {
  const raw = rawFromHex(pubHex, 'public key');
  return 'cm' + createHash('sha256').update(raw).digest('hex').slice(0, 40);
}

/** Rebuild the full key pair from a seed (used to check key files). */
export function keysFromPrivateKey(privHex: string): KeyPair {
  const pub = rawPublic(createPublicKey(privateKeyObject(privHex))).toString('hex');
  return { publicKey: pub, privateKey: privHex.toLowerCase(), address: addressFromPublicKey(pub) };
}

export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return keysFromPrivateKey(pkcs8.subarray(pkcs8.length - 32).toString('hex'));
}

function toBytes(message: Buffer | string): Buffer {
  return typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
}

/** Returns the 64-byte signature as standard (padded) base64. */
export function sign(privateKeyHex: string, message: Buffer | string): string {
  return cryptoSign(null, toBytes(message), privateKeyObject(privateKeyHex)).toString('base64');
}

/**
 * Decodes a base64 Ed25519 signature, or null if it is not exactly the canonical padded
 * base64 of 64 bytes. Refusing alternative spellings keeps one signature = one string,
 * which the replay guard relies on.
 */
export function decodeSignature(sigB64: unknown): Buffer | null {
  if (typeof sigB64 !== 'string' || sigB64.length !== 88) return null;
  const bytes = Buffer.from(sigB64, 'base64');
  if (bytes.length !== 64 || bytes.toString('base64') !== sigB64) return null;
  return bytes;
}

/** Never throws: malformed keys or signatures simply do not verify. */
export function verify(pubHex: string, message: Buffer | string, sigB64: string): boolean {
  try {
    const sig = decodeSignature(sigB64);
    if (!sig) return false;
    if (typeof message !== 'string' && !Buffer.isBuffer(message)) return false;
    return cryptoVerify(null, toBytes(message), publicKeyObject(pubHex), sig);
  } catch {
    return false;
  }
}

/** Writes the key pair as JSON readable only by the owner (0600). */
export function saveKeyFile(path: string, keys: KeyPair): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file; force it.
  chmodSync(path, 0o600);
}

/** Reads a key file and checks that public key and address match the seed. */
export function loadKeyFile(path: string): KeyPair {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as KeyPair).privateKey !== 'string') {
    throw new Error(`key file ${path}: missing privateKey`);
  }
  const stored = parsed as Partial<KeyPair>;
  const keys = keysFromPrivateKey(stored.privateKey as string);
  if (stored.publicKey !== undefined && stored.publicKey.toLowerCase() !== keys.publicKey) {
    throw new Error(`key file ${path}: publicKey does not match privateKey`);
  }
  if (stored.address !== undefined && stored.address !== keys.address) {
    throw new Error(`key file ${path}: address does not match publicKey`);
  }
  return keys;
}
