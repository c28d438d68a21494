/**
 * Protocol settings: the rules of the game that only admins change (a JSON file named by
 * `COMMONS_PROTOCOL_SETTINGS`, read when the API and the workers start). A proposal never sets
 * these; it may only ask for values inside the bounds published here (GET /v1/protocol), and the
 * API snapshots the settings into the lifecycle's input, so a later change never alters a
 * running lifecycle.
 */
import { merge } from '../deep-merge.js';

/** The parts a fee is split into (the keys of a lifecycle's `serving.shares`). */
export type FeePart = 'developer' | 'contributors' | 'reviewers' | 'governors' | 'treasury';

export interface Range {
  min: number;
  max: number;
}

export interface ProtocolSettings {
  governance: {
    /** Minimum cast / snapshotted power, else the vote expires. */
    quorum: number;
    /** yes / (yes + no) above this passes. */
    passThreshold: number;
    /** veto / cast above this vetoes (and slashes the stake). */
    vetoThreshold: number;
    /** Voting periods a proposal may ask for (ms), and the one it gets when it asks for none. */
    votingPeriodMs: Range & { default: number };
    /** OPEN base units a proposal must escrow at least. */
    minProposalStake: string;
  };
  treasury: {
    /** The largest treasury budget one proposal may ask for (OPEN base units). */
    maxProposalBudget: string;
    /** The largest contributor reward pool one proposal may ask for; it is paid out of the budget. */
    maxRewardPool: string;
  };
  rewards: {
    /** OPEN paid from the proposal's budget per review answer that agrees with consensus. */
    reviewAgreementReward: string;
    /** OPEN slashed from a validator's stake after persistent disagreement (to the treasury). */
    reviewDisagreementPenalty: string;
    /** A reviewer is penalised when more than this share of their answers in a round disagreed. */
    disagreementTolerance: number;
  };
  fees: {
    /** Each fee share a proposal asks for must lie in its range (and the shares sum to 1). */
    shareBounds: Record<FeePart, Range>;
  };
  deployment: {
    /** A proposal's evaluation gate may be stricter than these floors, never looser. */
    minAccuracyFloor: number;
    minMacroF1Floor: number;
    /** The largest regression against production a proposal may allow. */
    maxRegressionCap: number;
  };
  durations: {
    /**
     * The shortest poll interval of a collection window and settlement period of a served model a
     * proposal may ask for (ms): each loop iteration costs workflow history and a database read.
     */
    minPollIntervalMs: number;
    minSettlementPeriodMs: number;
  };
  staking: {
    /** Unstaked validator stake is unbonding for this long (ms) before it can be claimed. */
    unbondingPeriodMs: number;
    /**
     * The review bond (OPEN base units in `stake:validator:<address>`) an account needs to enlist,
     * be assigned and answer review tasks: what one more review account costs a sybil.
     */
    minReviewBond: string;
  };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Production defaults (docs/protocol-settings.md). */
export const DEFAULT_PROTOCOL_SETTINGS: ProtocolSettings = {
  governance: {
    quorum: 0.334,
    passThreshold: 0.5,
    vetoThreshold: 0.334,
    votingPeriodMs: { min: HOUR, max: 14 * DAY, default: 3 * DAY },
    minProposalStake: '100',
  },
  treasury: { maxProposalBudget: '100000', maxRewardPool: '50000' },
  rewards: { reviewAgreementReward: '2', reviewDisagreementPenalty: '10', disagreementTolerance: 0.5 },
  fees: {
    shareBounds: {
      developer: { min: 0, max: 0.5 },
      contributors: { min: 0.2, max: 0.9 },
      reviewers: { min: 0, max: 0.3 },
      governors: { min: 0, max: 0.3 },
      treasury: { min: 0.05, max: 0.5 },
    },
  },
  deployment: { minAccuracyFloor: 0.5, minMacroF1Floor: 0.3, maxRegressionCap: 0.1 },
  durations: { minPollIntervalMs: 1000, minSettlementPeriodMs: 60_000 },
  staking: { unbondingPeriodMs: 7 * DAY, minReviewBond: '1000' },
};

/** Amounts are canonical decimal strings (the ledger writes them back so): no sign, exponent or leading zero. */
const AMOUNT = /^(0|[1-9][0-9]{0,29})$/;

/**
 * Reasons a settings object is unsafe or malformed (empty when fine). Beyond types, it refuses
 * settings that hand power to anyone with one unit: a quorum below 10%, a pass threshold below
 * one half, a veto threshold of zero or above one half, a zero minimum stake.
 */
export function validateProtocolSettings(s: ProtocolSettings): string[] {
  const errs: string[] = [];
  const num = (v: unknown, name: string, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi)
      errs.push(`${name} must be a number from ${lo} to ${hi} (got ${JSON.stringify(v)})`);
  };
  const amount = (v: unknown, name: string, positive = false) => {
    if (typeof v !== 'string' || !AMOUNT.test(v) || (positive && BigInt(v) === 0n))
      errs.push(
        `${name} must be ${positive ? 'a positive' : 'an'} integer amount as a string (got ${JSON.stringify(v)})`,
      );
  };
  const range = (r: Range | undefined, name: string, lo: number, hi: number) => {
    if (!r || typeof r !== 'object') return errs.push(`${name} must be {min, max}`);
    num(r.min, `${name}.min`, lo, hi);
    num(r.max, `${name}.max`, lo, hi);
    if (r.min > r.max) errs.push(`${name}.min must not exceed ${name}.max`);
  };
  const g = s.governance;
  num(g.quorum, 'governance.quorum', 0.1, 1);
  num(g.passThreshold, 'governance.passThreshold', 0.5, 0.99);
  num(g.vetoThreshold, 'governance.vetoThreshold', 0.01, 0.5);
  range(g.votingPeriodMs, 'governance.votingPeriodMs', 1, 365 * DAY);
  if (g.votingPeriodMs)
    num(g.votingPeriodMs.default, 'governance.votingPeriodMs.default', g.votingPeriodMs.min, g.votingPeriodMs.max);
  amount(g.minProposalStake, 'governance.minProposalStake', true);
  amount(s.treasury.maxProposalBudget, 'treasury.maxProposalBudget');
  amount(s.treasury.maxRewardPool, 'treasury.maxRewardPool');
  amount(s.rewards.reviewAgreementReward, 'rewards.reviewAgreementReward');
  amount(s.rewards.reviewDisagreementPenalty, 'rewards.reviewDisagreementPenalty');
  num(s.rewards.disagreementTolerance, 'rewards.disagreementTolerance', 0, 1);
  const keys: FeePart[] = ['developer', 'contributors', 'reviewers', 'governors', 'treasury'];
  for (const k of keys) range(s.fees.shareBounds?.[k], `fees.shareBounds.${k}`, 0, 1);
  if (errs.length === 0) {
    const lo = keys.reduce((a, k) => a + s.fees.shareBounds[k].min, 0);
    const hi = keys.reduce((a, k) => a + s.fees.shareBounds[k].max, 0);
    if (lo > 1 + 1e-9 || hi < 1 - 1e-9) errs.push('fees.shareBounds admit no shares that sum to 1');
  }
  num(s.deployment.minAccuracyFloor, 'deployment.minAccuracyFloor', 0, 1);
  num(s.deployment.minMacroF1Floor, 'deployment.minMacroF1Floor', 0, 1);
  num(s.deployment.maxRegressionCap, 'deployment.maxRegressionCap', 0, 1);
  num(s.durations.minPollIntervalMs, 'durations.minPollIntervalMs', 10, DAY);
  num(s.durations.minSettlementPeriodMs, 'durations.minSettlementPeriodMs', 10, 30 * DAY);
  num(s.staking.unbondingPeriodMs, 'staking.unbondingPeriodMs', 1000, 365 * DAY);
  amount(s.staking.minReviewBond, 'staking.minReviewBond', true);
  return errs;
}

/** Paths in `over` that `base` does not have (typos in a settings file are refused, not ignored). */
function unknownKeys(base: unknown, over: unknown, at = ''): string[] {
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return [];
  if (typeof base !== 'object' || base === null) return [at || '(root)'];
  return Object.entries(over).flatMap(([k, v]) =>
    Object.prototype.hasOwnProperty.call(base, k)
      ? unknownKeys((base as Record<string, unknown>)[k], v, at ? `${at}.${k}` : k)
      : [at ? `${at}.${k}` : k],
  );
}

/** The defaults with an admin's overrides merged in, and the reasons they are refused (if any). */
export function protocolSettingsFrom(overrides: unknown): { settings: ProtocolSettings; errors: string[] } {
  const settings = merge(DEFAULT_PROTOCOL_SETTINGS, overrides ?? {});
  const unknown = unknownKeys(DEFAULT_PROTOCOL_SETTINGS, overrides);
  return {
    settings,
    errors: [...unknown.map((k) => `${k} is not a protocol setting`), ...validateProtocolSettings(settings)],
  };
}
