import { describe, expect, it } from 'vitest';
import {
  isPublicPayload,
  mayReadDerivedText,
  mayReadPayload,
  sealedReadOf,
  type PayloadCopy,
} from './payload-access.js';

const owner = `cm${'1'.repeat(40)}`;
const curator = `cm${'2'.repeat(40)}`;
const contributor = `cm${'3'.repeat(40)}`;
const stranger = `cm${'4'.repeat(40)}`;
const copy = (status: string, access?: unknown, visibility?: string): PayloadCopy => ({
  status,
  contributor,
  datanet: {
    spec: { ...(access === undefined ? {} : { access }), ...(visibility === undefined ? {} : { visibility }) },
    owner,
    curators: [curator],
  },
});
const gated = { credentials: [{ claim: 'licensed clinician', verifiers: ['a'.repeat(64)] }] };

describe('payload access', () => {
  it('is public only once accepted into an ungated public Datanet', () => {
    expect(isPublicPayload(copy('accepted'))).toBe(true);
    expect(isPublicPayload(copy('accepted', undefined, 'public'))).toBe(true);
    expect(isPublicPayload(copy('accepted', { deposit: '5' }))).toBe(true);
    for (const status of ['pending', 'awaiting-approval', 'rejected', 'curator-rejected', 'duplicate'])
      expect(isPublicPayload(copy(status))).toBe(false);
    expect(isPublicPayload(copy('accepted', gated))).toBe(false);
    expect(isPublicPayload(copy('accepted', { assessment: { minScore: 0.5 } }))).toBe(false);
    expect(isPublicPayload(copy('accepted', undefined, 'members'))).toBe(false);
    expect(isPublicPayload(copy('accepted', undefined, 'private'))).toBe(false);
  });

  it('is readable by its contributor, the owner and curators whatever its status, by others once public', () => {
    for (const c of [copy('pending'), copy('curator-rejected'), copy('accepted', gated)]) {
      for (const reader of [contributor, owner, curator]) expect(mayReadPayload(c, reader)).toBe(true);
      expect(mayReadPayload(c, stranger)).toBe(false);
    }
    expect(mayReadPayload(copy('accepted'), stranger)).toBe(true);
  });

  it('never serves an encrypted Datanet record in plaintext, to anyone', () => {
    for (const v of ['members', 'private'])
      for (const reader of [contributor, owner, curator, stranger])
        expect(mayReadPayload(copy('accepted', undefined, v), reader)).toBe(false);
  });
});

describe('sealed reads', () => {
  const id = 'dn-1';
  it('lets the owner and curators read any record of a members or private Datanet, as the curator view', () => {
    for (const v of ['members', 'private'])
      for (const reader of [owner, curator])
        expect(sealedReadOf(copy('pending', undefined, v), id, reader, false)).toEqual({
          ok: true,
          purpose: 'curator-view',
        });
  });

  it('lets members and the contributor read a members Datanet record, nobody else', () => {
    const c = copy('pending', undefined, 'members');
    expect(sealedReadOf(c, id, stranger, true)).toEqual({ ok: true, purpose: 'member-view' });
    expect(sealedReadOf(c, id, contributor, false)).toEqual({ ok: true, purpose: 'member-view' });
    const refused = sealedReadOf(c, id, stranger, false);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toMatch(/members-only/);
  });

  it('refuses everyone but curators on a private Datanet, its members and the contributor included', () => {
    const c = copy('accepted', undefined, 'private');
    for (const [reader, member] of [
      [contributor, true],
      [stranger, true],
      [stranger, false],
    ] as const) {
      const r = sealedReadOf(c, id, reader, member);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/private \(compute-only\)/);
    }
  });

  it('has nothing to seal on a public Datanet', () => {
    expect(sealedReadOf(copy('accepted'), id, owner, false).ok).toBe(false);
  });
});

describe('text derived from records', () => {
  it('is public on a public Datanet, and on an encrypted one only for its contributor and curators', () => {
    expect(mayReadDerivedText(copy('rejected'), undefined)).toBe(true);
    for (const v of ['members', 'private']) {
      const c = copy('rejected', undefined, v);
      expect(mayReadDerivedText(c, undefined)).toBe(false);
      expect(mayReadDerivedText(c, stranger)).toBe(false);
      for (const reader of [contributor, owner, curator]) expect(mayReadDerivedText(c, reader)).toBe(true);
    }
  });
});
