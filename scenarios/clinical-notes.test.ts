import { describe, expect, it } from 'vitest';
import { clinicalNotes, CLINICAL_KEYWORDS } from './clinical-notes.js';
import { CLINICAL_SPEC } from './private-scenario.js';
import { buildDomainProfile } from '../domain/data/relevance.js';
import { scoreRecord } from '../domain/data/score-record.js';
import { estimateJaccard, minhashSignature, NEAR_DUPLICATE_JACCARD } from '../domain/data/minhash.js';

describe('synthetic clinical notes (the private demo)', () => {
  const notes = clinicalNotes(300, 7);

  it('are reproducible and hold both labels', () => {
    expect(clinicalNotes(300, 7)).toEqual(notes);
    const urgent = notes.filter((n) => n.triage === 'urgent').length;
    expect(urgent).toBeGreaterThan(100);
    expect(urgent).toBeLessThan(200);
  });

  it('pass scoring against the proposal domain, so the demo trains on most of them', () => {
    const profile = buildDomainProfile({
      domain: 'clinical triage',
      description: '',
      keywords: CLINICAL_KEYWORDS,
      labels: ['urgent', 'routine'],
    });
    const accepted = notes.filter((n) => scoreRecord(CLINICAL_SPEC, profile, n).status === 'accepted').length;
    expect(accepted / notes.length).toBeGreaterThan(0.9);
  });

  it('are never near-duplicates of each other', () => {
    const sigs = notes.slice(0, 120).map((n) => minhashSignature(n.note));
    let max = 0;
    for (let i = 0; i < sigs.length; i++)
      for (let j = i + 1; j < sigs.length; j++) max = Math.max(max, estimateJaccard(sigs[i]!, sigs[j]!));
    expect(max).toBeLessThan(NEAR_DUPLICATE_JACCARD);
  });
});
