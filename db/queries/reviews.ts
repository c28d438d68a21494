import type postgres from 'postgres';

/** Review tasks of RLHF rounds and the answers to them. */

export interface OpenReviewTask {
  id: string;
  proposalId: string;
  round: number;
  prompt: string;
  candidates: string[];
  requiredAnswers: number;
  answers: number;
  createdAt: Date;
}

/**
 * Open tasks, oldest first; with `reviewer`, only those that reviewer has not answered yet.
 */
export async function listOpenReviewTasks(
  sql: postgres.Sql,
  q: { reviewer?: string; proposalId?: string; limit: number },
): Promise<OpenReviewTask[]> {
  const rows = await sql<
    {
      id: string;
      proposal_id: string;
      round: number;
      prompt: string;
      candidates: string[];
      required_answers: number;
      created_at: Date;
      answers: number;
    }[]
  >`
    select t.id, t.proposal_id, t.round, t.prompt, t.candidates, t.required_answers, t.created_at,
           (select count(*)::int from review_answers a where a.task_id = t.id) as answers
    from review_tasks t
    where t.status = 'open'
      and (${q.proposalId ?? null}::text is null or t.proposal_id = ${q.proposalId ?? null})
      and (${q.reviewer ?? null}::text is null or not exists (select 1 from review_answers a where a.task_id = t.id and a.reviewer = ${q.reviewer ?? null}))
    order by t.created_at, t.id limit ${q.limit}`;
  return rows.map((r) => ({
    id: r.id,
    proposalId: r.proposal_id,
    round: r.round,
    prompt: r.prompt,
    candidates: r.candidates,
    requiredAnswers: r.required_answers,
    answers: r.answers,
    createdAt: r.created_at,
  }));
}

/** The round workflow that owns a task, and the task's status. */
export async function findReviewTask(
  sql: postgres.Sql,
  id: string,
): Promise<{ workflowId: string; status: string } | undefined> {
  const [t] = await sql<{ workflow_id: string; status: string }[]>`
    select workflow_id, status from review_tasks where id = ${id}`;
  return t && { workflowId: t.workflow_id, status: t.status };
}

/** Per reviewer of a proposal's rounds, how many answers agreed with the consensus (by address). */
export async function listAgreedReviewerWeights(
  sql: postgres.Sql,
  proposalId: string,
): Promise<{ address: string; weight: number }[]> {
  const rows = await sql<{ address: string; weight: number }[]>`
    select a.reviewer as address, count(*)::int as weight from review_answers a join review_tasks t on t.id = a.task_id
    where t.proposal_id = ${proposalId} and a.agreed group by a.reviewer order by a.reviewer`;
  return rows.map((r) => ({ address: r.address, weight: r.weight }));
}
