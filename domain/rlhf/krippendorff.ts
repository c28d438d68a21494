// Krippendorff's alpha for nominal data, from the coincidence matrix (Krippendorff, "Computing
// Krippendorff's Alpha-Reliability", 2011):
//   o[c][k] = sum over units u with m_u >= 2 values of (number of ordered pairs of values (c, k)
//             from different reviewers in u) / (m_u - 1);
//   n_c = sum_k o[c][k], n = sum_c n_c;
//   alpha = 1 - D_o / D_e, D_o = sum_{c != k} o[c][k] / n, D_e = sum_{c != k} n_c n_k / (n (n - 1)).
// Units with fewer than two values are not pairable and are ignored.
//
// Per reviewer: alpha_r = 1 - D_o(r) / D_e, where D_e is the round's expected disagreement and
// D_o(r) is the observed disagreement over the pairs that involve r, weighted as in the matrix
// (each of r's pairable units counts once: the share of the unit's other values that differ from
// r's). A reviewer who always matches the others scores 1, one at chance level about 0, one who
// systematically contradicts them below 0.

export interface UnitValue {
  reviewer: string;
  value: string;
}

interface Coincidences {
  /** Sum over c != k of o[c][k]. */
  disagreeing: number;
  /** n_c per value. */
  marginals: Map<string, number>;
  n: number;
}

function coincidences(units: readonly (readonly UnitValue[])[]): Coincidences {
  const marginals = new Map<string, number>();
  let disagreeing = 0;
  let n = 0;
  for (const unit of units) {
    const m = unit.length;
    if (m < 2) continue;
    const counts = new Map<string, number>();
    for (const v of unit) counts.set(v.value, (counts.get(v.value) ?? 0) + 1);
    for (const [c, nc] of counts) {
      // Each value c appears nc times; each occurrence pairs with the m - 1 others.
      marginals.set(c, (marginals.get(c) ?? 0) + nc);
      disagreeing += (nc * (m - nc)) / (m - 1);
    }
    n += m;
  }
  return { disagreeing, marginals, n };
}

function expectedDisagreement(c: Coincidences): number {
  if (c.n < 2) return 0;
  let sumSq = 0;
  for (const nc of c.marginals.values()) sumSq += nc * nc;
  return (c.n * c.n - sumSq) / (c.n * (c.n - 1));
}

/**
 * Alpha over a set of units (each the values the reviewers gave one item). Undefined when fewer
 * than two pairable values exist or all values are the same (no variation: alpha is undefined).
 */
export function krippendorffAlphaNominal(units: readonly (readonly UnitValue[])[]): number | undefined {
  const c = coincidences(units);
  const de = expectedDisagreement(c);
  if (c.n < 2 || de === 0) return undefined;
  return 1 - c.disagreeing / c.n / de;
}

/** alpha_r for every reviewer with at least one pairable unit (see the header), sorted by reviewer. */
export function krippendorffAlphaPerReviewer(
  units: readonly (readonly UnitValue[])[],
): { reviewer: string; alpha: number | undefined; units: number }[] {
  const de = expectedDisagreement(coincidences(units));
  const acc = new Map<string, { disagree: number; units: number }>();
  for (const unit of units) {
    const m = unit.length;
    if (m < 2) continue;
    for (const v of unit) {
      let differ = 0;
      for (const w of unit) if (w !== v && w.value !== v.value) differ++;
      const a = acc.get(v.reviewer) ?? { disagree: 0, units: 0 };
      a.disagree += differ / (m - 1);
      a.units++;
      acc.set(v.reviewer, a);
    }
  }
  return [...acc.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([reviewer, a]) => ({
      reviewer,
      alpha: de === 0 ? undefined : 1 - a.disagree / a.units / de,
      units: a.units,
    }));
}
