import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateX25519KeyPair } from '../../domain/data/envelope/sealed-box.js';
import { KekUnavailableError, canUnwrap } from './kek.js';
import {
  ensureLocalKekFiles,
  localKek,
  localKeyWrapper,
  retireLocalKekVersions,
  rotateLocalKekFile,
} from './local-kek.js';
import { kekOf, keyWrapperOf } from './from-config.js';

describe('the local KEK', () => {
  const dirs: string[] = [];
  const files = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kek-'));
    dirs.push(dir);
    const f = { keyFile: join(dir, 'kek.json'), publicFile: join(dir, 'kek-public.json') };
    ensureLocalKekFiles(f.keyFile, f.publicFile);
    return f;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('wraps with the public file (the API) and unwraps only with the key file (the workers)', async () => {
    const f = files();
    expect(readFileSync(f.publicFile, 'utf8')).not.toMatch(/privateKey/);
    const secret = generateX25519KeyPair().privateKey;
    const wrapped = await localKeyWrapper(f.publicFile).wrap(secret, 'dn-1');
    expect((await localKek(f.keyFile).unwrap(wrapped, 'dn-1')).equals(secret)).toBe(true);
    // The API's material has no unwrap, and a public file is refused as a key file.
    const api = keyWrapperOf({ kind: 'local', publicFile: f.publicFile });
    expect(api && canUnwrap(api)).toBe(false);
    expect(kekOf({ kind: 'local', publicFile: f.publicFile })).toBeUndefined();
    expect(() => localKek(f.publicFile)).toThrow(KekUnavailableError);
    // Bound to its Datanet.
    await expect(localKek(f.keyFile).unwrap(wrapped, 'dn-2')).rejects.toThrow(KekUnavailableError);
  });

  it('rotates: new wraps use the new version, old ones unwrap until the old version is retired', async () => {
    const f = files();
    const secret = generateX25519KeyPair().privateKey;
    const old = await localKek(f.keyFile).wrap(secret, 'dn-1');
    const next = rotateLocalKekFile(f.keyFile, f.publicFile);
    expect(next.kekVersion).toBe('2');
    expect(localKeyWrapper(f.publicFile).current).toEqual(next);
    const kek = localKek(f.keyFile);
    const rewrapped = await kek.wrap(await kek.unwrap(old, 'dn-1'), 'dn-1');
    expect(rewrapped.kekVersion).toBe('2');
    expect(retireLocalKekVersions(f.keyFile)).toEqual(['1']);
    const after = localKek(f.keyFile);
    expect((await after.unwrap(rewrapped, 'dn-1')).equals(secret)).toBe(true);
    await expect(after.unwrap(old, 'dn-1')).rejects.toThrow(/version 1 is not in/);
  });
});
