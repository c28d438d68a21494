import { describe, expect, it } from 'vitest';
import { evaluateGate } from '../deployment/gate.js';
import { withDefaults, DEFAULT_PARAMS } from './params.js';
import { validateParams } from './validate-params.js';

const m = (accuracy: number, macroF1 = accuracy) => ({ accuracy, macroF1, loss: 0.3, examples: 100 });
const gate = { minAccuracy: 0.8, minMacroF1: 0.7, maxRegression: 0.02 };

describe('evaluation gate', () => {
  it('passes above the thresholds with no production version', () => {
    expect(evaluateGate(m(0.9), gate).passed).toBe(true);
  });
  it('fails below an absolute threshold, with the reason', () => {
    expect(evaluateGate(m(0.79), gate)).toEqual({ passed: false, reason: 'accuracy 0.790 below 0.8' });
    expect(evaluateGate(m(0.9, 0.6), gate).reason).toContain('macro-F1');
  });
  it('fails when it regresses from production by more than maxRegression', () => {
    expect(evaluateGate(m(0.9), gate, m(0.93)).passed).toBe(false);
    expect(evaluateGate(m(0.915), gate, m(0.93)).passed).toBe(true);
  });
});

describe('lifecycle parameters', () => {
  it('merges overrides deeply over the design defaults', () => {
    const p = withDefaults({ governance: { votingPeriodMs: 5000 }, collection: { keywords: ['a'] } });
    expect(p.governance).toEqual({ ...DEFAULT_PARAMS.governance, votingPeriodMs: 5000 });
    expect(p.governance.quorum).toBe(0.334);
    expect(p.collection.keywords).toEqual(['a']);
    expect(p.collection.batchSize).toBe(DEFAULT_PARAMS.collection.batchSize);
    expect(validateParams(DEFAULT_PARAMS)).toEqual([]);
  });
  it('explains every unusable value', () => {
    const errs = validateParams(
      withDefaults({ governance: { quorum: 2 }, serving: { shares: { developer: 0.9 } }, stake: '-1' }),
    );
    expect(errs.join('\n')).toContain('governance.quorum');
    expect(errs.join('\n')).toContain('serving.shares');
    expect(errs.join('\n')).toContain('stake');
  });
});
