import { describe, expect, it } from 'vitest';
import { initialModelState, nextEpochAfter, rollbackRefusal } from './model-entity.js';

describe('model entity rules', () => {
  it('refuses a rollback of a retired model, to a bad version, or to the version already in production', () => {
    const s = { ...initialModelState(), productionVersion: 2 };
    expect(rollbackRefusal(s, { version: 1 })).toBeUndefined();
    expect(rollbackRefusal(s, { version: 2 })).toMatch(/already production/);
    expect(rollbackRefusal(s, { version: 0 })).toMatch(/positive integer/);
    expect(rollbackRefusal({ ...s, status: 'retired' }, { version: 1 })).toMatch(/retired/);
  });

  it('schedules the next epoch one period on, skipping periods missed while nothing ran', () => {
    expect(nextEpochAfter(1000, 1050, 100)).toBe(1100);
    expect(nextEpochAfter(1000, 5000, 100)).toBe(5100);
  });
});
