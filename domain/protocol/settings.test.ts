import { describe, expect, it } from 'vitest';
import { DEFAULT_PROTOCOL_SETTINGS, protocolSettingsFrom, validateProtocolSettings } from './settings.js';
import { PROTOCOL_ONLY_PARAMS, resolveProposalTerms } from './proposal-terms.js';

const S = DEFAULT_PROTOCOL_SETTINGS;

describe('protocol settings', () => {
  it('the defaults are valid', () => {
    expect(validateProtocolSettings(S)).toEqual([]);
  });
  it('refuses unsafe rules and unknown keys', () => {
    const { errors } = protocolSettingsFrom({
      governance: { quorum: 0, passThreshold: 0, vetoThreshold: 1, minProposalStake: '0' },
      treasury: { maxBudget: '5' },
      // A free review bond would let anyone enlist any number of review accounts.
      staking: { minReviewBond: '0' },
    });
    expect(errors.join('\n')).toContain('governance.quorum');
    expect(errors.join('\n')).toContain('governance.passThreshold');
    expect(errors.join('\n')).toContain('governance.vetoThreshold');
    expect(errors.join('\n')).toContain('governance.minProposalStake');
    expect(errors).toContain('treasury.maxBudget is not a protocol setting');
    expect(errors.join('\n')).toContain('staking.minReviewBond must be a positive integer');
  });
  it('merges overrides over the defaults', () => {
    const { settings, errors } = protocolSettingsFrom({
      governance: { votingPeriodMs: { min: 1000, default: 60_000 } },
      staking: { unbondingPeriodMs: 2000 },
    });
    expect(errors).toEqual([]);
    expect(settings.governance.votingPeriodMs).toEqual({
      min: 1000,
      max: S.governance.votingPeriodMs.max,
      default: 60_000,
    });
    expect(settings.governance.quorum).toBe(S.governance.quorum);
    expect(settings.staking.unbondingPeriodMs).toBe(2000);
  });
});

describe('proposal terms', () => {
  it('fills the protocol values in and accepts asks within bounds', () => {
    const t = resolveProposalTerms(
      { governance: { votingPeriodMs: 2 * 3_600_000 }, serving: { rewardPool: '300' } },
      '500',
      S,
    );
    expect(t.errors).toEqual([]);
    expect(t.params.governance).toEqual({
      quorum: 0.334,
      passThreshold: 0.5,
      vetoThreshold: 0.334,
      votingPeriodMs: 7_200_000,
    });
    expect(t.params.rlhf.agreementReward).toBe(S.rewards.reviewAgreementReward);
    expect(t.budget).toBe('500');
  });
  it('refuses every protocol-only field by name', () => {
    for (const path of PROTOCOL_ONLY_PARAMS) {
      const [a, b] = path.split('.') as [string, string];
      const t = resolveProposalTerms({ [a]: { [b]: a === 'rlhf' && b !== 'disagreementTolerance' ? '1' : 0 } }, '0', S);
      expect(t.errors.join('\n')).toContain(`${path} is a protocol setting`);
    }
  });
  it('the quorum-0 self-pass request is refused', () => {
    const t = resolveProposalTerms({ governance: { quorum: 0, passThreshold: 0, vetoThreshold: 1 } }, '0', S);
    expect(t.errors).toHaveLength(3);
  });
  it('names the field and the bound when an ask is out of bounds', () => {
    const e = (asked: unknown, budget = '0') => resolveProposalTerms(asked, budget, S).errors.join('\n');
    expect(e({ governance: { votingPeriodMs: 5 } })).toContain('governance.votingPeriodMs must be from 3600000');
    expect(e({ stake: '99' })).toContain('stake must be at least 100');
    expect(e({}, '100001')).toContain('budget must be at most 100000');
    expect(e({ serving: { rewardPool: '60000' } }, '100000')).toContain('serving.rewardPool must be at most 50000');
    expect(e({ serving: { rewardPool: '10' } }, '5')).toContain('budget must be at least that');
    expect(e({ deployment: { minAccuracy: 0.1 } })).toContain('deployment.minAccuracy must be at least 0.5');
    expect(e({ deployment: { minMacroF1: 0 } })).toContain('deployment.minMacroF1 must be at least 0.3');
    expect(e({ deployment: { maxRegression: 1 } })).toContain('deployment.maxRegression must be at most 0.1');
    expect(
      e({ serving: { shares: { developer: 0.9, contributors: 0.05, reviewers: 0, governors: 0, treasury: 0.05 } } }),
    ).toContain('serving.shares.developer must be from 0 to 0.5');
    expect(e({}, '-1')).toContain('budget must be an integer');
  });
  it('refuses mistyped, fractional, unbounded and non-canonical values by name', () => {
    const e = (asked: unknown, budget = '0') => resolveProposalTerms(asked, budget, S).errors.join('\n');
    const shares = { developer: 0.3, contributors: 0.4, reviewers: 0.1, governors: 0.1 };
    // A string share made the sum NaN, and NaN passed the sum-to-1 check.
    expect(e({ serving: { shares: { ...shares, treasury: '0.1' } } })).toContain(
      'serving.shares.treasury must be a number',
    );
    expect(e({ training: { hyperparams: { epochs: 1e308 } } })).toContain(
      'training.hyperparams.epochs must be an integer',
    );
    expect(e({ training: { hyperparams: { epochs: 1.5 } } })).toContain(
      'training.hyperparams.epochs must be an integer',
    );
    expect(e({ rlhf: { answersPerItem: 1.5 } })).toContain('rlhf.answersPerItem must be an integer');
    expect(e({ collection: { batchSize: 1.5 } })).toContain('collection.batchSize must be an integer');
    expect(e({ collection: { windowRunMaxEvents: 1e9 } })).toContain(
      'collection.windowRunMaxEvents must be an integer',
    );
    expect(e({ collection: { pollIntervalMs: 1 } })).toContain('durations.minPollIntervalMs');
    expect(e({ serving: { settlementPeriodMs: 1 } })).toContain('durations.minSettlementPeriodMs');
    expect(e({ governance: { votingPeriodMs: -0 } })).toContain('governance.votingPeriodMs');
    for (const stake of ['01000', '+1000', '1e3', '1000.0', ' 1000'])
      expect(e({ stake })).toContain('stake must be a positive integer amount');
    expect(e({ serving: { rewardPool: '0100' } }, '1000')).toContain('serving.rewardPool must be an integer amount');
    expect(e({}, '0100')).toContain('budget must be an integer amount');
    expect(e({ collection: { windowRunMaxEvents: 500 } })).toBe('');
  });
  it('refuses protocol duration minimums that are not numbers', () => {
    expect(protocolSettingsFrom({ durations: { minPollIntervalMs: '5' } }).errors.join()).toContain(
      'durations.minPollIntervalMs',
    );
  });
});
