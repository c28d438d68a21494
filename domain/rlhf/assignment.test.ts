import { describe, expect, it } from 'vitest';
import { assignTasks, seedOf } from './assignment.js';

const tasks = Array.from({ length: 200 }, (_, i) => `t${i}`);

describe('assignTasks', () => {
  it('is deterministic given the seed, and differs across seeds', () => {
    const reviewers = ['a', 'b', 'c', 'd', 'e'].map((r, i) => ({ reviewer: r, stake: BigInt(100 * (i + 1)) }));
    const one = assignTasks({ taskIds: tasks, reviewers, perTask: 3, capPerReviewer: 1000, seed: 'round-1' });
    expect(
      assignTasks({
        taskIds: tasks,
        reviewers: [...reviewers].reverse(),
        perTask: 3,
        capPerReviewer: 1000,
        seed: 'round-1',
      }),
    ).toEqual(one);
    expect(assignTasks({ taskIds: tasks, reviewers, perTask: 3, capPerReviewer: 1000, seed: 'round-2' })).not.toEqual(
      one,
    );
    expect(seedOf('x')).toBe(seedOf('x'));
  });

  it('assigns distinct reviewers per task, by stake, never the unstaked or paused, within the cap', () => {
    const reviewers = [
      { reviewer: 'whale', stake: 9000n },
      { reviewer: 'small', stake: 1000n },
      ...Array.from({ length: 500 }, (_, i) => ({ reviewer: `sybil${i}`, stake: 0n })),
      { reviewer: 'paused', stake: 5000n, paused: true },
      ...Array.from({ length: 8 }, (_, i) => ({ reviewer: `r${i}`, stake: 1000n })),
    ];
    const out = assignTasks({ taskIds: tasks, reviewers, perTask: 3, capPerReviewer: 150, seed: 7 });
    const load = new Map<string, number>();
    for (const t of out) {
      expect(t.reviewers).toHaveLength(3);
      expect(new Set(t.reviewers).size).toBe(3);
      for (const r of t.reviewers) load.set(r, (load.get(r) ?? 0) + 1);
    }
    expect([...load.keys()].some((r) => r.startsWith('sybil') || r === 'paused')).toBe(false);
    for (const n of load.values()) expect(n).toBeLessThanOrEqual(150);
    // The whale is capped (150 of 200 tasks) but still drawn far more often than a 1000-stake reviewer.
    expect(load.get('whale')).toBe(150);
    expect(load.get('small')!).toBeLessThan(90);
    expect(load.get('small')!).toBeGreaterThan(20);
  });

  it('leaves a task short only when everyone eligible is at the cap', () => {
    const out = assignTasks({
      taskIds: ['a', 'b', 'c'],
      reviewers: [
        { reviewer: 'x', stake: 1n },
        { reviewer: 'y', stake: 1n },
      ],
      perTask: 2,
      capPerReviewer: 2,
      seed: 1,
    });
    expect(out.map((t) => t.reviewers.length)).toEqual([2, 2, 0]);
  });
});
