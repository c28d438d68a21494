// What a weight means: a linear-datamodeling-score (LDS) check of attribution methods against
// retraining. The training records are split into groups (contributors); for many random subsets S
// holding half of the groups, the model is retrained without S and the change of its output on
// each query is measured. A method predicts that change as the sum of its weights over S's groups
// (removing what an answer drew on should lower it); LDS is the Spearman correlation between
// predicted and actual changes over the subsets, averaged over queries. 1 = the weights rank the
// subsets' effects perfectly, 0 = they say nothing about them.
import { mulberry32 } from '../domain/prng.js';

/** `count` subsets of `groups`, each holding half of them (seeded, so every method sees the same). */
export function halfSubsets(groups: readonly string[], count: number, seed: number): Set<string>[] {
  const rand = mulberry32(seed);
  const out: Set<string>[] = [];
  for (let s = 0; s < count; s++) {
    const shuffled = [...groups];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    out.push(new Set(shuffled.slice(0, Math.floor(groups.length / 2))));
  }
  return out;
}

/** Ranks with ties averaged (1-based). */
function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length).fill(0);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation; 0 when either side is constant (a method that names nothing says nothing). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (ra.length + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    const da = ra[i]! - mean;
    const db = rb[i]! - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Mean and a normal 95% interval of the mean. */
export function meanInterval(xs: readonly number[]): { mean: number; lo: number; hi: number } {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  const half = (1.96 * sd) / Math.sqrt(n);
  return { mean, lo: mean - half, hi: mean + half };
}

/** Per-contributor weights of one query under one method (absent = 0). */
export type GroupWeights = ReadonlyMap<string, number>;

/**
 * LDS of each method. `actual[s][q]` is the change of the output on query q when the model is
 * retrained without subsets[s]; `weights[method][q]` the method's group weights for query q. The
 * predicted change is minus the weight S removes.
 */
export function lds(
  subsets: readonly Set<string>[],
  actual: readonly (readonly number[])[],
  weights: Readonly<Record<string, readonly GroupWeights[]>>,
): Record<string, { mean: number; lo: number; hi: number; named: number }> {
  const out: Record<string, { mean: number; lo: number; hi: number; named: number }> = {};
  for (const [method, perQuery] of Object.entries(weights)) {
    const scores = perQuery.map((w, q) => {
      const predicted = subsets.map((S) => {
        let removed = 0;
        for (const [g, v] of w) if (S.has(g)) removed += v;
        return -removed;
      });
      return spearman(
        predicted,
        actual.map((row) => row[q]!),
      );
    });
    out[method] = { ...meanInterval(scores), named: perQuery.filter((w) => w.size > 0).length / perQuery.length };
  }
  return out;
}

export const weightsOf = (contributors: readonly { contributor: string; weight: number }[]): GroupWeights =>
  new Map(contributors.map((c) => [c.contributor, c.weight]));
