/**
 * Stake-weighted consensus for one review task: the choice with the most weight wins; ties go to
 * the choice the model ranked higher (the candidates' order), so the result is deterministic.
 */
export interface Answer {
  reviewer: string;
  choice: string;
  weight: bigint;
}

export function consensusOf(candidates: string[], answers: Answer[]): { choice: string; share: number } | undefined {
  if (answers.length === 0) return undefined;
  const totals = new Map<string, bigint>();
  let all = 0n;
  for (const a of answers) {
    totals.set(a.choice, (totals.get(a.choice) ?? 0n) + a.weight);
    all += a.weight;
  }
  let best: string | undefined;
  let bestWeight = -1n;
  for (const c of candidates) {
    const w = totals.get(c) ?? 0n;
    if (w > bestWeight) {
      best = c;
      bestWeight = w;
    }
  }
  return { choice: best!, share: all === 0n ? 0 : Number((bestWeight * 1_000_000n) / all) / 1_000_000 };
}

/**
 * The penalty rule: a reviewer who answered at least `minAnswers` tasks in a round and disagreed
 * with consensus on more than `tolerance` of them is penalised (from validator stake).
 */
export function persistentDisagreers(
  answers: { reviewer: string; agreed: boolean }[],
  tolerance: number,
  minAnswers = 2,
): string[] {
  const stats = new Map<string, { n: number; disagreed: number }>();
  for (const a of answers) {
    const s = stats.get(a.reviewer) ?? { n: 0, disagreed: 0 };
    s.n++;
    if (!a.agreed) s.disagreed++;
    stats.set(a.reviewer, s);
  }
  return [...stats.entries()]
    .filter(([, s]) => s.n >= minAnswers && s.disagreed / s.n > tolerance)
    .map(([r]) => r)
    .sort();
}
