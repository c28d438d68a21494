import type { ActivityDeps } from '../deps.js';
import { createStakedReviewActivities } from './staked-review.js';
import type { CandidateItem } from './candidates.js';
import { insertReviewAnswer, insertReviewTasks, openReviewTasks } from '../../db/queries/review-rounds.js';

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
      const tasks = a.items.map((item) => ({
        id: `${a.proposalId}-r${a.round}-${item.promptId}`,
        proposalId: a.proposalId,
        round: a.round,
        workflowId: a.workflowId,
        prompt: item.prompt,
        candidates: item.outputs.map((o) => o.output),
        requiredAnswers: a.requiredAnswers,
        goldAnswer: item.gold ?? null,
      }));
      await insertReviewTasks(sql, tasks);
      return tasks.map((t): { id: string; candidates: string[]; gold?: true } =>
        t.goldAnswer !== null
          ? { id: t.id, candidates: t.candidates, gold: true }
          : { id: t.id, candidates: t.candidates },
      );
    },

    /** Tasks become visible to reviewers only once the round workflow accepts answers for them. */
    async openReviewTasks(a: { taskIds: string[] }) {
      await openReviewTasks(sql, a.taskIds);
    },

    /** `weight` is the bond the round snapshotted (0 for a paused reviewer). */
    async recordReviewAnswer(a: { taskId: string; reviewer: string; choice: string; weight: string }) {
      await insertReviewAnswer(sql, a);
    },
  };
}
