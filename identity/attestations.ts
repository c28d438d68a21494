// Verifiable credentials: a verifier's Ed25519 key attests a claim about a subject address until
// an expiry, and may later revoke it. Same keys and signatures as requests (identity/keys.ts); the
// signed messages carry their own version tag so a request signature can never pass as one.
import { createHash } from 'node:crypto';
import { sign, verify, type KeyPair } from './keys.js';

export const ATTESTATION_VERSION = 'COMMONS-ATTESTATION-V1';
export const REVOCATION_VERSION = 'COMMONS-REVOCATION-V1';

export interface AttestationFields {
  claim: string;
  subject: string;
  /** Hex Ed25519 public key of the verifier. */
  verifier: string;
  issuedAt: number;
  expiresAt: number;
}

export interface Attestation extends AttestationFields {
  signature: string;
}

export function attestationMessage(a: AttestationFields): string {
  return `${ATTESTATION_VERSION}\n${a.claim}\n${a.subject}\n${a.verifier}\n${a.issuedAt}\n${a.expiresAt}`;
}

/** The attestation's id: SHA-256 of its signed message (what a revocation names). */
export function attestationId(a: AttestationFields): string {
  return createHash('sha256').update(attestationMessage(a)).digest('hex');
}

export function signAttestation(verifier: KeyPair, a: Omit<AttestationFields, 'verifier'>): Attestation {
  const fields = { ...a, verifier: verifier.publicKey };
  return { ...fields, signature: sign(verifier.privateKey, attestationMessage(fields)) };
}

export function verifyAttestation(a: Attestation): boolean {
  return verify(a.verifier, attestationMessage(a), a.signature);
}

export interface Revocation {
  attestationId: string;
  verifier: string;
  revokedAt: number;
  signature: string;
}

export function revocationMessage(r: Omit<Revocation, 'signature'>): string {
  return `${REVOCATION_VERSION}\n${r.attestationId}\n${r.verifier}\n${r.revokedAt}`;
}

export function signRevocation(verifier: KeyPair, attestation: string, revokedAt: number): Revocation {
  const r = { attestationId: attestation, verifier: verifier.publicKey, revokedAt };
  return { ...r, signature: sign(verifier.privateKey, revocationMessage(r)) };
}

export function verifyRevocation(r: Revocation): boolean {
  return verify(r.verifier, revocationMessage(r), r.signature);
}
