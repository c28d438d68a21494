import { describe, expect, it } from 'vitest';
import { extendAssignments, lowAgreementItems, shuffleTasks } from './review-round.js';

describe('staked round steps', () => {
  it('shuffles tasks by seed: the same seed gives the same order, gold items do not sit at the end', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `t${i}`);
    expect(shuffleTasks(ids, 'a')).toEqual(shuffleTasks(ids, 'a'));
    expect(shuffleTasks(ids, 'a')).not.toEqual(shuffleTasks(ids, 'b'));
    expect([...shuffleTasks(ids, 'a')].sort()).toEqual([...ids].sort());
    const withGold = [...ids, 'gold1', 'gold2'];
    const positions = ['x', 'y', 'z', 'w'].map((seed) => shuffleTasks(withGold, seed).indexOf('gold1'));
    expect(positions.some((p) => p < withGold.length - 2)).toBe(true);
  });

  it('flags items without a clear stake majority, never gold items', () => {
    const stakes = new Map([
      ['a', 3000n],
      ['b', 1000n],
      ['c', 1000n],
    ]);
    const items = [
      { id: 'clear', candidates: ['x', 'y'], gold: false },
      { id: 'split', candidates: ['x', 'y'], gold: false },
      { id: 'unanswered', candidates: ['x', 'y'], gold: false },
      { id: 'gold', candidates: ['x', 'y'], gold: true },
    ];
    const answers = new Map([
      [
        'clear',
        [
          { reviewer: 'a', choice: 'x' },
          { reviewer: 'b', choice: 'x' },
        ],
      ],
      [
        'split',
        [
          { reviewer: 'a', choice: 'x' },
          { reviewer: 'b', choice: 'y' },
          { reviewer: 'c', choice: 'y' },
        ],
      ],
      ['gold', [{ reviewer: 'b', choice: 'y' }]],
    ]);
    // split: x has 3000 of 5000 = 0.6 < 0.75.
    expect(lowAgreementItems({ items, answers, stakes, minSupport: 0.75 })).toEqual(['split', 'unanswered']);
  });

  it('weighs answers as settlement does when it knows who is on each item: a whale against one other is split', () => {
    const stakes = new Map([
      ['whale', 1_000_000n],
      ['b', 1000n],
    ]);
    const items = [{ id: 't', candidates: ['x', 'y'], gold: false }];
    const answers = new Map([
      [
        't',
        [
          { reviewer: 'whale', choice: 'x' },
          { reviewer: 'b', choice: 'y' },
        ],
      ],
    ]);
    expect(lowAgreementItems({ items, answers, stakes, minSupport: 0.75 })).toEqual([]);
    const assigned = new Map([['t', ['whale', 'b']]]);
    expect(lowAgreementItems({ items, answers, stakes, minSupport: 0.75, assigned })).toEqual(['t']);
  });

  it('extends only with reviewers not yet on the item and below the cap', () => {
    const reviewers = ['a', 'b', 'c', 'd'].map((reviewer) => ({ reviewer, stake: 1000n }));
    const assignments = [
      { taskId: 't1', reviewers: ['a', 'b'] },
      { taskId: 't2', reviewers: ['c', 'a'] },
    ];
    const extra = extendAssignments({ itemIds: ['t1'], assignments, reviewers, extra: 2, cap: 2, seed: 's' });
    // a is at the cap, b is already on t1: only c and d can join.
    expect(extra).toEqual([{ taskId: 't1', reviewers: expect.arrayContaining(['c', 'd']) as string[] }]);
    expect(extra[0]?.reviewers).toHaveLength(2);
    expect(extendAssignments({ itemIds: ['t1'], assignments, reviewers, extra: 2, cap: 1, seed: 's' })).toEqual([
      { taskId: 't1', reviewers: ['d'] },
    ]);
  });
});
