// Stake-weighted review rules: consensus by bonded stake only, clipped Yuma-style to
// what a stake majority supports, rewards proportional to stake x agreement, penalties for
// disagreement from bonded stake, and a gold-task accuracy gate.
//
// Consensus on an item. Only active reviewers count (bonded stake > 0, not paused by the gold
// gate); a reviewer's weight is their bonded stake, so 500 unstaked accounts weigh exactly 0, but
// bounded on each item by the stake of the other active reviewers assigned to it together
// (itemWeights): however large one bond is, it never holds a strict majority of an item alone, so
// it cannot decide a consensus, nor who is slashed, without another reviewer answering as it did.
// support(c) = stake choosing c / stake answering. In the spirit of Bittensor's Yuma consensus,
// each reviewer's vote (a one-hot weight over the candidates) is clipped to the consensus weight
// of that candidate, which is 1 when more than `kappa` (default 0.5) of the answering stake backs
// it and 0 otherwise. So an item resolves to the candidate a stake majority chose; a vote for any
// other candidate is clipped to 0 (earns nothing, counts as disagreement); an item where no
// candidate has a stake majority does not resolve (no reward, no penalty, no preference pair).
// Gold items resolve to their known answer.
//
// Per round, for a reviewer with bonded stake s, over the resolved items they were assigned
// (n = that count, a = answers equal to the consensus, d = answers that differ; unanswered
// items count as neither):
//   reward  = min(s x rewardRate x a / n, agreementReward x a)   (0 when paused this round; scaled
//             down pro rata when the round's total exceeds its budget)
//   penalty = min(s, s x penaltyRate x d / n  +  (d / n > tolerance ? disagreementPenalty x d : 0))
//             slashed from bonded stake
// agreementReward (protocol setting rewards.reviewAgreementReward) caps what one agreed answer
// earns, so a reviewer's reward in a round is at most agreementReward x its assigned items however
// large its bond; the fixed penalty (rewards.reviewDisagreementPenalty, above
// rewards.disagreementTolerance) makes persistent disagreement cost a small bond as much as a large
// one. The stake-proportional parts are linear in stake, so splitting stake over accounts changes
// neither. With penaltyRate >
// rewardRate, an answer that agrees with probability p earns in expectation s x (p x rewardRate -
// (1 - p) x penaltyRate) / n: a coin flip (p = 1/2) loses, and so does any strategy that agrees
// less than penaltyRate / (rewardRate + penaltyRate) of the time (0.75 with the defaults).
//
// Gold gate: gold items (known answers, indistinguishable from others) keep a running accuracy
//   accuracy = (correct + prior.correct) / (answered + prior.answered)
// (a Beta prior, 8 of 10 by default, so one early miss does not pause an honest reviewer). Below
// `goldThreshold` (0.7) the reviewer's weight is 0 and they are paused: no consensus weight and no
// reward from that round on. The round that pauses them still slashes its disagreements.
// A paused reviewer is still assigned an ordinary mix of tasks (assignPausedReviewers: never gold
// only, which would tell a many-account participant which items are gold), and only its gold
// answers count: they update its accuracy. Its other answers have no weight, and its outcome counts
// no agreement or disagreement on them: no reward, no share of inference fees, and no penalty for a
// wrong answer, because a weightless answer cannot harm the consensus, and slashing an honest
// reviewer on its way back for disagreeing with a consensus it had no part in would only drain the
// bond of the reviewer the gate means to give a second chance. An assigned item it leaves
// unanswered does count against it, as for anyone: the round waits for it, so a free pass would let
// paused accounts hold every round to its deadline. Once a round's settlement puts its accuracy back at the
// threshold, it is active (weighted, rewarded, penalised) from the next round on.

export interface ReviewRules {
  /** A candidate needs strictly more than this share of the answering stake to be consensus. */
  kappa: number;
  /** Share of bonded stake paid per round for agreeing on every assigned resolved item. */
  rewardRate: number;
  /** Share of bonded stake slashed per round for disagreeing on every assigned resolved item. */
  penaltyRate: number;
  /** Running gold accuracy below which a reviewer is paused. */
  goldThreshold: number;
  /** Beta prior of the gold accuracy (pseudo-counts). */
  goldPrior: { correct: number; answered: number };
}

export const DEFAULT_REVIEW_RULES: ReviewRules = {
  kappa: 0.5,
  rewardRate: 0.002,
  penaltyRate: 0.006,
  goldThreshold: 0.7,
  goldPrior: { correct: 8, answered: 10 },
};

export interface StakedAnswer {
  reviewer: string;
  choice: string;
  stake: bigint;
}

export interface ItemConsensus {
  /** The consensus candidate; undefined when no candidate has more than kappa of the stake. */
  choice: string | undefined;
  /** Stake share of the best-supported candidate (0 without staked answers). */
  support: number;
  resolved: boolean;
}

/** Stake-majority consensus for one item (see the header). Ties on support go to the earlier candidate. */
export function stakeConsensus(
  candidates: readonly string[],
  answers: readonly StakedAnswer[],
  kappa = DEFAULT_REVIEW_RULES.kappa,
): ItemConsensus {
  const totals = new Map<string, bigint>();
  let all = 0n;
  for (const a of answers) {
    if (a.stake <= 0n || !candidates.includes(a.choice)) continue;
    totals.set(a.choice, (totals.get(a.choice) ?? 0n) + a.stake);
    all += a.stake;
  }
  if (all === 0n) return { choice: undefined, support: 0, resolved: false };
  let best: string | undefined;
  let bestStake = -1n;
  for (const c of candidates) {
    const s = totals.get(c) ?? 0n;
    if (s > bestStake) {
      best = c;
      bestStake = s;
    }
  }
  const support = Number((bestStake * 1_000_000n) / all) / 1_000_000;
  const resolved = support > kappa;
  return { choice: resolved ? best : undefined, support, resolved };
}

/**
 * Each reviewer's consensus weight on one item: its stake, at most the stake of the others on the
 * item together (so no single reviewer holds a strict majority alone). A reviewer alone on an item
 * keeps its stake: there is nobody it could outvote or have slashed.
 */
export function itemWeights(stakes: ReadonlyMap<string, bigint>): Map<string, bigint> {
  let all = 0n;
  for (const s of stakes.values()) all += s > 0n ? s : 0n;
  const out = new Map<string, bigint>();
  for (const [r, raw] of stakes) {
    const s = raw > 0n ? raw : 0n;
    const others = all - s;
    out.set(r, stakes.size === 1 || s <= others ? s : others);
  }
  return out;
}

/** Running gold accuracy with the rules' prior, and whether it pauses the reviewer. */
export function goldGate(
  correct: number,
  answered: number,
  rules: Pick<ReviewRules, 'goldPrior' | 'goldThreshold'> = DEFAULT_REVIEW_RULES,
): { accuracy: number; paused: boolean } {
  const accuracy = (correct + rules.goldPrior.correct) / (answered + rules.goldPrior.answered);
  return { accuracy, paused: accuracy < rules.goldThreshold };
}

export interface RoundReviewer {
  reviewer: string;
  /** Bonded stake at the start of the round (smallest units). */
  stake: bigint;
  /** Gold answers before this round. */
  goldCorrect: number;
  goldAnswered: number;
  /** Paused by the gold gate at the end of the previous round. */
  paused?: boolean;
}

export interface RoundItem {
  id: string;
  candidates: string[];
  /** The known answer of a gold item. */
  gold?: string;
}

export interface ReviewerOutcome {
  reviewer: string;
  stake: bigint;
  assigned: number;
  resolved: number;
  agreed: number;
  disagreed: number;
  goldCorrect: number;
  goldAnswered: number;
  goldAccuracy: number;
  /** Paused after this round (weight 0 from the next round on, and this round's reward withheld). */
  paused: boolean;
  /**
   * Whether this round's answers carried consensus weight (bonded, not paused before or by this
   * round); only those answers are marked agreed and take part in the inference-fee reviewer share.
   */
  weighted: boolean;
  reward: bigint;
  penalty: bigint;
}

export interface RoundSettlement {
  items: (ItemConsensus & { id: string; gold: boolean })[];
  reviewers: ReviewerOutcome[];
}

const PPM = 1_000_000n;
const ppm = (rate: number): bigint => BigInt(Math.round(Math.max(0, rate) * 1_000_000));

/**
 * Settles one round (see the header). `assignments` lists who was asked to review each item; when
 * omitted, a reviewer's assigned items are the ones they answered. Answers to items a reviewer was
 * not assigned, to unknown items or with a choice outside the candidates are ignored.
 */
export function settleReviewRound(a: {
  items: readonly RoundItem[];
  answers: readonly { taskId: string; reviewer: string; choice: string }[];
  reviewers: readonly RoundReviewer[];
  assignments?: readonly { taskId: string; reviewers: readonly string[] }[];
  rules?: Partial<ReviewRules>;
  /** Most the round may pay in rewards; rewards are scaled down pro rata above it. */
  rewardBudget?: bigint;
  /** Most one agreed answer earns (the per-reviewer cap: this x agreed answers). */
  agreementReward?: bigint;
  /** Fixed penalty per disagreed item when more than `tolerance` of a reviewer's resolved items disagreed. */
  persistentDisagreement?: { penalty: bigint; tolerance: number };
  /**
   * Count an assigned, resolved item the reviewer never answered as a disagreement (with sealed
   * or committed answers, withholding an answer must not be a free option).
   */
  unansweredCountsAgainst?: boolean;
}): RoundSettlement {
  const rules: ReviewRules = { ...DEFAULT_REVIEW_RULES, ...a.rules };
  const items = new Map(a.items.map((i) => [i.id, i]));
  const assigned = new Map<string, Set<string>>();
  if (a.assignments) for (const x of a.assignments) assigned.set(x.taskId, new Set(x.reviewers));
  const isAssigned = (taskId: string, reviewer: string): boolean =>
    !a.assignments || (assigned.get(taskId)?.has(reviewer) ?? false);
  const valid = a.answers.filter((x) => {
    const item = items.get(x.taskId);
    return item !== undefined && item.candidates.includes(x.choice) && isAssigned(x.taskId, x.reviewer);
  });

  // 1. Gold gate with this round's gold answers.
  const state = new Map(
    a.reviewers.map((r) => [
      r.reviewer,
      { r, goldCorrect: r.goldCorrect, goldAnswered: r.goldAnswered, active: false, paused: false, acc: 0 },
    ]),
  );
  for (const x of valid) {
    const gold = items.get(x.taskId)?.gold;
    const s = state.get(x.reviewer);
    if (gold === undefined || !s) continue;
    s.goldAnswered++;
    if (x.choice === gold) s.goldCorrect++;
  }
  for (const s of state.values()) {
    const g = goldGate(s.goldCorrect, s.goldAnswered, rules);
    s.acc = g.accuracy;
    s.paused = g.paused;
    s.active = s.r.stake > 0n && !s.paused && !s.r.paused;
  }

  // 2. Consensus per item among active reviewers, each weighed by its stake bounded on the item by
  // the other active reviewers assigned to it (or answering it, without assignments).
  const onItem = new Map<string, Map<string, bigint>>();
  const weigh = (taskId: string, reviewer: string) => {
    const s = state.get(reviewer);
    if (!s?.active) return;
    const m = onItem.get(taskId) ?? new Map<string, bigint>();
    m.set(reviewer, s.r.stake);
    onItem.set(taskId, m);
  };
  if (a.assignments) for (const x of a.assignments) for (const r of x.reviewers) weigh(x.taskId, r);
  else for (const x of valid) weigh(x.taskId, x.reviewer);
  const weights = new Map([...onItem].map(([id, m]) => [id, itemWeights(m)]));
  const byItem = new Map<string, StakedAnswer[]>();
  for (const x of valid) {
    const w = weights.get(x.taskId)?.get(x.reviewer);
    if (w === undefined) continue;
    const list = byItem.get(x.taskId) ?? [];
    list.push({ reviewer: x.reviewer, choice: x.choice, stake: w });
    byItem.set(x.taskId, list);
  }
  const consensus = a.items.map((item) => ({
    id: item.id,
    gold: item.gold !== undefined,
    ...(item.gold !== undefined
      ? { choice: item.gold, support: 1, resolved: true }
      : stakeConsensus(item.candidates, byItem.get(item.id) ?? [], rules.kappa)),
  }));
  const consensusOf = new Map(consensus.map((c) => [c.id, c]));

  // 3. Agreement, rewards and penalties.
  const answerOf = new Map(valid.map((x) => [`${x.taskId}\u0000${x.reviewer}`, x.choice]));
  const outcomes: ReviewerOutcome[] = [];
  for (const s of state.values()) {
    const r = s.r.reviewer;
    const mine = a.assignments
      ? a.items.filter((i) => assigned.get(i.id)?.has(r)).map((i) => i.id)
      : [...new Set(valid.filter((x) => x.reviewer === r).map((x) => x.taskId))];
    let resolved = 0;
    let agreed = 0;
    let disagreed = 0;
    const wasPaused = s.r.paused === true;
    for (const id of mine) {
      const c = consensusOf.get(id);
      if (!c?.resolved) continue;
      resolved++;
      const choice = answerOf.get(`${id}\u0000${r}`);
      if (choice === undefined) {
        // Unanswered counts against a paused reviewer too: the round waits for every assigned
        // reviewer, so a free pass would let a participant hold each round to its deadline with
        // paused accounts that never answer.
        if (a.unansweredCountsAgainst && a.assignments) disagreed++;
        continue;
      }
      // Paused before this round: only its gold answers count (the gate above), none of its agreement.
      if (wasPaused) continue;
      if (choice === c.choice) agreed++;
      else disagreed++;
    }
    const stake = s.r.stake > 0n ? s.r.stake : 0n;
    const n = BigInt(Math.max(1, resolved));
    const earned = s.active && resolved > 0 ? (stake * ppm(rules.rewardRate) * BigInt(agreed)) / (PPM * n) : 0n;
    const cap = a.agreementReward === undefined ? earned : a.agreementReward * BigInt(agreed);
    const reward = earned < cap ? earned : cap;
    const persistent =
      a.persistentDisagreement && resolved > 0 && disagreed > a.persistentDisagreement.tolerance * resolved
        ? a.persistentDisagreement.penalty * BigInt(disagreed)
        : 0n;
    const slash = (resolved > 0 ? (stake * ppm(rules.penaltyRate) * BigInt(disagreed)) / (PPM * n) : 0n) + persistent;
    outcomes.push({
      reviewer: r,
      stake,
      assigned: mine.length,
      resolved,
      agreed,
      disagreed,
      goldCorrect: s.goldCorrect,
      goldAnswered: s.goldAnswered,
      goldAccuracy: s.acc,
      paused: s.paused,
      weighted: s.active,
      reward,
      penalty: slash < stake ? slash : stake,
    });
  }
  if (a.rewardBudget !== undefined) {
    const total = outcomes.reduce((t, o) => t + o.reward, 0n);
    if (total > a.rewardBudget) for (const o of outcomes) o.reward = (o.reward * a.rewardBudget) / total;
  }
  outcomes.sort((x, y) => (x.reviewer < y.reviewer ? -1 : x.reviewer > y.reviewer ? 1 : 0));
  return { items: consensus, reviewers: outcomes };
}
