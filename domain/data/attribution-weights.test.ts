// Attribution weight is additive per record, so the properties that matter are that splitting
// records over accounts never earns more and that quality counts more than volume.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contributorWeights,
  recordValue,
  weightsFromTotals,
  type RecordStatus,
  type ScoredRecordSummary,
} from './attribution-weights.js';

const rec = (contributor: string, quality: number, relevance: number, status: RecordStatus = 'accepted') => ({
  contributor,
  quality,
  relevance,
  status,
});
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const weightOf = (w: ReturnType<typeof contributorWeights>, c: string): number =>
  w.find((x) => x.contributor === c)?.weight ?? 0;

const statusArb = fc.constantFrom<RecordStatus>(
  'accepted',
  'accepted',
  'accepted',
  'rejected',
  'duplicate',
  'near-duplicate',
);
const recordArb = fc.record({
  quality: fc.double({ min: 0, max: 1, noNaN: true }),
  relevance: fc.double({ min: 0, max: 1, noNaN: true }),
  status: statusArb,
});
/** The attacker's records, how many accounts they split them over, and which account takes each record. */
const splitArb = fc
  .record({
    mine: fc.array(recordArb, { minLength: 1, maxLength: 60 }),
    others: fc.array(fc.record({ who: fc.integer({ min: 0, max: 5 }), r: recordArb }), { maxLength: 60 }),
    k: fc.integer({ min: 1, max: 100 }),
  })
  .chain(({ mine, others, k }) =>
    fc.record({
      mine: fc.constant(mine),
      others: fc.constant(others),
      k: fc.constant(k),
      accountOf: fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: mine.length, maxLength: mine.length }),
    }),
  );

describe('contributorWeights: splitting-proof', () => {
  it('splitting records across k accounts earns exactly what one account earns (never more)', () => {
    fc.assert(
      fc.property(splitArb, ({ mine, others, accountOf }) => {
        const base = others.map(({ who, r }) => ({ ...r, contributor: `other${who}` }));
        const single = contributorWeights([...base, ...mine.map((r) => ({ ...r, contributor: 'me' }))]);
        const split = contributorWeights([
          ...base,
          ...mine.map((r, i) => ({ ...r, contributor: `sybil${accountOf[i] ?? 0}` })),
        ]);
        const one = weightOf(single, 'me');
        const many = sum(split.filter((x) => x.contributor.startsWith('sybil')).map((x) => x.weight));
        expect(many).toBeLessThanOrEqual(one + 1e-12);
        expect(Math.abs(many - one)).toBeLessThan(1e-9);
        // Everyone else is paid the same whichever way the attacker splits.
        for (const o of single.filter((x) => x.contributor.startsWith('other')))
          expect(Math.abs(weightOf(split, o.contributor) - o.weight)).toBeLessThan(1e-9);
      }),
      { numRuns: 300 },
    );
  });

  it('adding duplicates, near-duplicates or rejected records never adds weight', () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 30 }),
        fc.array(
          fc.record({ r: recordArb, status: fc.constantFrom<RecordStatus>('rejected', 'duplicate', 'near-duplicate') }),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        (mine, junk) => {
          const others = [rec('o', 0.7, 0.7)];
          const before = weightOf(
            contributorWeights([...others, ...mine.map((r) => ({ ...r, contributor: 'me' }))]),
            'me',
          );
          const after = weightOf(
            contributorWeights([
              ...others,
              ...mine.map((r) => ({ ...r, contributor: 'me' })),
              ...junk.map(({ r, status }) => ({ ...r, status, contributor: 'me2' })),
            ]),
            'me2',
          );
          expect(after).toBe(0);
          expect(before).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it("a better record never lowers its owner's weight", () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 20 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (rs, bump) => {
          const records = rs.map((r, i) => ({
            ...r,
            status: 'accepted' as const,
            contributor: i === 0 ? 'me' : `c${i % 3}`,
          }));
          const [first, ...rest] = records;
          if (!first) return;
          const better = { ...first, quality: Math.max(first.quality, bump) };
          expect(weightOf(contributorWeights([better, ...rest]), 'me')).toBeGreaterThanOrEqual(
            weightOf(contributorWeights(records), 'me') - 1e-12,
          );
        },
      ),
    );
  });
});

describe('contributorWeights: the documented rule', () => {
  it('only accepted records earn; rawScore is the sum of (quality x relevance)^2', () => {
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
    expect(a.rawScore).toBeCloseTo(0.4 ** 2 + 1);
    expect(a.weight).toBe(1);
    expect([a.accepted, a.rejected]).toEqual([2, 2]);
    expect(b.rawScore).toBe(0);
    expect(b.weight).toBe(0);
    expect(b.rejected).toBe(2);
    expect(recordValue({ quality: 0.5, relevance: 0.5, status: 'accepted' })).toBeCloseTo(0.0625);
    expect(recordValue({ quality: 1, relevance: 1, status: 'rejected' })).toBe(0);
    expect(recordValue({ quality: 0.5, relevance: 0.5, status: 'accepted' }, { exponent: 1 })).toBeCloseTo(0.25);
    expect(() => recordValue({ quality: 1, relevance: 1, status: 'accepted' }, { exponent: 0.5 })).toThrow(/exponent/);
  });

  it('quality beats volume: one excellent record is worth four at half the quality, 5 excellent beat 20 poor', () => {
    const w = contributorWeights([rec('good', 1, 1), ...Array.from({ length: 4 }, () => rec('half', 0.5, 1))]);
    expect(weightOf(w, 'good')).toBeCloseTo(0.5, 12);
    const records = [
      ...Array.from({ length: 5 }, () => rec('good', 1, 1)),
      ...Array.from({ length: 20 }, () => rec('poor', 0.3, 0.3)),
    ];
    const w2 = contributorWeights(records);
    expect(w2[0]?.contributor).toBe('good');
    expect(weightOf(w2, 'poor')).toBeCloseTo((20 * 0.09 ** 2) / (5 + 20 * 0.09 ** 2), 12);
  });

  it('one account with 100 records earns what 100 accounts with one record each earn', () => {
    const one = contributorWeights([
      ...Array.from({ length: 100 }, () => rec('bulk', 0.5, 0.6)),
      ...Array.from({ length: 10 }, (_, i) => rec(`c${i}`, 0.5, 0.6)),
    ]);
    const many = contributorWeights([
      ...Array.from({ length: 100 }, (_, i) => rec(`bulk${i}`, 0.5, 0.6)),
      ...Array.from({ length: 10 }, (_, i) => rec(`c${i}`, 0.5, 0.6)),
    ]);
    expect(weightOf(one, 'bulk')).toBeCloseTo(100 / 110, 12);
    expect(sum(many.filter((x) => x.contributor.startsWith('bulk')).map((x) => x.weight))).toBeCloseTo(100 / 110, 12);
    expect(sum(one.map((x) => x.weight))).toBeCloseTo(1, 12);
  });

  it('all-zero input gives all-zero weights; output is deterministic', () => {
    expect(contributorWeights([rec('a', 1, 1, 'rejected'), rec('b', 0, 1)]).map((x) => x.weight)).toEqual([0, 0]);
    expect(contributorWeights([]).length).toBe(0);
    const w = contributorWeights([rec('z', 1, 1), rec('y', 1, 1)]);
    expect(w.map((x) => x.contributor)).toEqual(['y', 'z']);
  });

  it('weightsFromTotals matches contributorWeights on the same totals', () => {
    const records: ScoredRecordSummary[] = [
      rec('a', 0.9, 0.7),
      rec('a', 0.4, 0.5),
      rec('b', 1, 1),
      ...Array.from({ length: 6 }, () => rec('b', 0, 0, 'rejected')),
    ];
    const fromRecords = contributorWeights(records);
    const fromTotals = weightsFromTotals([
      { contributor: 'a', rawScore: (0.9 * 0.7) ** 2 + (0.4 * 0.5) ** 2, accepted: 2, rejected: 0 },
      { contributor: 'b', rawScore: 1, accepted: 1, rejected: 6 },
    ]);
    expect(fromTotals.map((x) => [x.contributor, x.weight.toFixed(12)])).toEqual(
      fromRecords.map((x) => [x.contributor, x.weight.toFixed(12)]),
    );
  });
});
