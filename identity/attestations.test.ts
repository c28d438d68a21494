import { describe, expect, it } from 'vitest';
import { generateKeyPair } from './keys.js';
import { attestationId, signAttestation, signRevocation, verifyAttestation, verifyRevocation } from './attestations.js';

describe('attestations', () => {
  const board = generateKeyPair();
  const subject = generateKeyPair().address;
  const a = signAttestation(board, { claim: 'licensed clinician', subject, issuedAt: 1, expiresAt: 2 });

  it("verifies against the verifier's key and nothing else", () => {
    expect(verifyAttestation(a)).toBe(true);
    const forger = generateKeyPair();
    // Signed by another key but naming the board as verifier: refused.
    const forged = {
      ...signAttestation(forger, { claim: a.claim, subject, issuedAt: 1, expiresAt: 2 }),
      verifier: board.publicKey,
    };
    expect(verifyAttestation(forged)).toBe(false);
    expect(verifyAttestation({ ...a, expiresAt: 3 })).toBe(false);
    expect(verifyAttestation({ ...a, subject: generateKeyPair().address })).toBe(false);
  });
  it('revocations are signed by the same verifier over the attestation id', () => {
    const r = signRevocation(board, attestationId(a), 5);
    expect(verifyRevocation(r)).toBe(true);
    expect(
      verifyRevocation({ ...signRevocation(generateKeyPair(), attestationId(a), 5), verifier: board.publicKey }),
    ).toBe(false);
    expect(attestationId(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});
