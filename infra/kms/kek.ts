/**
 * The key-encryption key (KEK): it wraps the private key of each encrypted Datanet (one call per
 * Datanet, never per record). Two capabilities, held by different processes:
 * - `KeyWrapper` (wrap only): what the API's configuration gives it. It cannot open anything.
 * - `Kek` (wrap and unwrap): what the data-collection and training workers get.
 * Local key files (./local-kek.ts) serve the dev stack and tests: the wrap-only half is the public
 * key of an X25519 pair, so the API's material cannot unwrap by construction. AWS KMS
 * (./aws-kms-kek.ts) serves production: the API's role holds kms:Encrypt, the workers' kms:Decrypt.
 */

/** Which KEK wrapped a key, and which version of it: rotation rewraps every key not under the current one. */
export interface KekRef {
  kekId: string;
  kekVersion: string;
}

export interface WrappedKey extends KekRef {
  blob: Buffer;
}

export interface KeyWrapper {
  /** The KEK (and version) new wraps are made under. */
  readonly current: KekRef;
  /** Wraps a Datanet's private key; the Datanet id is bound in (a wrapped key moved to another Datanet does not unwrap). */
  wrap(key: Buffer, datanetId: string): Promise<WrappedKey>;
}

export interface Kek extends KeyWrapper {
  unwrap(wrapped: WrappedKey, datanetId: string): Promise<Buffer>;
}

/** A key cannot be unwrapped: this process holds only the wrap half, or the KEK version is gone (rotated out). */
export class KekUnavailableError extends Error {}

export const canUnwrap = (k: KeyWrapper | Kek): k is Kek => typeof (k as Partial<Kek>).unwrap === 'function';
