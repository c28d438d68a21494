import { describe, expect, it } from 'vitest';
import { withdrawalRefusal } from './withdrawal.js';

const params = { quorum: 0.334, passThreshold: 0.5, vetoThreshold: 0.334 };
const snapshot = { a: '30', b: '10', c: '60' };

describe('withdrawal vs veto', () => {
  it('allows withdrawal before any vote and while the veto is at or below the threshold', () => {
    expect(withdrawalRefusal(snapshot, {}, params)).toBeUndefined();
    expect(withdrawalRefusal(snapshot, { c: 'yes' }, params)).toBeUndefined();
    // 30 veto of 90 cast = 0.333 <= 0.334
    expect(withdrawalRefusal(snapshot, { a: 'veto', c: 'yes' }, params)).toBeUndefined();
  });
  it('refuses withdrawal once the veto power cast is above the threshold of the power cast', () => {
    const reason = withdrawalRefusal(snapshot, { a: 'veto', b: 'no' }, params);
    expect(reason).toContain('veto');
    expect(reason).toContain('cannot be withdrawn');
    expect(withdrawalRefusal(snapshot, { a: 'veto' }, params)).toBeDefined();
  });
});
