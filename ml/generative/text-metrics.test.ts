import { describe, expect, it } from 'vitest';
import { generationMetrics, rougeL, tokenF1 } from './text-metrics.js';

describe('generation metrics', () => {
  it('token-F1 is 1 for the same words, 0 for disjoint ones, and counts repeated words once each', () => {
    expect(tokenF1('Rest and drink water', 'rest and drink WATER.')).toBe(1);
    expect(tokenF1('ice the ankle', 'take antihistamines')).toBe(0);
    // pred: the the cat (3), ref: the cat sat (3); common: the, cat = 2 → P = R = 2/3.
    expect(tokenF1('the the cat', 'the cat sat')).toBeCloseTo(2 / 3, 10);
  });

  it('ROUGE-L rewards order: the same words shuffled score below the original', () => {
    expect(rougeL('a b c d', 'a b c d')).toBe(1);
    // LCS of "d c b a" and "a b c d" is 1 → P = R = 1/4.
    expect(rougeL('d c b a', 'a b c d')).toBeCloseTo(0.25, 10);
    expect(tokenF1('d c b a', 'a b c d')).toBe(1);
  });

  it('maps means onto EvalMetrics (accuracy = token-F1, macroF1 = ROUGE-L, loss = 1 − accuracy)', () => {
    const m = generationMetrics([
      { answer: 'a b', reference: 'a b' },
      { answer: 'x', reference: 'a b' },
    ]);
    expect(m).toEqual({ accuracy: 0.5, macroF1: 0.5, loss: 0.5, examples: 2 });
    expect(generationMetrics([])).toEqual({ accuracy: 0, macroF1: 0, loss: 1, examples: 0 });
  });
});
