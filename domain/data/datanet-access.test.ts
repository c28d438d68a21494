import { describe, expect, it } from 'vitest';
import {
  curatedStatus,
  leaderboard,
  missingRequirements,
  scoreAssessment,
  splitEarnings,
  validateAccess,
  type DatanetAccess,
  type HeldCredential,
} from './datanet-access.js';
import { validateSpec } from './datanet-spec.js';

const BOARD = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const ME = 'cm' + '1'.repeat(40);
const access: DatanetAccess = {
  credentials: [{ claim: 'licensed clinician', verifiers: [BOARD] }],
  assessment: { minScore: 0.8, maxAttempts: 2 },
};
const cred = (over: Partial<HeldCredential> = {}): HeldCredential => ({
  id: 'x',
  claim: 'licensed clinician',
  verifier: BOARD,
  subject: ME,
  expiresAt: 2000,
  revoked: false,
  ...over,
});
const passed = { published: true, bestScore: 0.9, attempts: 1 };

describe('missingRequirements', () => {
  it('is empty when a trusted, unexpired, unrevoked attestation and a passed assessment are held', () => {
    expect(missingRequirements(access, ME, [cred()], passed, 1000)).toEqual([]);
  });
  it('names the missing claim, and says why: none, wrong verifier, expired, revoked', () => {
    const why = (held: HeldCredential[]) => missingRequirements(access, ME, held, passed, 1000)[0]?.reason;
    expect(why([])).toContain('no attestation of "licensed clinician"');
    expect(why([cred({ verifier: OTHER })])).toContain('not signed by a verifier this Datanet names');
    expect(why([cred({ expiresAt: 1000 })])).toContain('has expired');
    expect(why([cred({ revoked: true })])).toContain('was revoked');
    expect(why([cred({ subject: 'cm' + '2'.repeat(40) })])).toContain('no attestation');
    expect(missingRequirements(access, ME, [], passed, 1000)[0]).toMatchObject({
      kind: 'credential',
      requirement: 'licensed clinician',
    });
  });
  it('refuses an assessment that is unpublished, not taken or failed', () => {
    const a = (s: { published: boolean; bestScore: number | null; attempts: number }) =>
      missingRequirements(access, ME, [cred()], s, 1000).map((m) => m.reason);
    expect(a({ published: false, bestScore: null, attempts: 0 })[0]).toContain('not published');
    expect(a({ published: true, bestScore: null, attempts: 0 })[0]).toContain('has not been taken');
    expect(a({ published: true, bestScore: 0.5, attempts: 2 })[0]).toContain('not passed (2 of 2 attempts used)');
    expect(a({ published: true, bestScore: 0.5, attempts: 2 })[0]).not.toContain('0.5');
  });
});

describe('curatedStatus', () => {
  it('lets a rejection keep anything out and an approval override quality, never a duplicate', () => {
    expect(curatedStatus('accepted', 'rejected', false)).toBe('curator-rejected');
    expect(curatedStatus('rejected', 'approved', false)).toBe('accepted');
    expect(curatedStatus('near-duplicate', 'approved', false)).toBe('near-duplicate');
    expect(curatedStatus('duplicate', 'approved', true)).toBe('duplicate');
    expect(curatedStatus('accepted', null, true)).toBe('awaiting-approval');
    expect(curatedStatus('accepted', null, false)).toBe('accepted');
    expect(curatedStatus('accepted', 'approved', true)).toBe('accepted');
  });
});

describe('assessment, leaderboard and earnings', () => {
  it('scores exact answers', () => {
    expect(scoreAssessment(['a', 'b', 'c', 'd'], ['a', 'b ', 'x'])).toBe(0.5);
  });
  it('ranks by acceptance rate, then accepted count', () => {
    const rows = leaderboard([
      { contributor: 'a', submitted: 10, accepted: 5, decided: 10 },
      { contributor: 'b', submitted: 4, accepted: 4, decided: 4 },
      { contributor: 'c', submitted: 8, accepted: 8, decided: 8 },
      { contributor: 'd', submitted: 3, accepted: 0, decided: 0 },
    ]);
    expect(rows.map((r) => r.contributor)).toEqual(['c', 'b', 'a', 'd']);
    expect(rows[2]?.acceptanceRate).toBe(0.5);
  });
  it('splits earnings by record value and pays out exactly', () => {
    const parts = splitEarnings(1001n, [1, 0, 0.25, 0.25]);
    expect(parts.reduce((s, x) => s + x, 0n)).toBe(1001n);
    expect(parts[1]).toBe(0n);
    expect(parts[0]).toBeGreaterThan(parts[2]! * 3n);
    expect(splitEarnings(0n, [1])).toEqual([0n]);
    expect(splitEarnings(10n, [0, 0])).toEqual([0n, 0n]);
  });
});

describe('validateAccess', () => {
  it('accepts a full access block inside a spec and names what is wrong otherwise', () => {
    const spec = {
      fields: [{ name: 'text', type: 'string' }],
      textField: 'text',
      access: { ...access, curation: { curators: [ME], requireApproval: true, reviewMs: 5000 }, deposit: '10' },
    };
    expect(validateSpec(spec)).toEqual([]);
    expect(validateAccess({ credentials: [{ claim: 'x', verifiers: ['nothex'] }] })[0]).toContain('hex');
    expect(validateAccess({ assessment: { minScore: 2 } })[0]).toContain('minScore');
    expect(validateAccess({ deposit: '-1' })[0]).toContain('deposit');
    expect(validateAccess({ nope: 1 })[0]).toContain('unknown property');
  });
});
