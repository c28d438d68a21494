/**
 * Generation metrics against a reference response, on lower-cased word tokens: token-level F1
 * (SQuAD style, bag of words) and ROUGE-L F1 (longest common subsequence). Both are in [0, 1].
 */
import { wordTokens } from '../../domain/data/tokenize.js';

/** Longest answers compared in full; beyond this the LCS table would cost too much per call. */
const MAX_TOKENS = 2000;

export function tokenF1(prediction: string, reference: string): number {
  const p = wordTokens(prediction, MAX_TOKENS);
  const r = wordTokens(reference, MAX_TOKENS);
  if (p.length === 0 || r.length === 0) return p.length === r.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      common++;
      counts.set(t, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}

export function rougeL(prediction: string, reference: string): number {
  const p = wordTokens(prediction, MAX_TOKENS);
  const r = wordTokens(reference, MAX_TOKENS);
  if (p.length === 0 || r.length === 0) return p.length === r.length ? 1 : 0;
  // One row of the LCS table at a time.
  let prev = new Uint32Array(r.length + 1);
  let cur = new Uint32Array(r.length + 1);
  for (const pt of p) {
    for (let j = 1; j <= r.length; j++) cur[j] = pt === r[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    [prev, cur] = [cur, prev];
  }
  const lcs = prev[r.length]!;
  if (lcs === 0) return 0;
  const precision = lcs / p.length;
  const recall = lcs / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Mean token-F1 and ROUGE-L over (answer, reference) pairs, as the lifecycle's EvalMetrics. */
export function generationMetrics(pairs: { answer: string; reference: string }[]): {
  accuracy: number;
  macroF1: number;
  loss: number;
  examples: number;
} {
  if (pairs.length === 0) return { accuracy: 0, macroF1: 0, loss: 1, examples: 0 };
  let f1 = 0;
  let rl = 0;
  for (const { answer, reference } of pairs) {
    f1 += tokenF1(answer, reference);
    rl += rougeL(answer, reference);
  }
  const accuracy = f1 / pairs.length;
  return { accuracy, macroF1: rl / pairs.length, loss: 1 - accuracy, examples: pairs.length };
}
