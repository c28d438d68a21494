import { describe, expect, it } from 'vitest';
import type { DatanetSpec } from './datanet-spec.js';
import { buildDomainProfile } from './relevance.js';
import { scoreRecord } from './score-record.js';

const SPEC: DatanetSpec = {
  fields: [
    { name: 'text', type: 'string', required: true, maxLength: 5000 },
    { name: 'label', type: 'enum', required: true, values: ['spam', 'ham'] },
  ],
  textField: 'text',
  labelField: 'label',
};
const PROFILE = buildDomainProfile({
  domain: 'email spam',
  description: 'Classify email messages as spam or ham.',
  keywords: ['email', 'offer', 'click', 'unsubscribe', 'meeting', 'reply', 'account', 'prize', 'free', 'money'],
  labels: ['spam', 'ham'],
  examples: [
    'Congratulations! You won a free prize. Click here to claim the offer. Reply STOP to unsubscribe.',
    'Hi Sam, can we move our meeting to Friday? Reply when you get a chance. Thanks, Jo',
    'Your account has been locked. Click the link and confirm your password to avoid suspension.',
  ],
});

describe('scoreRecord', () => {
  it('accepts a valid, clean, on-topic record', () => {
    const s = scoreRecord(SPEC, PROFILE, {
      text: 'You have won a FREE prize! Click here to claim your offer today, reply to unsubscribe.',
      label: 'spam',
    });
    expect(s.status).toBe('accepted');
    expect(s.quality).toBeGreaterThan(0.8);
    expect(s.relevance).toBeGreaterThan(0.6);
    expect(s.reasons.some((r) => /on-topic/.test(r))).toBe(true);
  });

  it('rejects an invalid record with the schema reasons and zero scores', () => {
    const s = scoreRecord(SPEC, PROFILE, { text: 'hello', label: 'maybe' });
    expect(s).toEqual({
      status: 'rejected',
      quality: 0,
      relevance: 0,
      reasons: ['field "label": must be one of spam, ham'],
    });
  });

  it('rejects off-topic and junk records, saying why', () => {
    const recipe = scoreRecord(SPEC, PROFILE, {
      text: 'Simmer the tomatoes with garlic and basil for twenty minutes, then toss with pasta and parmesan.',
      label: 'ham',
    });
    expect(recipe.status).toBe('rejected');
    expect(recipe.reasons[0]).toMatch(/^relevance .* is below the minimum 0.1$/);
    const junk = scoreRecord(SPEC, PROFILE, {
      text: 'free free free free free free free free free free free free !!!!!!!!!!!!!!!!!!!!!!',
      label: 'spam',
    });
    expect(junk.status).toBe('rejected');
    expect(junk.reasons.some((r) => /^quality .* is below the minimum 0.3$/.test(r))).toBe(true);
  });

  it('thresholds are options', () => {
    const payload = {
      text: 'Simmer the tomatoes with garlic and basil for twenty minutes, then toss with pasta and parmesan.',
      label: 'ham',
    };
    expect(scoreRecord(SPEC, PROFILE, payload, { minRelevance: 0 }).status).toBe('accepted');
    const good = {
      text: 'Hi Sam, the meeting is confirmed for Friday; please reply with the agenda by email.',
      label: 'ham',
    };
    expect(scoreRecord(SPEC, PROFILE, good, { minQuality: 1.01 }).status).toBe('rejected');
  });
});
