import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addressFromPublicKey,
  generateKeyPair,
  keysFromPrivateKey,
  loadKeyFile,
  saveKeyFile,
  sign,
  verify,
} from './keys.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

describe('keys', () => {
  it('generates raw hex keys and a cm address derived from the public key', () => {
    const keys = generateKeyPair();
    expect(keys.publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.privateKey).toMatch(/^[0-9a-f]{64}$/);
    const expected = 'cm' + createHash('sha256').update(Buffer.from(keys.publicKey, 'hex')).digest('hex').slice(0, 40);
    expect(keys.address).toBe(expected);
    expect(addressFromPublicKey(keys.publicKey)).toBe(expected);
    expect(keysFromPrivateKey(keys.privateKey)).toEqual(keys);
    expect(generateKeyPair().address).not.toBe(keys.address);
  });

  it('matches the RFC 8032 test vector 1 (raw seed -> public key, signature)', () => {
    const seed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
    const keys = keysFromPrivateKey(seed);
    expect(keys.publicKey).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = Buffer.from(sign(seed, Buffer.alloc(0)), 'base64').toString('hex');
    expect(sig).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('verifies its own signatures and rejects tampering', () => {
    const keys = generateKeyPair();
    const sig = sign(keys.privateKey, 'hello');
    expect(verify(keys.publicKey, 'hello', sig)).toBe(true);
    expect(verify(keys.publicKey, Buffer.from('hello'), sig)).toBe(true);
    expect(verify(keys.publicKey, 'hellO', sig)).toBe(false);
    expect(verify(generateKeyPair().publicKey, 'hello', sig)).toBe(false);
    const flipped = Buffer.from(sig, 'base64');
    flipped[10] = at(flipped, 10) ^ 1;
    expect(verify(keys.publicKey, 'hello', flipped.toString('base64'))).toBe(false);
  });

  it('never throws on malformed input', () => {
    const keys = generateKeyPair();
    const sig = sign(keys.privateKey, 'm');
    expect(verify('zz', 'm', sig)).toBe(false);
    expect(verify(keys.publicKey.slice(2), 'm', sig)).toBe(false);
    expect(verify(keys.publicKey, 'm', 'not base64!')).toBe(false);
    expect(verify(keys.publicKey, 'm', sig.slice(4))).toBe(false);
    expect(verify(keys.publicKey, 'm', '')).toBe(false);
    expect(verify(undefined as unknown as string, 'm', sig)).toBe(false);
    expect(verify(keys.publicKey, undefined as unknown as string, sig)).toBe(false);
    expect(verify(keys.publicKey, 'm', null as unknown as string)).toBe(false);
  });

  it('saves key files with mode 0600 and loads them back, refusing inconsistent files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'commons-keys-'));
    const path = join(dir, 'nested', 'key.json');
    const keys = generateKeyPair();
    saveKeyFile(path, keys);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadKeyFile(path)).toEqual(keys);

    const other = generateKeyPair();
    writeFileSync(path, JSON.stringify({ ...keys, publicKey: other.publicKey }));
    expect(() => loadKeyFile(path)).toThrow(/publicKey does not match/);
    writeFileSync(path, JSON.stringify({ ...keys, address: other.address }));
    expect(() => loadKeyFile(path)).toThrow(/address does not match/);

    // Re-saving over a file with looser permissions tightens them.
    writeFileSync(path, '{}', { mode: 0o644 });
    saveKeyFile(path, keys);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ address: keys.address });
  });
});
