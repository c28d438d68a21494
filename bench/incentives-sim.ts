/**
 * The incentive simulation behind `npm run sim:incentives`: reviewers and contributors playing
 * strategies against the domain rules, round after round, from one seed.
 *
 * Reviewers (domain/rlhf): every round has `items` review items with two candidates (the model's
 * ranking decides the order shown) of which `gold` are gold items. Items are assigned by
 * assignTasks (stake-weighted, capped); answers are committed before any is revealed
 * (commit–reveal), so nobody sees another's answer; settleReviewRound settles the round.
 *   - honest: reads the item and picks the better candidate with probability `honestAccuracy`;
 *   - honest, stake split over 10 accounts: the same, with the stake spread over 10 accounts;
 *   - random: a coin flip;
 *   - lazy copier: cannot copy other answers under commit–reveal, so it copies the only signal it
 *     sees without reading, the model's ranking (picks the first candidate shown), which is right
 *     `modelTopAccuracy` of the time on ordinary items and half the time on gold items (gold items
 *     are drawn so the model's ranking carries no information there);
 *   - colluding minority: a cartel holding ~20% of the stake that answers honestly except on the
 *     items of its agenda (30% of items), where all its accounts push the worse candidate;
 *   - unstaked sybils: 500 accounts without bonded stake that all pick the same candidate.
 * Earnings = rewards - slashes, in OPEN, per entity (an entity sums its accounts).
 *
 * Contributors (domain/data): every round is a Datanet with a reward pool `pool` and a deposit
 * `deposit` per record. Ten background contributors send 20 records each. Strategies:
 *   - one account, and the same records split over 2, 10 and 100 accounts (common random numbers:
 *     each entity draws the same qualities, so differences come from the rule alone);
 *   - near-copies: 20 copies a round of other contributors' records with 2 (or 5) words edited,
 *     run through the real near-duplicate detector (bench/dedupe.ts's pipeline);
 *   - volume: 100 low-effort records a round, most below the quality or relevance floor.
 * Earnings = pool x weight - forfeited deposits. The former rule (sqrt per account with the
 * standing factor, no deposits, on the same record statuses) is shown beside it for comparison.
 */
import { contributorWeights, type ScoredRecordSummary } from '../domain/data/attribution-weights.js';
import { settleDeposits } from '../domain/data/deposits.js';
import { mulberry32 } from '../domain/prng.js';
import { assignPausedReviewers, assignTasks } from '../domain/rlhf/assignment.js';
import { krippendorffAlphaPerReviewer, type UnitValue } from '../domain/rlhf/krippendorff.js';
import { settleReviewRound, type RoundItem, type RoundReviewer } from '../domain/rlhf/stake-consensus.js';
import { Deduper, editWords } from './dedupe.js';
import { COMMON } from '../scenarios/synthetic.js';

export interface SimOptions {
  rounds: number;
  seed: number;
  items: number;
  gold: number;
  honestAccuracy: number;
  modelTopAccuracy: number;
  /** OPEN per record, refunded if accepted. */
  deposit: number;
  /** OPEN paid to contributors per round. */
  pool: number;
}

export const DEFAULT_SIM: SimOptions = {
  rounds: 100,
  seed: 2026,
  items: 40,
  gold: 10,
  honestAccuracy: 0.9,
  modelTopAccuracy: 0.65,
  deposit: 2,
  pool: 1000,
};

export interface StrategyRow {
  group: 'reviewer' | 'contributor';
  strategy: string;
  entities: number;
  accountsPerEntity: number;
  /** Mean earnings per entity per round (OPEN), and the std over entity-rounds. */
  mean: number;
  std: number;
  /** Mean per entity over all rounds. */
  total: number;
  /** Reviewers: mean per-reviewer Krippendorff alpha. Contributors: mean per round under the former sqrt rule. */
  extra?: number;
}

const MICRO = 1_000_000n;
const toOpen = (micro: bigint): number => Number(micro) / 1e6;

function stats(samples: number[][], rounds: number) {
  const flat = samples.flat();
  const mean = flat.reduce((a, b) => a + b, 0) / Math.max(1, flat.length);
  const std = Math.sqrt(flat.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, flat.length - 1));
  return { mean, std, total: mean * rounds };
}

type ReviewerStrategy = 'honest' | 'honest-split' | 'random' | 'lazy-copy' | 'colluding' | 'unstaked';

interface Entity<S> {
  strategy: S;
  accounts: string[];
  perRound: number[];
}

export function simulateReviewers(o: SimOptions = DEFAULT_SIM): StrategyRow[] {
  const rand = mulberry32(o.seed);
  const entities: Entity<ReviewerStrategy>[] = [];
  const accounts = new Map<string, RoundReviewer & { strategy: ReviewerStrategy }>();
  const add = (strategy: ReviewerStrategy, n: number, perEntity: number, stakeEach: bigint) => {
    for (let e = 0; e < n; e++) {
      const ids = Array.from({ length: perEntity }, (_, k) => `${strategy}-${e}-${k}`);
      for (const id of ids)
        accounts.set(id, { reviewer: id, strategy, stake: stakeEach * MICRO, goldCorrect: 0, goldAnswered: 0 });
      entities.push({ strategy, accounts: ids, perRound: [] });
    }
  };
  add('honest', 20, 1, 1000n);
  add('honest-split', 2, 10, 100n);
  add('random', 5, 1, 1000n);
  add('lazy-copy', 5, 1, 1000n);
  add('colluding', 8, 1, 1000n);
  add('unstaked', 1, 500, 0n);
  const alphaSum = new Map<ReviewerStrategy, { sum: number; n: number }>();

  for (let round = 0; round < o.rounds; round++) {
    const items: (RoundItem & { truth: string; agenda: boolean; top: string })[] = [];
    for (let i = 0; i < o.items + o.gold; i++) {
      const gold = i >= o.items;
      const truth = rand() < 0.5 ? 'A' : 'B';
      const other = truth === 'A' ? 'B' : 'A';
      const top = rand() < (gold ? 0.5 : o.modelTopAccuracy) ? truth : other;
      const candidates = top === 'A' ? ['A', 'B'] : ['B', 'A'];
      items.push({
        id: `r${round}-i${i}`,
        candidates,
        truth,
        agenda: rand() < 0.3,
        top,
        ...(gold ? { gold: truth } : {}),
      });
    }
    // Gold items are shuffled among the others by assignment order; nobody can tell them apart.
    const order = items.map((it) => it.id).sort((a, b) => (a < b ? -1 : 1));
    const reviewers = [...accounts.values()];
    const active = reviewers.filter((r) => !r.paused);
    const assignments = assignTasks({
      taskIds: order,
      reviewers: active,
      perTask: 5,
      capPerReviewer: 12,
      seed: `sim-${o.seed}-r${round}`,
    });
    // Paused reviewers get an ordinary mix on top (no weight, no reward): only their gold answers count.
    const probation = assignPausedReviewers({
      taskIds: order,
      reviewers,
      perTask: 5,
      capPerReviewer: 12,
      seed: `sim-${o.seed}-r${round}`,
    });
    const byTask = new Map(assignments.map((x) => [x.taskId, [...x.reviewers]]));
    for (const x of probation) byTask.get(x.taskId)?.push(...x.reviewers);
    // The 500 unstaked sybils try to answer everything with the same candidate; they are never assigned.
    const answers: { taskId: string; reviewer: string; choice: string }[] = [];
    const itemOf = new Map(items.map((it) => [it.id, it]));
    for (const [taskId, who] of byTask) {
      const it = itemOf.get(taskId);
      if (!it) continue;
      const wrong = it.truth === 'A' ? 'B' : 'A';
      for (const reviewer of who) {
        const s = accounts.get(reviewer)?.strategy;
        let choice: string;
        if (s === 'random') choice = rand() < 0.5 ? 'A' : 'B';
        else if (s === 'lazy-copy') choice = it.top;
        else if (s === 'colluding' && it.agenda) choice = wrong;
        else choice = rand() < o.honestAccuracy ? it.truth : wrong;
        answers.push({ taskId, reviewer, choice });
      }
    }
    const settled = settleReviewRound({
      items,
      answers,
      reviewers,
      assignments: [...byTask.entries()].map(([taskId, rs]) => ({ taskId, reviewers: rs })),
    });
    const net = new Map<string, number>();
    for (const r of settled.reviewers) {
      net.set(r.reviewer, toOpen(r.reward - r.penalty));
      const acc = accounts.get(r.reviewer);
      if (!acc) continue;
      acc.stake -= r.penalty;
      acc.goldCorrect = r.goldCorrect;
      acc.goldAnswered = r.goldAnswered;
      acc.paused = r.paused;
    }
    for (const e of entities) e.perRound.push(e.accounts.reduce((t, a) => t + (net.get(a) ?? 0), 0));
    const units = new Map<string, UnitValue[]>();
    for (const x of answers)
      units.set(x.taskId, [...(units.get(x.taskId) ?? []), { reviewer: x.reviewer, value: x.choice }]);
    for (const pr of krippendorffAlphaPerReviewer([...units.values()])) {
      const s = accounts.get(pr.reviewer)?.strategy;
      if (!s || pr.alpha === undefined) continue;
      const a = alphaSum.get(s) ?? { sum: 0, n: 0 };
      a.sum += pr.alpha;
      a.n++;
      alphaSum.set(s, a);
    }
  }
  const strategies: ReviewerStrategy[] = ['honest', 'honest-split', 'random', 'lazy-copy', 'colluding', 'unstaked'];
  return strategies.map((strategy) => {
    const es = entities.filter((e) => e.strategy === strategy);
    const a = alphaSum.get(strategy);
    return {
      group: 'reviewer' as const,
      strategy: REVIEWER_LABELS[strategy],
      entities: es.length,
      accountsPerEntity: es[0]?.accounts.length ?? 0,
      ...stats(
        es.map((e) => e.perRound),
        o.rounds,
      ),
      ...(a ? { extra: a.sum / a.n } : {}),
    };
  });
}

const REVIEWER_LABELS: Record<ReviewerStrategy, string> = {
  honest: 'honest (1,000 staked)',
  'honest-split': 'honest, 1,000 split over 10 accounts',
  random: 'random (coin flip)',
  'lazy-copy': "lazy copier (model's top choice)",
  colluding: 'colluding minority (20% of stake)',
  unstaked: '500 unstaked sybils, same choice',
};

type ContributorStrategy = 'split-1' | 'split-2' | 'split-10' | 'split-100' | 'near-copy-2' | 'near-copy-5' | 'volume';

/** The former rule, for comparison: sqrt of the sum of quality x relevance per account, standing factor, no deposits. */
function sqrtRuleWeights(records: readonly ScoredRecordSummary[]): Map<string, number> {
  const acc = new Map<string, { raw: number; a: number; r: number }>();
  for (const x of records) {
    const e = acc.get(x.contributor) ?? { raw: 0, a: 0, r: 0 };
    if (x.status === 'accepted') {
      e.a++;
      e.raw += x.quality * x.relevance;
    } else if (x.status === 'rejected') e.r++;
    acc.set(x.contributor, e);
  }
  const w = new Map<string, number>();
  let sum = 0;
  for (const [c, e] of acc) {
    const n = e.a + e.r;
    const standing = n < 5 || e.r / n <= 0.5 ? 1 : 1 - e.r / n;
    const v = Math.sqrt(e.raw) * standing;
    w.set(c, v);
    sum += v;
  }
  for (const [c, v] of w) w.set(c, sum > 0 ? v / sum : 0);
  return w;
}

export function simulateContributors(o: SimOptions = DEFAULT_SIM): StrategyRow[] {
  const rand = mulberry32(o.seed ^ 0x5bd1e995);
  const textRand = mulberry32(o.seed ^ 0x27d4eb2f);
  let serial = 0;
  const text = (): string => {
    const words = [`rec${serial++}`];
    const len = 40 + Math.floor(textRand() * 40);
    for (let w = 0; w < len; w++) words.push(COMMON[Math.floor(textRand() * COMMON.length)] ?? 'the');
    return words.join(' ');
  };
  const strategies: ContributorStrategy[] = [
    'split-1',
    'split-2',
    'split-10',
    'split-100',
    'near-copy-2',
    'near-copy-5',
    'volume',
  ];
  const perRound = new Map<ContributorStrategy, number[]>(strategies.map((s) => [s, []]));
  const sqrtRule = new Map<ContributorStrategy, number[]>(strategies.map((s) => [s, []]));
  const honestDraw = () => ({
    quality: 0.5 + 0.5 * rand(),
    relevance: 0.5 + 0.5 * rand(),
    rejected: rand() < 0.05,
  });

  for (let round = 0; round < o.rounds; round++) {
    const records: (ScoredRecordSummary & { text: string; owner: string })[] = [];
    const push = (
      owner: string,
      contributor: string,
      d: { quality: number; relevance: number; rejected: boolean },
      t = text(),
    ) =>
      records.push({
        owner,
        contributor,
        quality: d.quality,
        relevance: d.relevance,
        status: d.rejected ? 'rejected' : 'accepted',
        text: t,
      });
    for (let b = 0; b < 10; b++) for (let i = 0; i < 20; i++) push(`bg${b}`, `bg${b}`, honestDraw());
    const shared = Array.from({ length: 20 }, honestDraw); // common random numbers for the split strategies
    for (const [s, k] of [
      ['split-1', 1],
      ['split-2', 2],
      ['split-10', 10],
      ['split-100', 100],
    ] as const)
      shared.forEach((d, i) => push(s, `${s}-acct${i % k}`, d));
    for (let i = 0; i < 100; i++) {
      const quality = 0.05 + 0.4 * rand();
      const relevance = 0.05 + 0.45 * rand();
      push('volume', `volume-acct${i % 10}`, { quality, relevance, rejected: quality < 0.3 || relevance < 0.1 });
    }
    // Near-copies come after their sources (the earliest record owns the band).
    const sources = records.filter((r) => r.owner.startsWith('bg') && r.status === 'accepted');
    for (const [s, edits] of [
      ['near-copy-2', 2],
      ['near-copy-5', 5],
    ] as const) {
      for (let i = 0; i < 20; i++) {
        const src = sources[Math.floor(rand() * sources.length)];
        if (!src) continue;
        push(
          s,
          `${s}-acct${i}`,
          { quality: src.quality, relevance: src.relevance, rejected: false },
          editWords(src.text, edits, rand),
        );
      }
    }
    const dedupe = new Deduper();
    records.forEach((r, i) => {
      if (r.status !== 'accepted') return;
      const v = dedupe.add(i, r.text);
      if (v) r.status = v.exact ? 'duplicate' : 'near-duplicate';
    });
    const weights = new Map(contributorWeights(records).map((w) => [w.contributor, w.weight]));
    const forfeits = new Map(
      settleDeposits(records, BigInt(Math.round(o.deposit * 1e6))).map((d) => [d.contributor, toOpen(d.forfeited)]),
    );
    const old = sqrtRuleWeights(records);
    for (const s of strategies) {
      const mine = new Set(records.filter((r) => r.owner === s).map((r) => r.contributor));
      let net = 0;
      let oldNet = 0;
      for (const c of mine) {
        net += o.pool * (weights.get(c) ?? 0) - (forfeits.get(c) ?? 0);
        oldNet += o.pool * (old.get(c) ?? 0);
      }
      perRound.get(s)?.push(net);
      sqrtRule.get(s)?.push(oldNet);
    }
  }
  return strategies.map((s) => {
    const old = stats([sqrtRule.get(s) ?? []], o.rounds);
    return {
      group: 'contributor' as const,
      strategy: CONTRIBUTOR_LABELS[s],
      entities: 1,
      accountsPerEntity: s.startsWith('split-') ? Number(s.slice(6)) : s === 'volume' ? 10 : 20,
      ...stats([perRound.get(s) ?? []], o.rounds),
      extra: old.mean,
    };
  });
}

const CONTRIBUTOR_LABELS: Record<ContributorStrategy, string> = {
  'split-1': 'honest, 20 records, 1 account',
  'split-2': 'same records over 2 accounts',
  'split-10': 'same records over 10 accounts',
  'split-100': 'same records over 100 accounts',
  'near-copy-2': '20 near-copies (2 words edited)',
  'near-copy-5': '20 near-copies (5 words edited)',
  volume: '100 low-effort records',
};

export function simulateIncentives(o: Partial<SimOptions> = {}): StrategyRow[] {
  const opts = { ...DEFAULT_SIM, ...o };
  return [...simulateReviewers(opts), ...simulateContributors(opts)];
}

export function formatTable(rows: readonly StrategyRow[], rounds: number): string {
  const f = (x: number) => (Math.abs(x) < 0.005 ? '0.00' : x.toFixed(2));
  const out: string[] = [];
  out.push(`| group | strategy | accounts | mean / round (OPEN) | std / round | total over ${rounds} rounds | extra |`);
  out.push('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const extra =
      r.extra === undefined
        ? ''
        : r.group === 'reviewer'
          ? `alpha ${r.extra.toFixed(2)}`
          : `old rule ${f(r.extra)} / round`;
    out.push(
      `| ${r.group} | ${r.strategy} | ${r.accountsPerEntity} | ${f(r.mean)} | ${f(r.std)} | ${f(r.total)} | ${extra} |`,
    );
  }
  return out.join('\n');
}
