import type { ActivityDeps } from '../deps.js';
import { createStakedReviewActivities } from './staked-review.js';
import type { CandidateItem } from './candidates.js';

export type { CandidateItem } from './candidates.js';

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

    /** `weight` is the bond the round snapshotted (0 for a paused reviewer). */
    async recordReviewAnswer(a: { taskId: string; reviewer: string; choice: string; weight: string }) {
      await sql`
        insert into review_answers (task_id, reviewer, choice, weight) values (${a.taskId}, ${a.reviewer}, ${a.choice}, ${a.weight})
        on conflict do nothing`;
    },
  };
}
