import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  EnvelopeError,
  generateX25519KeyPair,
  openSealed,
  sealTo,
  x25519PublicKeyOf,
} from '../../domain/data/envelope/sealed-box.js';
import { KekUnavailableError, type Kek, type KekRef, type KeyWrapper, type WrappedKey } from './kek.js';

/**
 * A KEK kept in local key files (dev stack and tests). Each version is an X25519 key pair; wrapping
 * seals to the current version's public key (with the Datanet id bound in), unwrapping opens with
 * that version's private key. Two files:
 * - the key file (workers): every version still usable, with private keys;
 * - the public file (API): the current version's public key only, so the API can wrap, never unwrap.
 * Rotation adds a version to both; once every Datanet key is rewrapped, the old version can leave
 * the key file (`retireLocalKekVersions`), and what it wrapped is unreadable from then on.
 */

interface KeyFileVersion {
  version: string;
  publicKey: string;
  privateKey?: string;
}
interface KeyFile {
  format: 'commons-local-kek/1';
  kekId: string;
  versions: KeyFileVersion[];
}

const wrapContext = (datanetId: string) => `datanet-private-key\0${datanetId}`;

function readKeyFile(path: string): KeyFile {
  let f: KeyFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as KeyFile;
  } catch (err) {
    throw new Error(`cannot read the local KEK file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (f.format !== 'commons-local-kek/1' || !f.kekId || !Array.isArray(f.versions) || !f.versions.length)
    throw new Error(`${path} is not a local KEK file (commons-local-kek/1 with at least one version)`);
  return f;
}

function writeKeyFile(path: string, f: KeyFile): void {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(f, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

const publicFileOf = (f: KeyFile): KeyFile => {
  const current = f.versions[f.versions.length - 1]!;
  return { format: f.format, kekId: f.kekId, versions: [{ version: current.version, publicKey: current.publicKey }] };
};

class LocalKeyWrapper implements KeyWrapper {
  readonly current: KekRef;
  private readonly publicKey: Buffer;
  constructor(f: KeyFile) {
    const v = f.versions[f.versions.length - 1]!;
    this.current = { kekId: f.kekId, kekVersion: v.version };
    this.publicKey = Buffer.from(v.publicKey, 'base64');
  }
  // eslint-disable-next-line @typescript-eslint/require-await -- a failure is a rejection, as from KMS
  async wrap(key: Buffer, datanetId: string): Promise<WrappedKey> {
    return { ...this.current, blob: sealTo(this.publicKey, key, wrapContext(datanetId)) };
  }
}

class LocalKek extends LocalKeyWrapper implements Kek {
  private readonly privateKeys: Map<string, Buffer>;
  constructor(
    f: KeyFile,
    private readonly path: string,
  ) {
    super(f);
    this.privateKeys = new Map(
      f.versions.flatMap((v) => (v.privateKey ? [[v.version, Buffer.from(v.privateKey, 'base64')] as const] : [])),
    );
  }
  // eslint-disable-next-line @typescript-eslint/require-await -- a failure is a rejection, as from KMS
  async unwrap(wrapped: WrappedKey, datanetId: string): Promise<Buffer> {
    if (wrapped.kekId !== this.current.kekId)
      throw new KekUnavailableError(`key wrapped by KEK ${wrapped.kekId}; ${this.path} holds ${this.current.kekId}`);
    const priv = this.privateKeys.get(wrapped.kekVersion);
    if (!priv)
      throw new KekUnavailableError(
        `KEK ${wrapped.kekId} version ${wrapped.kekVersion} is not in ${this.path} (retired after a rotation?)`,
      );
    try {
      return openSealed(priv, wrapped.blob, wrapContext(datanetId));
    } catch (err) {
      if (err instanceof EnvelopeError)
        throw new KekUnavailableError(`the wrapped key of Datanet ${datanetId} does not unwrap: ${err.message}`);
      throw err;
    }
  }
}

/** The wrap-only KEK of a public file (or of a key file: only its current public key is used). */
export function localKeyWrapper(publicFile: string): KeyWrapper {
  return new LocalKeyWrapper(readKeyFile(publicFile));
}

/** The full KEK of a key file; an error if its current version has no private key (a public file). */
export function localKek(keyFile: string): Kek {
  const f = readKeyFile(keyFile);
  if (!f.versions[f.versions.length - 1]!.privateKey)
    throw new KekUnavailableError(`${keyFile} holds no private KEK key: it is a wrap-only (public) file`);
  return new LocalKek(f, keyFile);
}

const newVersion = (version: string): KeyFileVersion => {
  const pair = generateX25519KeyPair();
  return { version, publicKey: pair.publicKey.toString('base64'), privateKey: pair.privateKey.toString('base64') };
};

/** Makes the key file and its public file unless the key file exists (then rewrites the public file from it). */
export function ensureLocalKekFiles(keyFile: string, publicFile: string): void {
  if (!existsSync(keyFile))
    writeKeyFile(keyFile, {
      format: 'commons-local-kek/1',
      kekId: `local-${randomBytes(6).toString('hex')}`,
      versions: [newVersion('1')],
    });
  writeKeyFile(publicFile, publicFileOf(readKeyFile(keyFile)));
}

/** Adds a new current version to the key file and rewrites the public file; returns it. */
export function rotateLocalKekFile(keyFile: string, publicFile: string): KekRef {
  const f = readKeyFile(keyFile);
  const next = String(Math.max(...f.versions.map((v) => Number(v.version) || 0)) + 1);
  f.versions.push(newVersion(next));
  writeKeyFile(keyFile, f);
  writeKeyFile(publicFile, publicFileOf(f));
  return { kekId: f.kekId, kekVersion: next };
}

/** Drops every version but the current one from the key file (after a rotation rewrapped every Datanet key). */
export function retireLocalKekVersions(keyFile: string): string[] {
  const f = readKeyFile(keyFile);
  const retired = f.versions.slice(0, -1).map((v) => v.version);
  f.versions = f.versions.slice(-1);
  writeKeyFile(keyFile, f);
  return retired;
}

/** Checks a key file's private keys match their public keys (a corrupt file stops the worker at start). */
export function checkLocalKekFile(keyFile: string): void {
  for (const v of readKeyFile(keyFile).versions)
    if (
      v.privateKey &&
      !x25519PublicKeyOf(Buffer.from(v.privateKey, 'base64')).equals(Buffer.from(v.publicKey, 'base64'))
    )
      throw new Error(`${keyFile}: version ${v.version}'s private key does not match its public key`);
}
