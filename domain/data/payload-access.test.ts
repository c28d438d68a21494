import { describe, expect, it } from 'vitest';
import { isPublicPayload, mayReadPayload, type PayloadCopy } from './payload-access.js';

const owner = `cm${'1'.repeat(40)}`;
const curator = `cm${'2'.repeat(40)}`;
const contributor = `cm${'3'.repeat(40)}`;
const stranger = `cm${'4'.repeat(40)}`;
const copy = (status: string, access?: unknown): PayloadCopy => ({
  status,
  contributor,
  datanet: { spec: access === undefined ? {} : { access }, owner, curators: [curator] },
});
const gated = { credentials: [{ claim: 'licensed clinician', verifiers: ['a'.repeat(64)] }] };

describe('payload access', () => {
  it('is public only once accepted into an ungated Datanet', () => {
    expect(isPublicPayload(copy('accepted'))).toBe(true);
    expect(isPublicPayload(copy('accepted', { deposit: '5' }))).toBe(true);
    for (const status of ['pending', 'awaiting-approval', 'rejected', 'curator-rejected', 'duplicate'])
      expect(isPublicPayload(copy(status))).toBe(false);
    expect(isPublicPayload(copy('accepted', gated))).toBe(false);
    expect(isPublicPayload(copy('accepted', { assessment: { minScore: 0.5 } }))).toBe(false);
  });

  it('is readable by its contributor, the owner and curators whatever its status, by others once public', () => {
    for (const c of [copy('pending'), copy('curator-rejected'), copy('accepted', gated)]) {
      for (const reader of [contributor, owner, curator]) expect(mayReadPayload(c, reader)).toBe(true);
      expect(mayReadPayload(c, stranger)).toBe(false);
    }
    expect(mayReadPayload(copy('accepted'), stranger)).toBe(true);
  });
});
