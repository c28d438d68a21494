import type { ActivityDeps } from '../deps.js';
import { payFromBudget } from '../../db/budgets.js';
import { slashValidator } from '../../db/staking.js';
import { accountsOf } from '../../contracts/accounts.js';
import type { PreferencePair } from '../../ml/trainer.js';
import { consensusOf, persistentDisagreers } from '../../domain/rlhf/consensus.js';
import { krippendorffAlphaNominal } from '../../domain/rlhf/krippendorff.js';
import { createStakedReviewActivities } from './staked-review.js';
import type { CandidateItem } from './candidates.js';

export type { CandidateItem } from './candidates.js';

/** One unit of review weight; validators add their staked OPEN on top (stake-weighted agreement). */
const BASE_WEIGHT = 1n;

export function createRlhfActivities({
  sql,
  ledger,
  store,
  protocol,
}: Pick<ActivityDeps, 'sql' | 'ledger' | 'store' | 'protocol'>) {
  return {
    ...createStakedReviewActivities({ sql, ledger, store, protocol }),

    async createReviewTasks(a: {
      proposalId: string;
      round: number;
      workflowId: string;
      requiredAnswers: number;
      items: CandidateItem[];
    }) {
      const out: { id: string; candidates: string[]; gold?: true }[] = [];
      for (const item of a.items) {
        const id = `${a.proposalId}-r${a.round}-${item.promptId}`;
        const candidates = item.outputs.map((o) => o.output);
        await sql`
          insert into review_tasks (id, proposal_id, round, workflow_id, prompt, candidates, required_answers, status, gold_answer)
          values (${id}, ${a.proposalId}, ${a.round}, ${a.workflowId}, ${item.prompt}, ${sql.json(candidates)}, ${a.requiredAnswers}, 'pending', ${item.gold ?? null})
          on conflict (id) do nothing`;
        out.push(item.gold !== undefined ? { id, candidates, gold: true } : { id, candidates });
      }
      return out;
    },

    /** Tasks become visible to reviewers only once the round workflow accepts answers for them. */
    async openReviewTasks(a: { taskIds: string[] }) {
      await sql`update review_tasks set status = 'open' where id in ${sql(a.taskIds)} and status = 'pending'`;
    },

    /** `weight` (staked rounds) is the bond the round snapshotted; older rounds weigh 1 + validator stake now. */
    async recordReviewAnswer(a: { taskId: string; reviewer: string; choice: string; weight?: string }) {
      const weight =
        a.weight ??
        (BASE_WEIGHT + BigInt(await ledger.balance(accountsOf.validatorStake(a.reviewer), 'OPEN'))).toString();
      await sql`
        insert into review_answers (task_id, reviewer, choice, weight) values (${a.taskId}, ${a.reviewer}, ${a.choice}, ${weight})
        on conflict do nothing`;
    },

    /**
     * Consensus per task, rewards for agreeing answers (from the treasury) and penalties for
     * persistent disagreement (from validator stake). Every transfer is keyed by round, task and
     * reviewer, so a retried settlement moves money once.
     */
    async settleRound(a: {
      proposalId: string;
      round: number;
      taskIds: string[];
      agreementReward: string;
      disagreementPenalty: string;
      disagreementTolerance: number;
    }) {
      const tasks = await sql<
        { id: string; prompt: string; candidates: string[] }[]
      >`select id, prompt, candidates from review_tasks where id in ${sql(a.taskIds)}`;
      const answers = await sql<
        { task_id: string; reviewer: string; choice: string; weight: string }[]
      >`select task_id, reviewer, choice, weight from review_answers where task_id in ${sql(a.taskIds)}`;
      const preferences: PreferencePair[] = [];
      // Inter-reviewer agreement of the round (Krippendorff's alpha, nominal), for the round summary.
      const units = new Map<string, { reviewer: string; value: string }[]>();
      for (const x of answers) {
        const list = units.get(x.task_id) ?? [];
        list.push({ reviewer: x.reviewer, value: x.choice });
        units.set(x.task_id, list);
      }
      const alpha = krippendorffAlphaNominal([...units.values()]) ?? null;
      const judged: { reviewer: string; agreed: boolean; taskId: string }[] = [];
      for (const t of tasks) {
        const mine = answers
          .filter((x) => x.task_id === t.id)
          .map((x) => ({ reviewer: x.reviewer, choice: x.choice, weight: BigInt(x.weight) }));
        const c = consensusOf(t.candidates, mine);
        await sql`update review_tasks set status = 'closed', consensus = ${c?.choice ?? null} where id = ${t.id}`;
        if (!c) continue;
        for (const x of mine) {
          const agreed = x.choice === c.choice;
          judged.push({ reviewer: x.reviewer, agreed, taskId: t.id });
          await sql`update review_answers set agreed = ${agreed} where task_id = ${t.id} and reviewer = ${x.reviewer}`;
        }
        for (const other of t.candidates) {
          if (other !== c.choice)
            preferences.push({ prompt: t.prompt, chosen: c.choice, rejected: other, weight: c.share });
        }
      }
      let rewarded = 0;
      if (BigInt(a.agreementReward) > 0n) {
        for (const j of judged.filter((x) => x.agreed)) {
          // From the proposal's reserved budget: at most what is left, never failing for funds.
          const r = await payFromBudget(sql, ledger, {
            idempotencyKey: `review:${j.taskId}:${j.reviewer}:reward`,
            proposalId: a.proposalId,
            to: j.reviewer,
            amount: a.agreementReward,
            reason: `review reward (round ${a.round})`,
          });
          if (BigInt(r.paid) > 0n) rewarded++;
        }
      }
      const penalised: string[] = [];
      const flagged: string[] = [];
      for (const reviewer of persistentDisagreers(judged, a.disagreementTolerance)) {
        const { slashed } = await slashValidator(ledger, {
          validator: reviewer,
          amount: a.disagreementPenalty,
          idempotencyKey: `rlhf:${a.proposalId}:r${a.round}:${reviewer}:penalty`,
          reason: `persistent disagreement with consensus (round ${a.round})`,
          proposalId: a.proposalId,
        });
        if (BigInt(slashed) > 0n) penalised.push(reviewer);
        else flagged.push(reviewer); // no stake to slash: recorded, and their answers earned nothing
      }
      return {
        preferences,
        summary: { answers: judged.length, rewarded, penalised, flagged, consensus: tasks.length, alpha },
      };
    },
  };
}
