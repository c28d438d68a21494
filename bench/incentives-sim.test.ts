import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM, simulateContributors, simulateReviewers, type StrategyRow } from './incentives-sim.js';

const mean = (rows: StrategyRow[], prefix: string): number => {
  const r = rows.find((x) => x.strategy.startsWith(prefix));
  if (!r) throw new Error(`no strategy ${prefix}`);
  return r.mean;
};

describe('incentive simulation (short run)', () => {
  it('reviewers: honest earns the most; random, lazy copying and minority collusion lose; unstaked accounts get nothing', () => {
    const rows = simulateReviewers({ ...DEFAULT_SIM, rounds: 30, seed: 11 });
    const honest = mean(rows, 'honest (');
    expect(honest).toBeGreaterThan(0);
    for (const r of rows) if (r.strategy !== rows[0]?.strategy) expect(r.mean).toBeLessThan(honest);
    expect(mean(rows, 'honest, 1,000 split')).toBeGreaterThan(0);
    expect(mean(rows, 'random')).toBeLessThan(0);
    expect(mean(rows, 'lazy copier')).toBeLessThan(0);
    expect(mean(rows, 'colluding')).toBeLessThan(0);
    expect(mean(rows, '500 unstaked')).toBe(0);
  });

  it('contributors: splitting never earns more than one account; near-copies and low-effort volume lose', () => {
    const rows = simulateContributors({ ...DEFAULT_SIM, rounds: 12, seed: 11 });
    const one = mean(rows, 'honest, 20 records, 1 account');
    expect(one).toBeGreaterThan(0);
    for (const k of ['2', '10', '100']) {
      const split = mean(rows, `same records over ${k} accounts`);
      expect(split).toBeLessThanOrEqual(one + 1e-6);
      expect(split).toBeCloseTo(one, 6);
    }
    for (const r of rows) expect(r.mean).toBeLessThanOrEqual(one + 1e-6);
    expect(mean(rows, '20 near-copies (2')).toBeLessThan(0);
    expect(mean(rows, '20 near-copies (5')).toBeLessThan(0);
    expect(mean(rows, '100 low-effort')).toBeLessThan(0);
  });
});
