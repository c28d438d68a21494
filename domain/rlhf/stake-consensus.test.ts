import { describe, expect, it } from 'vitest';
import { DEFAULT_REVIEW_RULES, goldGate, itemWeights, settleReviewRound, stakeConsensus } from './stake-consensus.js';

describe('stakeConsensus', () => {
  it('weighs bonded stake only: 500 unstaked accounts weigh nothing', () => {
    const answers = [
      ...Array.from({ length: 500 }, (_, i) => ({ reviewer: `s${i}`, choice: 'B', stake: 0n })),
      { reviewer: 'v', choice: 'A', stake: 10n },
    ];
    expect(stakeConsensus(['A', 'B'], answers)).toEqual({ choice: 'A', support: 1, resolved: true });
    expect(stakeConsensus(['A', 'B'], answers.slice(0, 500))).toEqual({
      choice: undefined,
      support: 0,
      resolved: false,
    });
  });

  it('resolves only to a candidate backed by more than kappa of the stake (clipping)', () => {
    const c = stakeConsensus(
      ['A', 'B', 'C'],
      [
        { reviewer: 'a', choice: 'A', stake: 40n },
        { reviewer: 'b', choice: 'B', stake: 35n },
        { reviewer: 'c', choice: 'C', stake: 25n },
      ],
    );
    expect(c).toEqual({ choice: undefined, support: 0.4, resolved: false });
    const half = stakeConsensus(
      ['A', 'B'],
      [
        { reviewer: 'a', choice: 'A', stake: 5n },
        { reviewer: 'b', choice: 'B', stake: 5n },
      ],
    );
    expect(half.resolved).toBe(false); // exactly half is not a majority
    expect(stakeConsensus(['A', 'B'], [{ reviewer: 'a', choice: 'A', stake: 5n }], 0.3).choice).toBe('A');
  });
});

describe('goldGate', () => {
  it('uses the 8-of-10 prior and pauses below 0.7', () => {
    expect(goldGate(0, 0)).toEqual({ accuracy: 0.8, paused: false });
    expect(goldGate(0, 1).paused).toBe(false); // 8/11: one early miss is forgiven
    expect(goldGate(0, 2).paused).toBe(true); // 8/12
    expect(goldGate(5, 10)).toEqual({ accuracy: 0.65, paused: true }); // a coin flip is caught
    expect(goldGate(9, 10)).toEqual({ accuracy: 0.85, paused: false });
    expect(DEFAULT_REVIEW_RULES.penaltyRate).toBeGreaterThan(DEFAULT_REVIEW_RULES.rewardRate);
  });
});

const T1 = { id: 't1', candidates: ['A', 'B'] };
const G1 = { id: 'g1', candidates: ['A', 'B'], gold: 'A' };
const items = [T1, { id: 't2', candidates: ['A', 'B'] }, { id: 't3', candidates: ['A', 'B'] }, G1];
const M = 1_000_000n; // stake in micro-units

describe('settleReviewRound', () => {
  it('rewards stake x agreement, slashes stake x disagreement, ignores unstaked accounts', () => {
    const answers = [
      ...['t1', 't2', 't3', 'g1'].flatMap((taskId) => [
        { taskId, reviewer: 'h1', choice: 'A' },
        { taskId, reviewer: 'h2', choice: 'A' },
      ]),
      { taskId: 't1', reviewer: 'coin', choice: 'A' },
      { taskId: 't2', reviewer: 'coin', choice: 'B' },
      { taskId: 't3', reviewer: 'coin', choice: 'B' },
      ...['t1', 't2', 't3'].map((taskId) => ({ taskId, reviewer: 'sybil', choice: 'B' })),
    ];
    const s = settleReviewRound({
      items,
      answers,
      reviewers: [
        { reviewer: 'h1', stake: 1000n * M, goldCorrect: 0, goldAnswered: 0 },
        { reviewer: 'h2', stake: 500n * M, goldCorrect: 0, goldAnswered: 0 },
        { reviewer: 'coin', stake: 1000n * M, goldCorrect: 0, goldAnswered: 0 },
        { reviewer: 'sybil', stake: 0n, goldCorrect: 0, goldAnswered: 0 },
      ],
    });
    expect(s.items.map((i) => i.choice)).toEqual(['A', 'A', 'A', 'A']);
    const by = Object.fromEntries(s.reviewers.map((r) => [r.reviewer, r]));
    // h1: 4 of 4 resolved items agreed: 0.2% of 1000.
    expect(by.h1?.reward).toBe(2n * M);
    expect(by.h2?.reward).toBe(1n * M);
    expect(by.h1?.penalty).toBe(0n);
    // coin: 1 of 3 agreed, 2 of 3 disagreed: reward 1000 x 0.002 / 3, penalty 1000 x 0.006 x 2/3.
    expect(by.coin?.reward).toBe((1000n * M * 2000n) / (1_000_000n * 3n));
    expect(by.coin?.penalty).toBe(4n * M);
    expect((by.coin?.reward ?? 0n) - (by.coin?.penalty ?? 0n)).toBeLessThan(0n);
    expect(by.sybil?.reward).toBe(0n);
    expect(by.sybil?.penalty).toBe(0n);
    expect(by.h1?.goldAnswered).toBe(1);
  });

  it('splitting stake across accounts earns the same; a stake majority is needed; the budget caps rewards', () => {
    const other = { reviewer: 'other', stake: 500n * M, goldCorrect: 0, goldAnswered: 0 };
    const third = { reviewer: 'third', stake: 400n * M, goldCorrect: 0, goldAnswered: 0 };
    const reviewers = [{ reviewer: 'whale', stake: 600n * M, goldCorrect: 0, goldAnswered: 0 }, other, third];
    const answers = ['t1', 't2', 't3'].flatMap((taskId) => [
      { taskId, reviewer: 'whale', choice: 'A' },
      { taskId, reviewer: 'other', choice: 'B' },
      { taskId, reviewer: 'third', choice: 'A' },
    ]);
    // One bond never outweighs all the others on an item together: 600 against 500 alone resolves nothing.
    const alone = settleReviewRound({
      items: items.slice(0, 3),
      answers: answers.filter((x) => x.reviewer !== 'third'),
      reviewers: reviewers.slice(0, 2),
    });
    expect(alone.items.every((i) => !i.resolved && i.support === 0.5)).toBe(true);
    expect(alone.reviewers.every((r) => r.reward === 0n && r.penalty === 0n)).toBe(true);
    const one = settleReviewRound({ items: items.slice(0, 3), answers, reviewers });
    const split = settleReviewRound({
      items: items.slice(0, 3),
      answers: answers.flatMap((x) =>
        x.reviewer === 'whale' ? [0, 1, 2].map((k) => ({ ...x, reviewer: `w${k}` })) : [x],
      ),
      reviewers: [
        ...[0, 1, 2].map((k) => ({ reviewer: `w${k}`, stake: 200n * M, goldCorrect: 0, goldAnswered: 0 })),
        other,
        third,
      ],
    });
    const sumOf = (s: typeof one, p: string) =>
      s.reviewers.filter((r) => r.reviewer.startsWith(p)).reduce((t, r) => t + r.reward - r.penalty, 0n);
    expect(sumOf(split, 'w')).toBe(sumOf(one, 'whale'));
    expect(one.items.every((i) => i.choice === 'A')).toBe(true);
    const capped = settleReviewRound({ items: items.slice(0, 3), answers, reviewers, rewardBudget: 600_000n });
    expect(capped.reviewers.reduce((t, r) => t + r.reward, 0n)).toBeLessThanOrEqual(600_000n);
  });

  it('a whale beside three honest reviewers decides nothing alone; its reward is capped per agreed answer', () => {
    const whale = { reviewer: 'whale', stake: 10n ** 12n * M, goldCorrect: 0, goldAnswered: 0 };
    const honest = ['h1', 'h2', 'h3'].map((reviewer) => ({
      reviewer,
      stake: 1000n * M,
      goldCorrect: 0,
      goldAnswered: 0,
    }));
    const ids = ['t1', 't2', 't3'];
    const assignments = ids.map((taskId) => ({ taskId, reviewers: ['whale', 'h1', 'h2', 'h3'] }));
    const answers = ids.flatMap((taskId) => [
      { taskId, reviewer: 'whale', choice: 'B' },
      ...['h1', 'h2', 'h3'].map((reviewer) => ({ taskId, reviewer, choice: 'A' })),
    ]);
    const s = settleReviewRound({
      items: items.slice(0, 3),
      answers,
      reviewers: [whale, ...honest],
      assignments,
      unansweredCountsAgainst: true,
      agreementReward: 2n * M,
    });
    expect(s.items.every((i) => !i.resolved)).toBe(true);
    expect(s.reviewers.every((r) => r.penalty === 0n)).toBe(true);
    // With one honest reviewer on its side it resolves, and earns at most 2 per agreed answer.
    const sided = settleReviewRound({
      items: items.slice(0, 3),
      answers: answers.map((x) => (x.reviewer === 'h1' ? { ...x, choice: 'B' } : x)),
      reviewers: [whale, ...honest],
      assignments,
      agreementReward: 2n * M,
      persistentDisagreement: { penalty: 10n * M, tolerance: 0.5 },
    });
    expect(sided.items.every((i) => i.choice === 'B')).toBe(true);
    const by = Object.fromEntries(sided.reviewers.map((r) => [r.reviewer, r]));
    expect(by.whale?.reward).toBe(6n * M);
    // h2 and h3 disagreed on every item: 1000 x 0.6% x 3/3, plus 10 per disagreed answer.
    expect(by.h2?.penalty).toBe(6n * M + 30n * M);
  });

  it('weighs each reviewer on an item at most as much as the others together', () => {
    expect(itemWeights(new Map([['a', 10n]]))).toEqual(new Map([['a', 10n]]));
    expect(
      itemWeights(
        new Map([
          ['a', 10n],
          ['b', 3n],
          ['c', 4n],
        ]),
      ),
    ).toEqual(
      new Map([
        ['a', 7n],
        ['b', 3n],
        ['c', 4n],
      ]),
    );
    expect(
      itemWeights(
        new Map([
          ['a', 5n],
          ['b', 5n],
        ]),
      ),
    ).toEqual(
      new Map([
        ['a', 5n],
        ['b', 5n],
      ]),
    );
  });

  it('the gold gate pauses a reviewer (no weight, no reward) until their accuracy recovers', () => {
    const h = { reviewer: 'h', stake: 100n * M, goldCorrect: 0, goldAnswered: 0 };
    const badReviewer = { reviewer: 'bad', stake: 1000n * M, goldCorrect: 0, goldAnswered: 2 };
    const reviewers = [h, badReviewer];
    // 'bad' has missed two gold items already and misses this one too; its big stake would win t1.
    const s = settleReviewRound({
      items: [T1, G1],
      answers: [
        { taskId: 't1', reviewer: 'h', choice: 'A' },
        { taskId: 't1', reviewer: 'bad', choice: 'B' },
        { taskId: 'g1', reviewer: 'h', choice: 'A' },
        { taskId: 'g1', reviewer: 'bad', choice: 'B' },
      ],
      reviewers,
    });
    const bad = s.reviewers.find((r) => r.reviewer === 'bad')!;
    expect(s.items[0]?.choice).toBe('A');
    expect(bad.paused).toBe(true);
    expect(bad.reward).toBe(0n);
    expect(bad.penalty).toBe(6n * M);
    // Next round, paused: neither weight nor reward nor penalty.
    const next = settleReviewRound({
      items: [T1],
      answers: [
        { taskId: 't1', reviewer: 'h', choice: 'A' },
        { taskId: 't1', reviewer: 'bad', choice: 'B' },
      ],
      reviewers: [h, { ...badReviewer, goldAnswered: 3, paused: true }],
    });
    expect(next.items[0]?.support).toBe(1);
    const b2 = next.reviewers.find((r) => r.reviewer === 'bad')!;
    expect([b2.reward, b2.penalty, b2.paused]).toEqual([0n, 0n, true]);
  });

  it('counts assigned but unanswered items as neither agreement nor disagreement; ignores unassigned answers', () => {
    const s = settleReviewRound({
      items: items.slice(0, 2),
      answers: [
        { taskId: 't1', reviewer: 'a', choice: 'A' },
        { taskId: 't2', reviewer: 'a', choice: 'B' }, // not assigned t2: ignored
        { taskId: 't2', reviewer: 'b', choice: 'A' },
      ],
      assignments: [
        { taskId: 't1', reviewers: ['a', 'b'] },
        { taskId: 't2', reviewers: ['b'] },
      ],
      reviewers: [
        { reviewer: 'a', stake: 1000n * M, goldCorrect: 0, goldAnswered: 0 },
        { reviewer: 'b', stake: 1000n * M, goldCorrect: 0, goldAnswered: 0 },
      ],
    });
    const b = s.reviewers.find((r) => r.reviewer === 'b')!;
    expect([b.assigned, b.resolved, b.agreed, b.disagreed]).toEqual([2, 2, 1, 0]);
    expect(b.reward).toBe(1n * M);
    const a = s.reviewers.find((r) => r.reviewer === 'a')!;
    expect([a.assigned, a.agreed, a.disagreed]).toEqual([1, 1, 0]);
  });

  it('a paused reviewer: only its gold answers count (no weight, reward or agreement; only an item it left unanswered costs it), and it recovers', () => {
    // 'p' missed 2 of its first 3 gold items: (1 + 8) / (3 + 10) = 0.69, paused. Its stake is the
    // largest, so if its answers weighed anything they would decide t1 and t2.
    const pausedReviewer = { reviewer: 'p', stake: 5000n * M, goldCorrect: 1, goldAnswered: 3, paused: true };
    expect(goldGate(1, 3).paused).toBe(true);
    const reviewers = [
      { reviewer: 'h1', stake: 1000n * M, goldCorrect: 0, goldAnswered: 0 },
      { reviewer: 'h2', stake: 1000n * M, goldCorrect: 0, goldAnswered: 0 },
      pausedReviewer,
    ];
    const assignments = ['t1', 't2', 't3', 'g1'].map((taskId) => ({ taskId, reviewers: ['h1', 'h2', 'p'] }));
    const honest = ['t1', 't2', 't3', 'g1'].flatMap((taskId) =>
      ['h1', 'h2'].map((reviewer) => ({ taskId, reviewer, choice: 'A' })),
    );
    // Against the consensus on every ordinary item (t3 left unanswered), right on the gold item.
    const s = settleReviewRound({
      items,
      answers: [
        ...honest,
        { taskId: 't1', reviewer: 'p', choice: 'B' },
        { taskId: 't2', reviewer: 'p', choice: 'B' },
        { taskId: 'g1', reviewer: 'p', choice: 'A' },
      ],
      reviewers,
      assignments,
      unansweredCountsAgainst: true,
    });
    expect(s.items.map((c) => [c.id, c.choice, c.support])).toEqual([
      ['t1', 'A', 1],
      ['t2', 'A', 1],
      ['t3', 'A', 1],
      ['g1', 'A', 1],
    ]);
    const p = s.reviewers.find((r) => r.reviewer === 'p')!;
    // Its two wrong answers cost nothing; t3, which it left unanswered, counts against it as for
    // anyone (the round waited for it): 5000 x 0.6% x 1/4.
    expect([p.assigned, p.resolved, p.agreed, p.disagreed]).toEqual([4, 4, 0, 1]);
    expect([p.reward, p.penalty, p.weighted]).toEqual([0n, (15n * M) / 2n, false]);
    // The gold answer counted: (2 + 8) / (4 + 10) = 0.714, so it is active from the next round.
    expect([p.goldCorrect, p.goldAnswered, p.paused]).toEqual([2, 4, false]);
    expect(p.goldAccuracy).toBeCloseTo(10 / 14);
    for (const r of s.reviewers.filter((x) => x.reviewer !== 'p')) expect(r.weighted).toBe(true);

    // The next round it is active: weighted, rewarded for agreeing, slashed for disagreeing.
    const next = settleReviewRound({
      items,
      answers: [
        ...honest.filter((x) => x.reviewer === 'h1'),
        { taskId: 't1', reviewer: 'p', choice: 'A' },
        { taskId: 't2', reviewer: 'p', choice: 'B' },
        { taskId: 't3', reviewer: 'p', choice: 'A' },
        { taskId: 'g1', reviewer: 'p', choice: 'A' },
      ],
      reviewers: [reviewers[0]!, { ...pausedReviewer, goldCorrect: 2, goldAnswered: 4, paused: false }],
      assignments: items.map((i) => ({ taskId: i.id, reviewers: ['h1', 'p'] })),
      unansweredCountsAgainst: true,
    });
    // Its stake (5000 against 1000) now weighs on t2, as much as h1's and no more: t2 is split.
    expect(next.items.find((c) => c.id === 't2')).toMatchObject({ resolved: false, support: 0.5 });
    const p2 = next.reviewers.find((r) => r.reviewer === 'p')!;
    expect([p2.weighted, p2.resolved, p2.agreed, p2.disagreed, p2.paused]).toEqual([true, 3, 3, 0, false]);
    expect(p2.reward).toBe(10n * M); // 5000 x 0.2% x 3/3
  });

  it('a paused reviewer that misses gold stays paused and still pays nothing for its other answers', () => {
    const s = settleReviewRound({
      items: [T1, G1],
      answers: [
        { taskId: 't1', reviewer: 'h', choice: 'A' },
        { taskId: 'g1', reviewer: 'h', choice: 'A' },
        { taskId: 't1', reviewer: 'p', choice: 'B' },
        { taskId: 'g1', reviewer: 'p', choice: 'B' },
      ],
      reviewers: [
        { reviewer: 'h', stake: 1000n * M, goldCorrect: 0, goldAnswered: 0 },
        { reviewer: 'p', stake: 1000n * M, goldCorrect: 1, goldAnswered: 3, paused: true },
      ],
      assignments: [
        { taskId: 't1', reviewers: ['h', 'p'] },
        { taskId: 'g1', reviewers: ['h', 'p'] },
      ],
      unansweredCountsAgainst: true,
    });
    const p = s.reviewers.find((r) => r.reviewer === 'p')!;
    expect([p.goldCorrect, p.goldAnswered, p.paused, p.weighted]).toEqual([1, 4, true, false]);
    expect([p.reward, p.penalty, p.agreed, p.disagreed]).toEqual([0n, 0n, 0, 0]);
  });
});
