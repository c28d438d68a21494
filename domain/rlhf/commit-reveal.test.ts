import { describe, expect, it } from 'vitest';
import { reviewCommitment, verifyReveal } from './commit-reveal.js';

const base = { taskId: 'p-r1-q7', reviewer: 'addr1', choice: 'A', salt: '0123456789abcdef' };

describe('commit–reveal', () => {
  it('opens only with the same task, reviewer, choice and salt', () => {
    const c = reviewCommitment(base);
    expect(c).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyReveal(c, base)).toBe(true);
    expect(verifyReveal(c, { ...base, choice: 'B' })).toBe(false);
    expect(verifyReveal(c, { ...base, salt: 'fedcba9876543210' })).toBe(false);
    expect(verifyReveal(c, { ...base, reviewer: 'addr2' })).toBe(false); // cannot copy someone's commitment
    expect(verifyReveal(c, { ...base, taskId: 'p-r1-q8' })).toBe(false);
    expect(verifyReveal('nothex', base)).toBe(false);
  });

  it('refuses short salts (a 2-candidate choice would be guessable from the hash)', () => {
    expect(() => reviewCommitment({ ...base, salt: 'x' })).toThrow(/salt/);
    expect(verifyReveal(reviewCommitment(base), { ...base, salt: 'short' })).toBe(false);
  });
});
