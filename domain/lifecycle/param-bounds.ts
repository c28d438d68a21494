/**
 * The kind and hard bounds of every numeric lifecycle parameter: one table, read by
 * validateParams (the rule) and by the API's proposal schema (so a request is refused before any
 * rule runs). A count is an integer, a duration an integer number of ms, a share a number in
 * [0, 1], an amount a canonical decimal string. Bounds a deployment may tighten or loosen are
 * protocol settings (domain/protocol/settings.ts), checked in proposal-terms.ts.
 */

const DAY = 86_400_000;
/** The longest any lifecycle duration may be: Temporal timers and Postgres intervals stay exact. */
export const MAX_DURATION_MS = 365 * DAY;
/** The largest count stored in an `integer` column. */
const MAX_INT4 = 2 ** 31 - 1;

/** An amount of base units as the ledger writes it back: no sign, no leading zero, no exponent. */
export const CANONICAL_AMOUNT = /^(0|[1-9][0-9]{0,29})$/;
export const POSITIVE_AMOUNT = /^[1-9][0-9]{0,29}$/;

export type ParamBound =
  | { kind: 'integer'; min: number; max: number; optional?: boolean }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'amount'; positive?: boolean };

const int = (min: number, max: number, optional = false): ParamBound => ({ kind: 'integer', min, max, optional });
const ms = (min = 1): ParamBound => int(min, MAX_DURATION_MS);
const share: ParamBound = { kind: 'number', min: 0, max: 1 };
/** A rate that must be above 0: bounded by a tiny minimum (OpenAPI 3.0 has no numeric exclusiveMinimum). */
const positive = (max: number): ParamBound => ({ kind: 'number', min: 1e-12, max });

/** Dotted path of each numeric parameter → its kind and bounds. */
export const PARAM_BOUNDS: Record<string, ParamBound> = {
  stake: { kind: 'amount', positive: true },
  'governance.votingPeriodMs': ms(),
  'governance.quorum': share,
  'governance.passThreshold': share,
  'governance.vetoThreshold': share,
  'collection.windowMs': ms(),
  'collection.targetCount': int(1, MAX_INT4),
  'collection.pollIntervalMs': ms(),
  'collection.batchSize': int(1, 5000),
  'collection.parallelism': int(1, 64),
  'collection.batchesPerRun': int(1, 10_000),
  // Temporal refuses a history past 51,200 events; the window continues as new well before that.
  'collection.windowRunMaxEvents': int(1, 40_000, true),
  'collection.minQuality': share,
  'collection.minRelevance': share,
  'collection.minAcceptedRecords': int(0, MAX_INT4),
  'training.hyperparams.epochs': int(1, 10_000),
  'training.hyperparams.learningRate': positive(1000),
  'training.hyperparams.l2': { kind: 'number', min: 0, max: 1 },
  'training.hyperparams.batchSize': int(1, 100_000),
  'training.hyperparams.seed': int(0, MAX_INT4),
  'training.hyperparams.checkpointEvery': int(1, MAX_INT4),
  'training.evalFraction': share,
  'training.heartbeatTimeoutMs': ms(1000),
  'training.maxAttempts': int(1, 100),
  'rlhf.rounds': int(0, 20),
  'rlhf.promptsPerRound': int(1, 10_000),
  'rlhf.candidatesPerPrompt': int(2, 16),
  'rlhf.answersPerItem': int(1, 100),
  'rlhf.roundDeadlineMs': ms(),
  'rlhf.beta': positive(1000),
  'rlhf.learningRate': positive(1000),
  'rlhf.epochs': int(1, 10_000),
  'rlhf.maxEvalDrop': share,
  'rlhf.agreementReward': { kind: 'amount' },
  'rlhf.disagreementPenalty': { kind: 'amount' },
  'rlhf.disagreementTolerance': share,
  'rlhf.maxTasksPerReviewer': int(1, 10_000),
  'rlhf.goldPerRound': int(0, 1000),
  'rlhf.lowAgreementSupport': share,
  'rlhf.extraReviewers': int(0, 100),
  'rlhf.extensionMs': ms(),
  'deployment.minAccuracy': share,
  'deployment.minMacroF1': share,
  'deployment.maxRegression': share,
  'serving.feePerCall': { kind: 'amount' },
  'serving.shares.developer': share,
  'serving.shares.contributors': share,
  'serving.shares.reviewers': share,
  'serving.shares.governors': share,
  'serving.shares.treasury': share,
  'serving.rewardPool': { kind: 'amount' },
  'serving.settlementPeriodMs': ms(),
};

const shown = (v: unknown) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : JSON.stringify(v));

/** Why `v` does not fit `b` (naming `path`), or undefined. */
export function boundViolation(path: string, v: unknown, b: ParamBound): string | undefined {
  if (b.kind === 'amount') {
    const re = b.positive ? POSITIVE_AMOUNT : CANONICAL_AMOUNT;
    return typeof v === 'string' && re.test(v)
      ? undefined
      : `${path} must be ${b.positive ? 'a positive' : 'an'} integer amount as a decimal string without sign, exponent or leading zeros (got ${shown(v)})`;
  }
  const fits =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    !Object.is(v, -0) &&
    (b.kind !== 'integer' || Number.isInteger(v)) &&
    v >= b.min &&
    v <= b.max;
  if (fits) return undefined;
  const what = b.kind === 'integer' ? 'an integer' : 'a number';
  return `${path} must be ${what} from ${b.min} to ${b.max} (got ${shown(v)})`;
}
