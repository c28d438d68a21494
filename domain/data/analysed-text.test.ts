// The scoring pass tokenises each record once (AnalysedText) and shares the tokens between quality,
// relevance, MinHash and the exact key. Verdicts, sketches and band keys are stored and compared
// across batches and deploys, so the shared path must give exactly what each scorer gave alone.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { AnalysedText } from './analysed-text.js';
import { scoringText, validateRecord, type DatanetSpec } from './datanet-spec.js';
import {
  bandKeys,
  bandNumbers,
  encodeSignature,
  exactKey,
  exactKeyOf,
  minhashSignature,
  recordBands,
  shingleHashes,
  shingleHashesOf,
  signatureOfShingles,
} from './minhash.js';
import { qualityScore } from './quality.js';
import { buildDomainProfile, relevanceScore } from './relevance.js';
import { SCORE_DEFAULTS, scoreRecord, scoreRecordText, type RecordScore } from './score-record.js';
import { wordTokens } from './tokenize.js';

const spec: DatanetSpec = {
  fields: [
    { name: 'text', type: 'string', required: true, maxLength: 20_000 },
    { name: 'label', type: 'enum', required: true, values: ['spam', 'ham'] },
  ],
  textField: 'text',
  labelField: 'label',
};
const generationSpec: DatanetSpec = {
  fields: [
    { name: 'prompt', type: 'string', required: true },
    { name: 'response', type: 'string', required: true },
  ],
  textField: 'prompt',
  responseField: 'response',
};
const profile = buildDomainProfile({
  domain: 'email spam detection',
  description: 'Classify email messages as spam or ham.',
  keywords: ['email', 'offer', 'click', 'unsubscribe', 'meeting', 'reply', 'account', 'prize'],
  labels: ['spam', 'ham'],
});

/** The scoring pass as it was before AnalysedText: every scorer tokenises the text itself. */
function separately(s: DatanetSpec, payload: Record<string, unknown>) {
  const valid = validateRecord(s, payload);
  if (!valid.ok)
    return { score: { status: 'rejected', quality: 0, relevance: 0, reasons: valid.errors } as RecordScore };
  const text = scoringText(s, payload);
  const q = qualityScore(text);
  const r = relevanceScore(profile, text);
  const reasons = [...q.reasons];
  let status: RecordScore['status'] = 'accepted';
  if (q.score < SCORE_DEFAULTS.minQuality) {
    status = 'rejected';
    reasons.unshift(`quality ${q.score} is below the minimum ${SCORE_DEFAULTS.minQuality}`);
  }
  if (r.score < SCORE_DEFAULTS.minRelevance) {
    status = 'rejected';
    reasons.unshift(`relevance ${r.score} is below the minimum ${SCORE_DEFAULTS.minRelevance}`);
  }
  reasons.push(r.reason);
  const sig = minhashSignature(text);
  // activities/data/activities.ts bandsOf before recordBands: hex keys parsed back to numbers.
  const exact = createHash('sha256').update(exactKey(text)).digest('hex').slice(0, 12);
  const bands = [...bandKeys(sig), (0x1f).toString(16) + exact].map((k) => parseInt(k, 16));
  return {
    score: { status, quality: q.score, relevance: r.score, reasons },
    sig: encodeSignature(sig),
    keys: bandKeys(sig),
    bands,
    exact: exactKey(text),
  };
}

function shared(s: DatanetSpec, payload: Record<string, unknown>) {
  const { score, text } = scoreRecordText(s, profile, payload);
  if (!text) return { score };
  const sig = signatureOfShingles(shingleHashesOf(text));
  return {
    score,
    sig: encodeSignature(sig),
    keys: bandKeys(sig),
    bands: recordBands(text, sig),
    exact: exactKeyOf(text),
  };
}

describe('AnalysedText: one tokenisation shared by every scorer', () => {
  const corpus = loadSpamAssassin({ limit: 3000, seed: 14 });

  it('gives the same verdicts, reasons, signatures and band keys as separate tokenisation on 3,000 SpamAssassin mails', () => {
    let accepted = 0;
    let nonAscii = 0;
    for (const r of corpus) {
      const payload = { text: r.text, label: r.label };
      const next = shared(spec, payload);
      expect(next).toEqual(separately(spec, payload));
      expect(scoreRecord(spec, profile, payload)).toEqual(next.score);
      if (next.score.status === 'accepted') accepted++;
      if (!new AnalysedText(r.text).ascii) nonAscii++;
    }
    // Both branches (ASCII tokens shared, other text on each scorer's own path) and both verdicts ran.
    expect(nonAscii).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(500);
    expect(accepted).toBeLessThan(corpus.length - 500);
  });

  it('matches the digest of the per-scorer pipeline (same corpus, same profile)', () => {
    // Digest computed by scoreRecord, minhashSignature, bandKeys and exactKey each tokenising on its
    // own (commit 916cf5a): sharing the tokens must change no verdict, reason, signature or key.
    const h = createHash('sha256');
    for (const r of corpus) {
      const payload = { text: r.text, label: r.label };
      const x = shared(spec, payload);
      const sig = x.sig ?? encodeSignature(minhashSignature(r.text));
      const text = new AnalysedText(r.text);
      const s = signatureOfShingles(shingleHashesOf(text));
      expect(encodeSignature(s)).toBe(sig);
      h.update(JSON.stringify([x.score, sig, bandKeys(s), exactKeyOf(text)]));
    }
    expect(h.digest('hex')).toBe('be43d086f2f1ad35aff90cc6db11368dc3c21cf9a6be40aa377f0f3351863537');
  });

  it('agrees on edge cases: Unicode case folding, empty and short text, long text, generation records', () => {
    const long = Array.from({ length: 1500 }, (_, i) => `word${i % 97} offer click`).join(' ');
    const texts = [
      'The \u212Aelvin sign lower-cases to an ASCII k, but only the Unicode paths fold it: meeting reply email',
      'ΟΔΥΣΣΕΥΣ final sigma ΣΑΣ depends on context, offer email click unsubscribe account prize meeting',
      'Ｆｕｌｌｗｉｄｔｈ letters NFKC-fold for MinHash but not for relevance tokens email offer click reply',
      '   \t leading and trailing whitespace, then the email offer: click here to reply to the meeting!!!   \n',
      '!!! ??? ...',
      'short email offer',
      'click-click-click-click-click-click-click-click-click-click-click-click email offer',
      long,
      long.slice(0, 5999) + ' tail words',
      `${long.slice(0, 6000)}xyz and more words after the quality window email`,
    ];
    for (const text of texts) {
      for (const label of ['spam', 'ham'])
        expect(shared(spec, { text, label })).toEqual(separately(spec, { text, label }));
      const a = new AnalysedText(text);
      expect(a.tokens).toEqual(wordTokens(text));
      expect(shingleHashesOf(a)).toEqual(shingleHashes(text));
      expect(exactKeyOf(a)).toBe(exactKey(text));
    }
    for (const r of corpus.slice(0, 200)) {
      const payload = { prompt: r.text.slice(0, 400), response: r.text.slice(400) || 'ok, thanks for the email' };
      expect(shared(generationSpec, payload)).toEqual(separately(generationSpec, payload));
    }
  });

  it('bandNumbers are the hex band keys parsed as numbers', () => {
    for (const r of corpus.slice(0, 300)) {
      const sig = minhashSignature(r.text);
      expect(bandNumbers(sig)).toEqual(bandKeys(sig).map((k) => parseInt(k, 16)));
    }
  });
});
