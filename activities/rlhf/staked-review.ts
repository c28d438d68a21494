import type { ActivityDeps } from '../deps.js';
import { accountsOf } from '../../contracts/accounts.js';
import { parseManifest } from '../../ml/embedded/embedded-trainer.js';
import type { PreferencePair } from '../../ml/trainer.js';
import { bondedReviewers, goldTotals } from '../../db/queries/reviews.js';
import { goldGate, settleReviewRound, DEFAULT_REVIEW_RULES } from '../../domain/rlhf/stake-consensus.js';
import { krippendorffAlphaNominal, krippendorffAlphaPerReviewer } from '../../domain/rlhf/krippendorff.js';
import { seedOf, type Assignment } from '../../domain/rlhf/assignment.js';
import { roundSecret, roundSeed, seedCommitment } from '../../domain/rlhf/round-seed.js';
import { withDefaults, type DeepPartial } from '../../domain/lifecycle/params.js';
import type { LifecycleParams } from '../../domain/lifecycle/types.js';
import { budgetOf } from '../../db/budgets.js';
import { findProposalParams } from '../../db/queries/proposals.js';
import { commitRoundSeed, drawRoundPool, revealRoundSeed } from '../../db/queries/round-seeds.js';
import { mulberry32 } from '../../domain/prng.js';
import { payReviewOutcomes } from './payouts.js';
import {
  closeReviewTask,
  insertReviewAssignments,
  insertRoundReviewerOutcome,
  markAgreement,
  roundAnswers,
  roundOutcomes,
  roundTasks,
} from '../../db/queries/review-rounds.js';
import type { CandidateItem } from './candidates.js';

/** A reviewer as the round saw them when it started (stake as a decimal string: it crosses Temporal). */
export interface PoolReviewer {
  reviewer: string;
  stake: string;
  paused: boolean;
  goldCorrect: number;
  goldAnswered: number;
}

const BOND_PREFIX = accountsOf.validatorStake('');

/**
 * What a round may pay its reviewers: the budget above the contributors' reward pool (reserved
 * first, so the pool is paid in full whatever reviewers do), spread evenly over the proposal's rounds
 * and never more than is left above the pool now.
 */
function roundRewardBudget(a: { reserved: bigint; left: bigint; pool: bigint; rounds: number }): bigint {
  const forReviews = a.reserved > a.pool ? a.reserved - a.pool : 0n;
  const perRound = forReviews / BigInt(Math.max(1, a.rounds));
  const above = a.left > a.pool ? a.left - a.pool : 0n;
  return perRound < above ? perRound : above;
}

/** Activities of staked review rounds: the pool, gold items, assignments, settlement. */
export function createStakedReviewActivities({
  sql,
  ledger,
  store,
  protocol,
}: Pick<ActivityDeps, 'sql' | 'ledger' | 'store' | 'protocol'>) {
  return {
    /**
     * Commits the round to a fresh secret when it opens (idempotent: a retry answers the stored
     * commitment). Only the commitment leaves the database until settlement reveals the secret.
     */
    async commitRoundSeed(a: { proposalId: string; round: number }): Promise<{ commitment: string }> {
      const secret = roundSecret();
      const row = await commitRoundSeed(sql, { ...a, secret, commitment: seedCommitment(secret) });
      return { commitment: row.commitment };
    },

    /**
     * Reviewers who may be assigned this round: enlisted for the proposal, bond at least the protocol
     * minimum, with their running gold record; `paused` ones (gold accuracy below the threshold) are
     * drawn apart (assignPausedReviewers). With a round, this closes enlistment for it: the pool is
     * recorded with the seed derived from the round's committed secret and that pool
     * (domain/rlhf/round-seed.ts), and its bonds stay locked until the round settles (db/staking.ts);
     * a retry answers the recorded pool and seed. Without one (rounds started before the committed
     * seed), the pool as it is now, nothing recorded.
     */
    async reviewerPool(a: {
      proposalId: string;
      round?: number;
    }): Promise<{ minBond: string; reviewers: PoolReviewer[]; seed?: string }> {
      const min = BigInt(protocol.staking.minReviewBond);
      const round = a.round;
      const drawn =
        round === undefined
          ? {
              pool: (await bondedReviewers(sql, a.proposalId, BOND_PREFIX, min)).map((b) => ({
                reviewer: b.reviewer,
                stake: b.bond.toString(),
              })),
              seed: undefined,
            }
          : await drawRoundPool(sql, {
              proposalId: a.proposalId,
              round,
              bondAccountPrefix: BOND_PREFIX,
              minBond: min,
              derive: (secret, pool) => roundSeed({ proposalId: a.proposalId, round, secret, pool }),
            });
      const gold = await goldTotals(
        sql,
        drawn.pool.map((b) => b.reviewer),
      );
      return {
        minBond: min.toString(),
        ...(drawn.seed === undefined ? {} : { seed: drawn.seed }),
        reviewers: drawn.pool.map((b) => {
          const g = gold.get(b.reviewer) ?? { correct: 0, answered: 0 };
          return {
            reviewer: b.reviewer,
            stake: b.stake,
            paused: goldGate(g.correct, g.answered).paused,
            goldCorrect: g.correct,
            goldAnswered: g.answered,
          };
        }),
      };
    },

    /**
     * Gold items: held-out records whose label is known, offered as a choice among labels exactly
     * like a generated item (the true label plus others, in a seeded order). None when the
     * held-out set has fewer than two labels.
     */
    async pickGoldItems(a: {
      evalManifestKey: string;
      count: number;
      candidatesPerPrompt: number;
      excludePromptIds: string[];
      seed: string;
    }): Promise<(CandidateItem & { gold: string })[]> {
      if (a.count <= 0) return [];
      const held = parseManifest(await store.get(a.evalManifestKey));
      const labels = [...new Set(held.map((r) => r.label))].sort();
      if (labels.length < 2) return [];
      const exclude = new Set(a.excludePromptIds);
      const keyed = held
        .filter((r) => !exclude.has(r.hash.slice(0, 16)))
        .map((r) => ({ r, k: seedOf(`${a.seed}:gold:${r.hash}`) }))
        .sort((x, y) => x.k - y.k || (x.r.hash < y.r.hash ? -1 : 1));
      const seen = new Set<string>();
      const out: (CandidateItem & { gold: string })[] = [];
      for (const { r } of keyed) {
        if (out.length >= a.count) break;
        const promptId = r.hash.slice(0, 16);
        if (seen.has(promptId)) continue;
        seen.add(promptId);
        const rand = mulberry32(seedOf(`${a.seed}:gold-candidates:${promptId}`));
        const others = labels.filter((l) => l !== r.label);
        const picked = [r.label];
        while (picked.length < Math.min(a.candidatesPerPrompt, labels.length) && others.length > 0)
          picked.push(others.splice(Math.floor(rand() * others.length), 1)[0]!);
        for (let i = picked.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [picked[i], picked[j]] = [picked[j]!, picked[i]!];
        }
        out.push({ promptId, prompt: r.text, outputs: picked.map((o) => ({ output: o, score: 0 })), gold: r.label });
      }
      return out;
    },

    /** Records who may answer which task (idempotent). */
    async assignReviewTasks(a: { assignments: Assignment[]; extension: boolean }) {
      await insertReviewAssignments(
        sql,
        a.assignments.flatMap((x) =>
          x.reviewers.map((reviewer) => ({ taskId: x.taskId, reviewer, extension: a.extension })),
        ),
      );
    },

    /**
     * Settles a staked round with settleReviewRound: stake-majority consensus with clipping, gold
     * gate, rewards and bond penalties (unanswered assigned items count as disagreement), and
     * Krippendorff's alpha per round and per reviewer. Its inputs are the round's snapshot and the
     * answers fixed when the round closed, so a retry computes the same outcome; rows are written
     * with `on conflict do nothing` and every transfer is keyed by round and reviewer.
     */
    async settleStakedRound(a: {
      proposalId: string;
      round: number;
      taskIds: string[];
      reviewers: PoolReviewer[];
      assignments: Assignment[];
      extended: number;
    }) {
      const tasks = await roundTasks(sql, a.taskIds);
      const answers = await roundAnswers(sql, a.taskIds);
      const merged = new Map<string, Set<string>>();
      for (const x of a.assignments) {
        const set = merged.get(x.taskId) ?? new Set<string>();
        for (const r of x.reviewers) set.add(r);
        merged.set(x.taskId, set);
      }
      // Only reviewers with tasks this round have an outcome (the pool is every bonded account).
      const inRound = new Set([...merged.values()].flatMap((set) => [...set]));
      // The proposal's terms as it was started (protocol settings snapshotted into its parameters).
      const terms = withDefaults((await findProposalParams(sql, a.proposalId)) as DeepPartial<LifecycleParams>);
      const budget = await budgetOf(sql, a.proposalId);
      const rewardBudget = roundRewardBudget({
        reserved: BigInt(budget?.reserved ?? '0'),
        left: BigInt(budget?.left ?? '0'),
        pool: BigInt(terms.serving.rewardPool),
        rounds: terms.rlhf.rounds,
      });
      const settled = settleReviewRound({
        items: tasks.map((t) => ({ id: t.id, candidates: t.candidates, gold: t.goldAnswer ?? undefined })),
        answers,
        reviewers: a.reviewers
          .filter((r) => inRound.has(r.reviewer))
          .map((r) => ({
            reviewer: r.reviewer,
            stake: BigInt(r.stake),
            goldCorrect: r.goldCorrect,
            goldAnswered: r.goldAnswered,
            paused: r.paused,
          })),
        assignments: [...merged.entries()].map(([taskId, set]) => ({ taskId, reviewers: [...set] })),
        unansweredCountsAgainst: true,
        rewardBudget,
        agreementReward: BigInt(terms.rlhf.agreementReward),
        persistentDisagreement: {
          penalty: BigInt(terms.rlhf.disagreementPenalty),
          tolerance: terms.rlhf.disagreementTolerance,
        },
      });

      // Agreement among reviewers (answers to gold items included: they are ordinary to reviewers).
      const units = new Map<string, { reviewer: string; value: string }[]>();
      for (const x of answers)
        units.set(x.taskId, [...(units.get(x.taskId) ?? []), { reviewer: x.reviewer, value: x.choice }]);
      const alpha = krippendorffAlphaNominal([...units.values()]) ?? null;
      const alphaOf = new Map(krippendorffAlphaPerReviewer([...units.values()]).map((r) => [r.reviewer, r.alpha]));
      const answeredBy = new Map<string, number>();
      for (const x of answers) answeredBy.set(x.reviewer, (answeredBy.get(x.reviewer) ?? 0) + 1);
      const before = new Map(a.reviewers.map((r) => [r.reviewer, r]));

      const consensus = new Map(settled.items.map((c) => [c.id, c]));
      // Only answers that carried consensus weight are judged: a paused reviewer's answers stay
      // `agreed = null`, so they take no part of the inference-fee reviewer share
      // (listAgreedReviewerWeights counts agreed answers).
      const weighted = settled.reviewers.filter((o) => o.weighted).map((o) => o.reviewer);
      const preferences: PreferencePair[] = [];
      await sql.begin(async (tx) => {
        for (const t of tasks) {
          const c = consensus.get(t.id);
          await closeReviewTask(tx, t.id, c?.choice ?? null);
          if (!c?.resolved || c.choice === undefined) continue;
          await markAgreement(tx, t.id, c.choice, weighted);
          for (const other of t.candidates)
            if (other !== c.choice)
              preferences.push({ prompt: t.prompt, chosen: c.choice, rejected: other, weight: c.support });
        }
        for (const o of settled.reviewers) {
          const b = before.get(o.reviewer);
          await insertRoundReviewerOutcome(tx, {
            proposalId: a.proposalId,
            round: a.round,
            reviewer: o.reviewer,
            stake: o.stake.toString(),
            assigned: o.assigned,
            answered: answeredBy.get(o.reviewer) ?? 0,
            resolved: o.resolved,
            agreed: o.agreed,
            disagreed: o.disagreed,
            goldCorrect: o.goldCorrect - (b?.goldCorrect ?? 0),
            goldAnswered: o.goldAnswered - (b?.goldAnswered ?? 0),
            goldAccuracy: o.goldAccuracy,
            paused: o.paused,
            alpha: alphaOf.get(o.reviewer) ?? null,
            reward: o.reward.toString(),
            penalty: o.penalty.toString(),
          });
        }
      });
      // What was written first wins: a retry pays exactly the recorded outcome.
      const recorded = await roundOutcomes(sql, a.proposalId, a.round);
      const paid = await payReviewOutcomes(
        { ledger },
        {
          proposalId: a.proposalId,
          round: a.round,
          payouts: recorded.map((r) => ({
            reviewer: r.reviewer,
            reward: BigInt(r.reward),
            penalty: BigInt(r.penalty),
          })),
        },
      );
      // The draw's secret is published once every penalty is taken: until then the pool's bonds stay locked.
      await revealRoundSeed(sql, a.proposalId, a.round);
      const resolved = settled.items.filter((c) => c.resolved).length;
      return {
        preferences,
        summary: {
          answers: answers.length,
          rewarded: paid.rewarded.length,
          penalised: paid.penalised,
          flagged: paid.unpaid,
          consensus: resolved,
          alpha,
          gold: tasks.filter((t) => t.goldAnswer !== null).length,
          extended: a.extended,
          paused: settled.reviewers.filter((o) => o.paused).map((o) => o.reviewer),
          rules: {
            ...DEFAULT_REVIEW_RULES,
            agreementReward: terms.rlhf.agreementReward,
            disagreementPenalty: terms.rlhf.disagreementPenalty,
            disagreementTolerance: terms.rlhf.disagreementTolerance,
            roundRewardBudget: rewardBudget.toString(),
          },
          reviewers: settled.reviewers.map((o) => ({
            reviewer: o.reviewer,
            stake: o.stake.toString(),
            assigned: o.assigned,
            answered: answeredBy.get(o.reviewer) ?? 0,
            agreed: o.agreed,
            disagreed: o.disagreed,
            goldAccuracy: o.goldAccuracy,
            paused: o.paused,
            alpha: alphaOf.get(o.reviewer) ?? null,
            reward: o.reward.toString(),
            penalty: o.penalty.toString(),
          })),
        },
      };
    },
  };
}
