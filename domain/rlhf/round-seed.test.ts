import { describe, expect, it } from 'vitest';
import { roundSecret, roundSeed, seedCommitment, verifyRoundSeed } from './round-seed.js';

const pool = [
  { reviewer: '0xb', stake: '2000' },
  { reviewer: '0xa', stake: '1000' },
];

describe('round seed', () => {
  it('verifies a revealed secret against its commitment and the recorded pool', () => {
    const secret = roundSecret();
    const commitment = seedCommitment(secret);
    const seed = roundSeed({ proposalId: 'p', round: 1, secret, pool });
    expect(verifyRoundSeed({ proposalId: 'p', round: 1, secret, commitment, pool, seed })).toBe(true);
    // Pool order does not matter; any other secret, pool, round or proposal does.
    expect(roundSeed({ proposalId: 'p', round: 1, secret, pool: [...pool].reverse() })).toBe(seed);
    const other = roundSecret();
    expect(verifyRoundSeed({ proposalId: 'p', round: 1, secret: other, commitment, pool, seed })).toBe(false);
    expect(verifyRoundSeed({ proposalId: 'p', round: 2, secret, commitment, pool, seed })).toBe(false);
    expect(verifyRoundSeed({ proposalId: 'q', round: 1, secret, commitment, pool, seed })).toBe(false);
    expect(
      verifyRoundSeed({
        proposalId: 'p',
        round: 1,
        secret,
        commitment,
        pool: [...pool, { reviewer: '0xc', stake: '1' }],
        seed,
      }),
    ).toBe(false);
  });

  it('draws a different seed for the same proposal and round on every commitment', () => {
    const seeds = new Set(
      Array.from({ length: 20 }, () => roundSeed({ proposalId: 'p', round: 1, secret: roundSecret(), pool })),
    );
    expect(seeds.size).toBe(20);
  });
});
