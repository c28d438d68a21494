import { describe, expect, it } from 'vitest';
import { krippendorffAlphaNominal, krippendorffAlphaPerReviewer, type UnitValue } from './krippendorff.js';

/** Rows are reviewers, columns units; null = no value. */
function units(rows: Record<string, (string | number | null)[]>): UnitValue[][] {
  const n = Math.max(...Object.values(rows).map((r) => r.length));
  return Array.from({ length: n }, (_, u) =>
    Object.entries(rows).flatMap(([reviewer, vals]) => {
      const v = vals[u];
      return v === null || v === undefined ? [] : [{ reviewer, value: String(v) }];
    }),
  );
}

describe("Krippendorff's alpha (nominal)", () => {
  it('matches the published value for two coders on binary data (Krippendorff 2011: 0.095)', () => {
    const data = units({
      A: [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
      B: [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
    });
    expect(krippendorffAlphaNominal(data)).toBeCloseTo(1 - (19 * 8) / (2 * 14 * 6), 12);
    expect(krippendorffAlphaNominal(data)).toBeCloseTo(0.095, 3);
  });

  it('matches the published value for four coders with missing values (Krippendorff 2011: 0.743)', () => {
    const data = units({
      A: [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
      B: [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3],
      C: [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null],
      D: [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
    });
    expect(krippendorffAlphaNominal(data)).toBeCloseTo(0.743, 3);
  });

  it('is 1 for perfect agreement, negative for systematic disagreement, undefined without variation', () => {
    expect(krippendorffAlphaNominal(units({ A: ['x', 'y', 'x'], B: ['x', 'y', 'x'] }))).toBe(1);
    expect(krippendorffAlphaNominal(units({ A: ['x', 'y', 'x', 'y'], B: ['y', 'x', 'y', 'x'] }))).toBeLessThan(0);
    expect(krippendorffAlphaNominal(units({ A: ['x', 'x'], B: ['x', 'x'] }))).toBeUndefined();
    expect(krippendorffAlphaNominal(units({ A: ['x', 'y'] }))).toBeUndefined(); // nothing pairable
  });

  it('per reviewer: 1 for the reviewer who always matches, lower for the one who does not', () => {
    const data = units({
      A: ['x', 'y', 'x', 'y', 'x', 'y'],
      B: ['x', 'y', 'x', 'y', 'x', 'y'],
      C: ['x', 'y', 'x', 'y', 'x', 'y'],
      D: ['y', 'x', 'y', 'x', 'x', 'y'],
    });
    const per = Object.fromEntries(krippendorffAlphaPerReviewer(data).map((r) => [r.reviewer, r]));
    expect(per.D?.alpha ?? NaN).toBeLessThan(0);
    expect(per.A?.alpha ?? NaN).toBeGreaterThan(0.5);
    expect(per.A?.units).toBe(6);
    // Hand-computed: n = 24, n_x = n_y = 12, D_e = (24^2 - 2 * 12^2) / (24 * 23) = 288 / 552.
    // D disagrees with all 3 others on 4 units: D_o(D) = 4 / 6; A disagrees with 1 of 3 on 4 units: D_o(A) = (4/3) / 6.
    const de = 288 / 552;
    expect(per.D?.alpha ?? NaN).toBeCloseTo(1 - 4 / 6 / de, 12);
    expect(per.A?.alpha ?? NaN).toBeCloseTo(1 - 4 / 3 / 6 / de, 12);
  });
});
