import { describe, expect, it } from 'vitest';
import {
  decidedEarly,
  DEFAULT_GOVERNANCE_PARAMS,
  outcome,
  resolveDelegations,
  tally,
  validateVote,
  type GovernanceParams,
  type Outcome,
  type PowerSnapshot,
  type VoteOption,
} from './tally.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

// One address per unit block of power: { a: '100', b: '50' } style snapshots.
function snap(powers: Record<string, number | string>): PowerSnapshot {
  return Object.fromEntries(Object.entries(powers).map(([k, v]) => [k, String(v)]));
}

/** Snapshot of total `total` where the named voters hold the given power and 'rest' the remainder. */
function scenario(total: number, cast: Partial<Record<VoteOption, number>>) {
  const snapshot: PowerSnapshot = {};
  const votes: Record<string, VoteOption> = {};
  let used = 0;
  for (const [option, p] of Object.entries(cast) as [VoteOption, number][]) {
    snapshot[`v-${option}`] = String(p);
    votes[`v-${option}`] = option;
    used += p;
  }
  if (total > used) snapshot.rest = String(total - used);
  return { snapshot, votes };
}

function earlyOf(total: number, cast: Partial<Record<VoteOption, number>>): Outcome | null {
  const { snapshot, votes } = scenario(total, cast);
  return decidedEarly(snapshot, votes);
}

function outcomeOf(total: number, cast: Partial<Record<VoteOption, number>>, params?: GovernanceParams): Outcome {
  const { snapshot, votes } = scenario(total, cast);
  return outcome(tally(snapshot, votes), params);
}

describe('tally', () => {
  it('sums snapshotted power per option and ignores votes without power', () => {
    const snapshot = snap({ a: 100, b: 50, c: 25, d: 10, e: 5, f: 0 });
    const t = tally(snapshot, { a: 'yes', b: 'no', c: 'abstain', d: 'veto', stranger: 'yes', f: 'yes' });
    const { turnout, ...counts } = t;
    expect(counts).toEqual({
      yes: '100',
      no: '50',
      abstain: '25',
      veto: '10',
      cast: '185',
      total: '190',
      remaining: '5',
    });
    expect(turnout).toBeCloseTo(185 / 190, 8);
  });

  it('is exact beyond 2^53', () => {
    const big = 10n ** 30n;
    const snapshot = { a: (big + 1n).toString(), b: big.toString() };
    const t = tally(snapshot, { a: 'yes', b: 'no' });
    expect(t.yes).toBe('1000000000000000000000000000001');
    expect(t.total).toBe((2n * big + 1n).toString());
    // 50% + 1 base unit out of 2e30: floats would round this to exactly 0.5 and reject.
    expect(outcome(t, DEFAULT_GOVERNANCE_PARAMS)).toBe('passed');
    expect(outcome(tally(snapshot, { a: 'no', b: 'yes' }))).toBe('rejected');
  });

  it('rejects malformed power and options', () => {
    expect(() => tally({ a: '1.5' }, {})).toThrow(/decimal string/);
    expect(() => tally({ a: '-1' }, {})).toThrow(/decimal string/);
    expect(() => tally({ a: '1' }, { a: 'maybe' as VoteOption })).toThrow(/unknown vote option/);
  });
});

describe('outcome', () => {
  it('expired when turnout is below quorum, or there is no power at all', () => {
    expect(outcomeOf(1000, { yes: 300 })).toBe('expired');
    expect(outcomeOf(1000, {})).toBe('expired');
    expect(outcome(tally({}, {}))).toBe('expired');
  });

  it('vetoed when veto exceeds the veto threshold of cast power, even with a yes majority', () => {
    expect(outcomeOf(1000, { yes: 600, veto: 350 })).toBe('vetoed');
  });

  it('passed when yes exceeds the pass threshold of yes+no (abstain only counts for quorum)', () => {
    expect(outcomeOf(1000, { yes: 60, no: 50, abstain: 300 })).toBe('passed');
  });

  it('rejected when yes does not exceed the pass threshold, or everyone abstains', () => {
    expect(outcomeOf(1000, { yes: 200, no: 300 })).toBe('rejected');
    expect(outcomeOf(1000, { abstain: 500 })).toBe('rejected');
    expect(outcomeOf(1000, { abstain: 400, veto: 100 })).toBe('rejected');
  });

  it('treats each threshold boundary exactly (quorum inclusive, veto and pass strict)', () => {
    // quorum 0.334 of 1000 = 334
    expect(outcomeOf(1000, { yes: 333 })).toBe('expired');
    expect(outcomeOf(1000, { yes: 334 })).toBe('passed');
    // veto 0.334 of cast 1000 = 334
    expect(outcomeOf(1000, { yes: 666, veto: 334 })).toBe('passed');
    expect(outcomeOf(1000, { yes: 665, veto: 335 })).toBe('vetoed');
    // pass 0.5 of yes+no
    expect(outcomeOf(1000, { yes: 250, no: 250 })).toBe('rejected');
    expect(outcomeOf(1000, { yes: 251, no: 250 })).toBe('passed');
  });

  it('uses the given parameters', () => {
    const strict: GovernanceParams = { quorum: 0.5, vetoThreshold: 0.1, passThreshold: 2 / 3 };
    expect(outcomeOf(1000, { yes: 450 }, strict)).toBe('expired');
    expect(outcomeOf(1000, { yes: 550, veto: 70 }, strict)).toBe('vetoed'); // 70/620 > 0.1
    expect(outcomeOf(1000, { yes: 540, veto: 60 }, strict)).toBe('passed'); // 60/600 is not above 0.1;
    expect(outcomeOf(1000, { yes: 600, no: 300 }, strict)).toBe('rejected'); // exactly 2/3 is not above it
    expect(outcomeOf(1000, { yes: 601, no: 300 }, strict)).toBe('passed');
    expect(() => outcomeOf(1000, { yes: 1 }, { ...strict, quorum: 1.5 })).toThrow(/quorum/);
    expect(() => outcomeOf(1000, { yes: 1 }, { ...strict, passThreshold: Number.NaN })).toThrow(/passThreshold/);
  });
});

describe('decidedEarly', () => {
  it('does not close on 60% yes: the remaining 40% could all veto', () => {
    const { snapshot, votes } = scenario(100, { yes: 60 });
    expect(decidedEarly(snapshot, votes)).toBeNull();
    // ...and that is real: this completion vetoes while doing nothing passes.
    expect(outcome(tally(snapshot, { ...votes, rest: 'veto' }))).toBe('vetoed');
    expect(outcome(tally(snapshot, votes))).toBe('passed');
  });

  it('closes as passed once the remaining power cannot veto, reject or expire it', () => {
    const { snapshot, votes } = scenario(100, { yes: 67 });
    expect(decidedEarly(snapshot, votes)).toBe('passed');
    expect(earlyOf(100, { yes: 66 })).toBeNull();
  });

  it('closes as vetoed when veto already exceeds the threshold of any possible cast', () => {
    expect(earlyOf(100, { veto: 34 })).toBe('vetoed');
    expect(earlyOf(100, { veto: 33 })).toBeNull();
  });

  it('closes as rejected only when neither yes nor veto from the rest can change it', () => {
    // 51 no: the other 49 voting veto would veto it.
    expect(earlyOf(100, { no: 51 })).toBeNull();
    expect(earlyOf(100, { no: 67 })).toBe('rejected');
  });

  it('stays open with nothing cast, and decides once everyone has voted', () => {
    expect(earlyOf(100, {})).toBeNull();
    const all = scenario(100, { yes: 40, no: 30, abstain: 30 });
    expect(decidedEarly(all.snapshot, all.votes)).toBe('passed');
  });

  // Brute force: with unit-power voters every split of the remaining power is reachable,
  // so decidedEarly must return X exactly when every completion ends in X.
  it('agrees with exhaustive enumeration of every way the remaining voters can act', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const paramsList: GovernanceParams[] = [
      DEFAULT_GOVERNANCE_PARAMS,
      { quorum: 0.5, vetoThreshold: 0.2, passThreshold: 0.6 },
    ];
    let decided = 0;
    let open = 0;
    for (let trial = 0; trial < 400; trial++) {
      const params = paramsList[trial % paramsList.length];
      const n = 3 + rand(10);
      const snapshot: PowerSnapshot = {};
      const votes: Record<string, VoteOption> = {};
      const unvoted: string[] = [];
      const options: VoteOption[] = ['yes', 'no', 'abstain', 'veto'];
      for (let i = 0; i < n; i++) {
        snapshot[`g${i}`] = '1';
        const r = rand(6);
        if (r < 4) votes[`g${i}`] = at(options, r);
        else unvoted.push(`g${i}`);
      }
      // Completions of unit voters depend only on counts per option (incl. not voting).
      const seen = new Set<Outcome>();
      const R = unvoted.length;
      for (let y = 0; y <= R; y++)
        for (let no = 0; no <= R - y; no++)
          for (let a = 0; a <= R - y - no; a++)
            for (let v = 0; v <= R - y - no - a; v++) {
              const full = { ...votes };
              let k = 0;
              for (const [count, opt] of [
                [y, 'yes'],
                [no, 'no'],
                [a, 'abstain'],
                [v, 'veto'],
              ] as [number, VoteOption][]) {
                for (let j = 0; j < count; j++) full[at(unvoted, k++)] = opt;
              }
              seen.add(outcome(tally(snapshot, full), params));
            }
      const early = decidedEarly(snapshot, votes, params);
      if (seen.size === 1) {
        expect(early).toBe([...seen][0]);
        decided++;
      } else {
        expect(early).toBeNull();
        open++;
      }
    }
    // The generator must exercise both branches for the check to mean anything.
    expect(decided).toBeGreaterThan(20);
    expect(open).toBeGreaterThan(20);
  });

  it('is never wrong with lumpy voters (sufficient, not necessary)', () => {
    // 70 yes, and two unvoted governors of 15 each: every completion passes.
    const snapshot = snap({ a: 70, b: 15, c: 15 });
    expect(decidedEarly(snapshot, { a: 'yes' })).toBe('passed');
    const s2 = snap({ a: 60, b: 40 });
    expect(decidedEarly(s2, { a: 'yes' })).toBeNull();
  });
});

describe('resolveDelegations', () => {
  it("adds a delegator's balance to its delegatee", () => {
    expect(resolveDelegations({ a: '100', b: '50', c: '7' }, { b: 'a' })).toEqual({ a: '150', c: '7' });
  });

  it('credits the end of a chain once, and delegatees need no balance', () => {
    expect(resolveDelegations({ a: '1', b: '2', c: '4' }, { a: 'b', b: 'c' })).toEqual({ c: '7' });
    expect(resolveDelegations({ a: '5' }, { a: 'z' })).toEqual({ z: '5' });
  });

  it('ignores cycles and self-delegation (the delegator keeps its power)', () => {
    expect(resolveDelegations({ a: '1', b: '2' }, { a: 'b', b: 'a' })).toEqual({ a: '1', b: '2' });
    expect(resolveDelegations({ a: '1', b: '2', c: '4', d: '8' }, { a: 'b', b: 'c', c: 'b', d: 'd' })).toEqual({
      a: '1',
      b: '2',
      c: '4',
      d: '8',
    });
  });

  it('conserves total power, drops zero balances and sorts addresses', () => {
    const out = resolveDelegations(
      { z: '10', y: '0', x: '5', w: '123456789012345678901234567890' },
      { x: 'z', y: 'z' },
    );
    expect(Object.keys(out)).toEqual(['w', 'z']);
    expect(out).toEqual({ w: '123456789012345678901234567890', z: '15' });
    const sum = Object.values(out).reduce((s, v) => s + BigInt(v), 0n);
    expect(sum).toBe(123456789012345678901234567890n + 15n);
  });

  it('feeds the tally: a delegatee votes with the delegated power', () => {
    const snapshot = resolveDelegations({ a: '30', b: '40', c: '30' }, { b: 'a' });
    expect(outcome(tally(snapshot, { a: 'yes', c: 'no' }))).toBe('passed');
    expect(tally(snapshot, { a: 'yes' }).yes).toBe('70');
  });
});

describe('validateVote', () => {
  const snapshot = snap({ a: 10, b: 5, z: 0 });
  const base = { snapshot, votes: { b: 'no' } as Record<string, VoteOption>, voter: 'a', option: 'yes', closed: false };

  it('accepts a first vote by a governor with power', () => {
    expect(validateVote(base)).toEqual({ ok: true });
  });

  it('refuses with a reason', () => {
    /** The reason a vote is refused; fails the test when the vote is accepted. */
    const refusal = (input: typeof base): string => {
      const v = validateVote(input);
      if (v.ok)
        throw new Error(`expected ${JSON.stringify(input.voter)} voting ${JSON.stringify(input.option)} to be refused`);
      return v.reason;
    };
    expect(validateVote({ ...base, closed: true })).toEqual({ ok: false, reason: 'voting is closed' });
    expect(refusal({ ...base, option: 'maybe' })).toMatch(/unknown vote option "maybe"/);
    expect(refusal({ ...base, voter: 'stranger' })).toMatch(/no voting power/);
    expect(refusal({ ...base, voter: 'z' })).toMatch(/no voting power/);
    expect(refusal({ ...base, voter: 'b' })).toMatch(/already voted \(no\)/);
    expect(refusal({ ...base, voter: 'constructor' })).toMatch(/no voting power/);
  });
});
