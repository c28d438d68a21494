import { describe, expect, it } from 'vitest';
import { assignPausedReviewers, assignTasks, seedOf } from './assignment.js';

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

  it('draws paused reviewers by the same rule, on top of the active draw, and blind to gold', () => {
    const active = Array.from({ length: 6 }, (_, i) => ({ reviewer: `a${i}`, stake: 1000n }));
    const paused = [
      { reviewer: 'p0', stake: 1000n, paused: true },
      { reviewer: 'p1', stake: 3000n, paused: true },
      { reviewer: 'p-unstaked', stake: 0n, paused: true },
    ];
    const reviewers = [...active, ...paused];
    const ids = tasks.slice(0, 40);
    const draw = { taskIds: ids, perTask: 3, capPerReviewer: 25, seed: 'wf:3' };
    const activeDraw = assignTasks({ ...draw, reviewers });
    const pausedDraw = assignPausedReviewers({ ...draw, reviewers });
    // The active draw is exactly what it is without any paused reviewer: nobody paused takes an active slot.
    expect(activeDraw).toEqual(assignTasks({ ...draw, reviewers: active }));
    for (const t of activeDraw) expect(t.reviewers).toHaveLength(3);
    // Paused reviewers with stake get tasks, within the cap, never the unstaked one, never an active one.
    const load = new Map<string, string[]>();
    for (const t of pausedDraw) for (const r of t.reviewers) load.set(r, [...(load.get(r) ?? []), t.taskId]);
    expect([...load.keys()].sort()).toEqual(['p0', 'p1']);
    for (const mine of load.values()) {
      expect(mine.length).toBeLessThanOrEqual(25);
      expect(new Set(mine).size).toBe(mine.length);
    }
    // Deterministic given the seed.
    expect(assignPausedReviewers({ ...draw, reviewers: [...reviewers].reverse() })).toEqual(pausedDraw);
    // A mix, not gold only: over many seeds, the share of a paused reviewer's tasks that are gold is
    // the share of gold among the tasks (here every 5th task is gold: 20%).
    const gold = new Set(ids.filter((_, i) => i % 5 === 0));
    let mine = 0;
    let mineGold = 0;
    for (let s = 0; s < 200; s++) {
      const order = [...ids].sort((x, y) => seedOf(`${s}:${x}`) - seedOf(`${s}:${y}`));
      for (const t of assignPausedReviewers({ ...draw, reviewers, taskIds: order, seed: s, capPerReviewer: 8 }))
        if (t.reviewers.includes('p0')) {
          mine++;
          if (gold.has(t.taskId)) mineGold++;
        }
    }
    expect(mine).toBeGreaterThan(500);
    expect(mineGold / mine).toBeGreaterThan(0.15);
    expect(mineGold / mine).toBeLessThan(0.25);
  });
});
