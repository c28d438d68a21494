import { describe, expect, it } from 'vitest';
import { consensusOf, persistentDisagreers } from './consensus.js';

describe('stake-weighted consensus', () => {
  it('picks the choice with the most weight, not the most heads', () => {
    const c = consensusOf(
      ['spam', 'ham'],
      [
        { reviewer: 'a', choice: 'spam', weight: 1n },
        { reviewer: 'b', choice: 'spam', weight: 1n },
        { reviewer: 'v', choice: 'ham', weight: 201n },
      ],
    );
    expect(c?.choice).toBe('ham');
    expect(c?.share).toBeCloseTo(201 / 203, 5);
  });

  it('breaks ties by the candidate order and returns nothing without answers', () => {
    expect(
      consensusOf(
        ['spam', 'ham'],
        [
          { reviewer: 'a', choice: 'ham', weight: 5n },
          { reviewer: 'b', choice: 'spam', weight: 5n },
        ],
      )?.choice,
    ).toBe('spam');
    expect(consensusOf(['spam', 'ham'], [])).toBeUndefined();
  });

  it('flags reviewers who disagree more often than the tolerance over at least two answers', () => {
    const answers = [
      ...['t1', 't2', 't3', 't4'].map(() => ({ reviewer: 'honest', agreed: true })),
      { reviewer: 'coin', agreed: false },
      { reviewer: 'coin', agreed: true },
      { reviewer: 'coin', agreed: false },
      { reviewer: 'once', agreed: false },
    ];
    expect(persistentDisagreers(answers, 0.5)).toEqual(['coin']);
    expect(persistentDisagreers(answers, 0.7)).toEqual([]);
  });
});
