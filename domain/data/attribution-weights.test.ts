import { describe, expect, it } from 'vitest';
import {
  contributorStanding,
  contributorWeights,
  weightsFromTotals,
  type ScoredRecordSummary,
} from './attribution-weights.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

const rec = (
  contributor: string,
  quality: number,
  relevance: number,
  status: ScoredRecordSummary['status'] = 'accepted',
): ScoredRecordSummary => ({ contributor, quality, relevance, status });
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('contributorStanding', () => {
  it('follows the documented rule', () => {
    expect(contributorStanding(0, 4)).toBe(1); // fewer than 5 judged records
    expect(contributorStanding(5, 5)).toBe(1); // exactly half rejected
    expect(contributorStanding(4, 6)).toBeCloseTo(0.4);
    expect(contributorStanding(49, 51)).toBeCloseTo(0.49); // just above half: about halved
    expect(contributorStanding(0, 10)).toBe(0);
    expect(contributorStanding(100, 0)).toBe(1);
    // Monotone: more rejections never help.
    let prev = 1;
    for (let r = 0; r <= 20; r++) {
      const s = contributorStanding(10, r);
      expect(s).toBeLessThanOrEqual(prev);
      expect(s).toBeGreaterThanOrEqual(0);
      prev = s;
    }
  });
});

describe('contributorWeights', () => {
  it('only accepted records earn; rawScore is the sum of quality x relevance', () => {
    const w = contributorWeights([
      rec('a', 0.5, 0.8),
      rec('a', 1, 1),
      rec('a', 1, 1, 'duplicate'),
      rec('a', 1, 1, 'near-duplicate'),
      rec('b', 1, 1, 'rejected'),
      rec('b', 0.9, 0.9, 'duplicate'),
    ]);
    const a = w.find((x) => x.contributor === 'a')!;
    const b = w.find((x) => x.contributor === 'b')!;
    expect(a.rawScore).toBeCloseTo(1.4);
    expect(a.weight).toBe(1);
    expect(b.rawScore).toBe(0);
    expect(b.weight).toBe(0);
  });

  it('is concave: one contributor with 100 mediocre records does not dominate ten with 10 each', () => {
    const records: ScoredRecordSummary[] = [];
    for (let i = 0; i < 100; i++) records.push(rec('bulk', 0.5, 0.6));
    for (let c = 0; c < 10; c++) for (let i = 0; i < 10; i++) records.push(rec(`c${c}`, 0.5, 0.6));
    const w = contributorWeights(records);
    expect(sum(w.map((x) => x.weight))).toBeCloseTo(1, 12);
    const bulk = w.find((x) => x.contributor === 'bulk')!;
    const small = w.filter((x) => x.contributor !== 'bulk');
    // Linear would give bulk 50% (half the accepted value); sqrt gives 10 / (10 + 10*sqrt(10)) ~ 24%.
    expect(bulk.rawScore).toBeCloseTo(30);
    expect(bulk.weight).toBeCloseTo(10 / (10 + 10 * Math.sqrt(10)), 10);
    expect(bulk.weight).toBeLessThan(0.3);
    // 10x the records of a small contributor earns only sqrt(10) ~ 3.16x the weight.
    expect(bulk.weight / at(small, 0).weight).toBeCloseTo(Math.sqrt(10), 10);
    // log1p is even more concave.
    const wl = contributorWeights(records, { concave: 'log1p' });
    expect(wl.find((x) => x.contributor === 'bulk')!.weight).toBeLessThan(bulk.weight);
  });

  it('quality and relevance, not volume alone, decide: 5 excellent records beat 20 poor ones', () => {
    const records = [
      ...Array.from({ length: 5 }, () => rec('good', 1, 1)),
      ...Array.from({ length: 20 }, () => rec('poor', 0.3, 0.3)),
    ];
    const w = contributorWeights(records);
    expect(at(w, 0).contributor).toBe('good');
  });

  it('applies standing before normalisation', () => {
    const records = [
      ...Array.from({ length: 10 }, () => rec('honest', 0.8, 0.8)),
      ...Array.from({ length: 10 }, () => rec('spammer', 0.8, 0.8)),
      ...Array.from({ length: 30 }, () => rec('spammer', 0, 0, 'rejected')),
    ];
    const w = contributorWeights(records);
    const spammer = w.find((x) => x.contributor === 'spammer')!;
    const honest = w.find((x) => x.contributor === 'honest')!;
    expect(spammer.standing).toBeCloseTo(0.25);
    expect(spammer.weight / honest.weight).toBeCloseTo(0.25, 10);
    expect(honest.weight + spammer.weight).toBeCloseTo(1, 12);
    // Duplicates count against standing only on request.
    const dups = [
      ...Array.from({ length: 3 }, () => rec('d', 1, 1)),
      ...Array.from({ length: 7 }, () => rec('d', 1, 1, 'duplicate')),
      rec('e', 1, 1),
    ];
    expect(contributorWeights(dups).find((x) => x.contributor === 'd')!.standing).toBe(1);
    expect(
      contributorWeights(dups, { duplicatesCountAsRejected: true }).find((x) => x.contributor === 'd')!.standing,
    ).toBeCloseTo(0.3);
  });

  it('all-zero input gives all-zero weights; output is deterministic', () => {
    expect(contributorWeights([rec('a', 1, 1, 'rejected'), rec('b', 0, 1)]).map((x) => x.weight)).toEqual([0, 0]);
    expect(contributorWeights([]).length).toBe(0);
    const w = contributorWeights([rec('z', 1, 1), rec('y', 1, 1)]);
    expect(w.map((x) => x.contributor)).toEqual(['y', 'z']);
  });

  it('weightsFromTotals matches contributorWeights on the same totals', () => {
    const records = [
      rec('a', 0.9, 0.7),
      rec('a', 0.4, 0.5),
      rec('b', 1, 1),
      ...Array.from({ length: 6 }, () => rec('b', 0, 0, 'rejected')),
    ];
    const fromRecords = contributorWeights(records);
    const fromTotals = weightsFromTotals([
      { contributor: 'a', rawScore: 0.9 * 0.7 + 0.4 * 0.5, accepted: 2, rejected: 0 },
      { contributor: 'b', rawScore: 1, accepted: 1, rejected: 6 },
    ]);
    expect(fromTotals.map((x) => [x.contributor, x.weight.toFixed(12)])).toEqual(
      fromRecords.map((x) => [x.contributor, x.weight.toFixed(12)]),
    );
  });
});
