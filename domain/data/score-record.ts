// Scores one contributed record: schema validation, then quality and relevance of its text field.
// Exact and near-duplicate status is decided by the caller (it needs the Postgres look-ups of
// exactKey and bandKeys from minhash.ts across batches).
import { AnalysedText } from './analysed-text.js';
import { scoringText, validateRecord, type DatanetSpec } from './datanet-spec.js';
import { qualityScore, type QualityOptions } from './quality.js';
import { relevanceScore, type DomainProfile } from './relevance.js';

export interface ScoreOptions {
  /**
   * Minimum quality to accept (default 0.3). Quality multiplies each accepted record's reward, so
   * the threshold only has to drop junk: on the SpamAssassin corpus it rejects 1.5-2.5% of messages,
   * nearly all of them mailing-list footers with no message of their own.
   */
  minQuality?: number;
  /**
   * Minimum relevance to accept (default 0.1). Also a floor, not a grade: relevance multiplies the
   * reward too, so marginal text is accepted but earns little, while text sharing almost nothing
   * with the domain profile (a recipe in an email-spam Datanet) is rejected.
   */
  minRelevance?: number;
  quality?: QualityOptions;
}

export const SCORE_DEFAULTS = { minQuality: 0.3, minRelevance: 0.1 } as const;

export interface RecordScore {
  status: 'accepted' | 'rejected';
  quality: number;
  relevance: number;
  reasons: string[];
}

export function scoreRecord(
  spec: DatanetSpec,
  profile: DomainProfile,
  payload: unknown,
  opts: ScoreOptions = {},
): RecordScore {
  return scoreRecordText(spec, profile, payload, opts).score;
}

/**
 * scoreRecord, also handing back the scored text tokenised (undefined when the record is invalid),
 * so the caller's duplicate keys (shingleHashesOf, exactKeyOf) reuse the same tokens.
 */
export function scoreRecordText(
  spec: DatanetSpec,
  profile: DomainProfile,
  payload: unknown,
  opts: ScoreOptions = {},
): { score: RecordScore; text?: AnalysedText } {
  const minQuality = opts.minQuality ?? SCORE_DEFAULTS.minQuality;
  const minRelevance = opts.minRelevance ?? SCORE_DEFAULTS.minRelevance;
  const valid = validateRecord(spec, payload);
  if (!valid.ok) return { score: { status: 'rejected', quality: 0, relevance: 0, reasons: valid.errors } };

  const text = scoringText(spec, payload as Record<string, unknown>);
  const analysed = new AnalysedText(text);
  const q = qualityScore(text, opts.quality, analysed);
  const r = relevanceScore(profile, text, analysed);
  const reasons = [...q.reasons];
  let status: RecordScore['status'] = 'accepted';
  if (q.score < minQuality) {
    status = 'rejected';
    reasons.unshift(`quality ${q.score} is below the minimum ${minQuality}`);
  }
  if (r.score < minRelevance) {
    status = 'rejected';
    reasons.unshift(`relevance ${r.score} is below the minimum ${minRelevance}`);
  }
  reasons.push(r.reason);
  return { score: { status, quality: q.score, relevance: r.score, reasons }, text: analysed };
}
