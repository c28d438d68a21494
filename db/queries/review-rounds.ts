import type postgres from 'postgres';

/**
 * What a review round writes: its tasks, who is assigned to each, the answers, and at settlement the
 * consensus per task, the agreement per answer and each reviewer's outcome. Every write is
 * idempotent (`on conflict do nothing`, or an update to the same values), so a retried activity
 * changes nothing.
 */

type Sql = postgres.Sql | postgres.TransactionSql;

export interface NewReviewTask {
  id: string;
  proposalId: string;
  round: number;
  workflowId: string;
  prompt: string;
  candidates: string[];
  requiredAnswers: number;
  /** Known answer of a gold task. */
  goldAnswer: string | null;
}

/** Inserts tasks as 'pending': reviewers see them once the round opens them. */
export async function insertReviewTasks(sql: Sql, tasks: readonly NewReviewTask[]): Promise<void> {
  for (const t of tasks)
    await sql`
      insert into review_tasks (id, proposal_id, round, workflow_id, prompt, candidates, required_answers, status, gold_answer)
      values (${t.id}, ${t.proposalId}, ${t.round}, ${t.workflowId}, ${t.prompt}, ${sql.json(t.candidates)}, ${t.requiredAnswers}, 'pending', ${t.goldAnswer})
      on conflict (id) do nothing`;
}

export async function openReviewTasks(sql: Sql, taskIds: readonly string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await sql`update review_tasks set status = 'open' where id in ${sql(taskIds)} and status = 'pending'`;
}

export async function insertReviewAssignments(
  sql: Sql,
  rows: readonly { taskId: string; reviewer: string; extension: boolean }[],
): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    insert into review_assignments ${sql(
      rows.map((r) => ({ task_id: r.taskId, reviewer: r.reviewer, extension: r.extension })),
      'task_id',
      'reviewer',
      'extension',
    )} on conflict do nothing`;
}

export async function insertReviewAnswer(
  sql: Sql,
  a: { taskId: string; reviewer: string; choice: string; weight: string },
): Promise<void> {
  await sql`
    insert into review_answers (task_id, reviewer, choice, weight) values (${a.taskId}, ${a.reviewer}, ${a.choice}, ${a.weight})
    on conflict do nothing`;
}

/** A round's tasks, by id. */
export async function roundTasks(
  sql: Sql,
  taskIds: readonly string[],
): Promise<{ id: string; prompt: string; candidates: string[]; goldAnswer: string | null }[]> {
  const rows = await sql<{ id: string; prompt: string; candidates: string[]; gold_answer: string | null }[]>`
    select id, prompt, candidates, gold_answer from review_tasks where id in ${sql(taskIds)} order by id`;
  return rows.map((r) => ({ id: r.id, prompt: r.prompt, candidates: r.candidates, goldAnswer: r.gold_answer }));
}

/** The answers to a round's tasks, by task and reviewer. */
export async function roundAnswers(
  sql: Sql,
  taskIds: readonly string[],
): Promise<{ taskId: string; reviewer: string; choice: string }[]> {
  const rows = await sql<{ task_id: string; reviewer: string; choice: string }[]>`
    select task_id, reviewer, choice from review_answers where task_id in ${sql(taskIds)} order by task_id, reviewer`;
  return rows.map((r) => ({ taskId: r.task_id, reviewer: r.reviewer, choice: r.choice }));
}

/** Closes a task with its consensus (null: unresolved). */
export async function closeReviewTask(sql: Sql, taskId: string, consensus: string | null): Promise<void> {
  await sql`update review_tasks set status = 'closed', consensus = ${consensus} where id = ${taskId}`;
}

/**
 * Marks each answer to a resolved task as agreeing with `consensus` or not; answers of reviewers not
 * in `weighted` (paused: no consensus weight) stay `agreed = null`.
 */
export async function markAgreement(
  sql: Sql,
  taskId: string,
  consensus: string,
  weighted: readonly string[],
): Promise<void> {
  await sql`update review_answers set agreed = case when reviewer = any(${weighted as string[]}::text[]) then choice = ${consensus} end
    where task_id = ${taskId}`;
}

export interface RoundReviewerOutcome {
  proposalId: string;
  round: number;
  reviewer: string;
  stake: string;
  assigned: number;
  answered: number;
  resolved: number;
  agreed: number;
  disagreed: number;
  goldCorrect: number;
  goldAnswered: number;
  goldAccuracy: number;
  paused: boolean;
  alpha: number | null;
  reward: string;
  penalty: string;
}

/** A reviewer's outcome of a round; the first one written stands. */
export async function insertRoundReviewerOutcome(sql: Sql, o: RoundReviewerOutcome): Promise<void> {
  await sql`
    insert into review_round_reviewers (proposal_id, round, reviewer, stake, assigned, answered, resolved, agreed, disagreed,
      gold_correct, gold_answered, gold_accuracy, paused, alpha, reward, penalty)
    values (${o.proposalId}, ${o.round}, ${o.reviewer}, ${o.stake}, ${o.assigned}, ${o.answered}, ${o.resolved}, ${o.agreed},
      ${o.disagreed}, ${o.goldCorrect}, ${o.goldAnswered}, ${o.goldAccuracy}, ${o.paused}, ${o.alpha}, ${o.reward}, ${o.penalty})
    on conflict do nothing`;
}

/** The recorded reward and penalty of each reviewer of a round, by reviewer. */
export async function roundOutcomes(
  sql: Sql,
  proposalId: string,
  round: number,
): Promise<{ reviewer: string; reward: string; penalty: string }[]> {
  return sql<{ reviewer: string; reward: string; penalty: string }[]>`
    select reviewer, reward::text, penalty::text from review_round_reviewers
    where proposal_id = ${proposalId} and round = ${round} order by reviewer`;
}
