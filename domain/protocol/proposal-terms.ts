/**
 * What a proposal may ask for, judged against the protocol settings. The proposer chooses the
 * work (collection, training, RLHF shape), asks for values inside published bounds (voting
 * period, stake, fee shares, a stricter gate, a reward pool) and asks for a treasury budget;
 * the rules of the vote and every amount the treasury pays per action are the protocol's.
 */
import { DEFAULT_PARAMS, merge } from '../lifecycle/params.js';
import { validateParams } from '../lifecycle/validate-params.js';
import { CANONICAL_AMOUNT } from '../lifecycle/param-bounds.js';
import type { FeeShares, LifecycleParams } from '../lifecycle/types.js';
import type { ProtocolSettings } from './settings.js';

/** Parameters only the protocol sets: a proposal naming one is refused (400), never silently overridden. */
export const PROTOCOL_ONLY_PARAMS = [
  'governance.quorum',
  'governance.passThreshold',
  'governance.vetoThreshold',
  'rlhf.agreementReward',
  'rlhf.disagreementPenalty',
  'rlhf.disagreementTolerance',
] as const;

export interface ProposalTerms {
  /** The lifecycle's parameters: the proposal's asks merged over defaults, protocol values filled in. */
  params: LifecycleParams;
  /** OPEN the treasury reserves for this proposal if it passes; nothing paid for it exceeds this. */
  budget: string;
  /** Why the proposal is refused (empty when it is fine); each names the field and the bound. */
  errors: string[];
}

function has(obj: unknown, path: string): boolean {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || !Object.prototype.hasOwnProperty.call(cur, k)) return false;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur !== undefined;
}

/** The parameters every proposal starts from under these settings (the protocol's values filled in). */
export function protocolDefaults(s: ProtocolSettings): LifecycleParams {
  const stake =
    BigInt(s.governance.minProposalStake) > BigInt(DEFAULT_PARAMS.stake)
      ? s.governance.minProposalStake
      : DEFAULT_PARAMS.stake;
  return merge(DEFAULT_PARAMS, {
    stake,
    governance: {
      quorum: s.governance.quorum,
      passThreshold: s.governance.passThreshold,
      vetoThreshold: s.governance.vetoThreshold,
      votingPeriodMs: s.governance.votingPeriodMs.default,
    },
    rlhf: {
      agreementReward: s.rewards.reviewAgreementReward,
      disagreementPenalty: s.rewards.reviewDisagreementPenalty,
      disagreementTolerance: s.rewards.disagreementTolerance,
    },
    deployment: {
      minAccuracy: Math.max(DEFAULT_PARAMS.deployment.minAccuracy, s.deployment.minAccuracyFloor),
      minMacroF1: Math.max(DEFAULT_PARAMS.deployment.minMacroF1, s.deployment.minMacroF1Floor),
      maxRegression: Math.min(DEFAULT_PARAMS.deployment.maxRegression, s.deployment.maxRegressionCap),
    },
  });
}

/** Judges a proposal's `params` and `budget` against the settings. */
export function resolveProposalTerms(asked: unknown, budget: string | undefined, s: ProtocolSettings): ProposalTerms {
  const errors: string[] = [];
  for (const path of PROTOCOL_ONLY_PARAMS)
    if (has(asked, path))
      errors.push(`${path} is a protocol setting, not a proposal parameter (see GET /v1/protocol); remove it`);
  const params = merge(protocolDefaults(s), asked ?? {});
  const b = budget ?? '0';
  if (errors.length) return { params, budget: b, errors };
  errors.push(...validateParams(params));
  if (errors.length) return { params, budget: b, errors };

  const g = s.governance;
  const vp = params.governance.votingPeriodMs;
  if (vp < g.votingPeriodMs.min || vp > g.votingPeriodMs.max)
    errors.push(
      `governance.votingPeriodMs must be from ${g.votingPeriodMs.min} to ${g.votingPeriodMs.max} ms (protocol bounds), got ${vp}`,
    );
  const { minPollIntervalMs, minSettlementPeriodMs } = s.durations;
  if (params.collection.pollIntervalMs < minPollIntervalMs)
    errors.push(
      `collection.pollIntervalMs must be at least ${minPollIntervalMs} ms (protocol setting durations.minPollIntervalMs)`,
    );
  if (params.serving.settlementPeriodMs < minSettlementPeriodMs)
    errors.push(
      `serving.settlementPeriodMs must be at least ${minSettlementPeriodMs} ms (protocol setting durations.minSettlementPeriodMs)`,
    );
  if (BigInt(params.stake) < BigInt(g.minProposalStake))
    errors.push(`stake must be at least ${g.minProposalStake} OPEN (protocol setting governance.minProposalStake)`);
  if (!CANONICAL_AMOUNT.test(b))
    errors.push(
      `budget must be an integer amount of OPEN as a decimal string without sign, exponent or leading zeros, got ${JSON.stringify(b)}`,
    );
  else {
    if (BigInt(b) > BigInt(s.treasury.maxProposalBudget))
      errors.push(
        `budget must be at most ${s.treasury.maxProposalBudget} OPEN (protocol setting treasury.maxProposalBudget)`,
      );
    const pool = BigInt(params.serving.rewardPool);
    if (pool > BigInt(s.treasury.maxRewardPool))
      errors.push(
        `serving.rewardPool must be at most ${s.treasury.maxRewardPool} OPEN (protocol setting treasury.maxRewardPool)`,
      );
    if (pool > BigInt(b))
      errors.push(`serving.rewardPool (${pool}) is paid from the budget, so budget must be at least that (got ${b})`);
  }
  for (const [k, r] of Object.entries(s.fees.shareBounds) as [keyof FeeShares, { min: number; max: number }][]) {
    const v = params.serving.shares[k];
    if (v < r.min - 1e-12 || v > r.max + 1e-12)
      errors.push(
        `serving.shares.${k} must be from ${r.min} to ${r.max} (protocol bounds fees.shareBounds.${k}), got ${v}`,
      );
  }
  const d = s.deployment;
  if (params.deployment.minAccuracy < d.minAccuracyFloor)
    errors.push(
      `deployment.minAccuracy must be at least ${d.minAccuracyFloor} (protocol floor deployment.minAccuracyFloor)`,
    );
  if (params.deployment.minMacroF1 < d.minMacroF1Floor)
    errors.push(
      `deployment.minMacroF1 must be at least ${d.minMacroF1Floor} (protocol floor deployment.minMacroF1Floor)`,
    );
  if (!(params.deployment.maxRegression <= d.maxRegressionCap))
    errors.push(
      `deployment.maxRegression must be at most ${d.maxRegressionCap} (protocol cap deployment.maxRegressionCap)`,
    );
  return { params, budget: b, errors };
}
