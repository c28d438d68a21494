// The seed of a staked review round's draws (assignment, gold selection, task order, the
// extension): committed before enlistment closes, revealed at settlement, checkable by anyone.
// When the round opens the server draws a 32-byte secret and publishes commitment = SHA-256(secret).
// When enlistment closes for the round the pool (every enlisted reviewer and its bond) is recorded
// and the seed is
//   seed = SHA-256("commons-round-seed-v1" ‖ 0 ‖ proposal ‖ 0 ‖ round ‖ 0 ‖ secret ‖ 0 ‖ pool)
// (pool = "reviewer:stake" lines in address order). A proposer choosing the workflow id learns
// nothing about the draw; a reviewer enlisting or bonding changes the pool and with it the whole
// seed, without knowing the secret, so it cannot search for a favourable draw; the server fixed the
// secret before it knew the pool. At settlement the secret is revealed: verifyRoundSeed checks it
// against the commitment and recomputes the seed from the recorded pool.
// Uses node:crypto: call it from activities or the API, not from workflow code.
import { createHash, randomBytes } from 'node:crypto';

const DOMAIN_TAG = 'commons-round-seed-v1';

export interface PoolEntry {
  reviewer: string;
  stake: string;
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** A fresh secret (64 hex characters). */
export function roundSecret(): string {
  return randomBytes(32).toString('hex');
}

export function seedCommitment(secret: string): string {
  return sha256(secret);
}

/** The seed from the secret and the pool (order-independent: the pool is sorted by address). */
export function roundSeed(a: {
  proposalId: string;
  round: number;
  secret: string;
  pool: readonly PoolEntry[];
}): string {
  const pool = [...a.pool]
    .sort((x, y) => (x.reviewer < y.reviewer ? -1 : x.reviewer > y.reviewer ? 1 : 0))
    .map((p) => `${p.reviewer}:${p.stake}`)
    .join('\n');
  return sha256([DOMAIN_TAG, a.proposalId, String(a.round), a.secret, pool].join('\u0000'));
}

/** Whether a revealed secret opens the commitment and yields the published seed. */
export function verifyRoundSeed(a: {
  proposalId: string;
  round: number;
  secret: string;
  commitment: string;
  pool: readonly PoolEntry[];
  seed: string;
}): boolean {
  return seedCommitment(a.secret) === a.commitment && roundSeed(a) === a.seed;
}
