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
  /** What the reviewer judges against: the proposal's title, domain, description and labels. */
  guidelines: { title: string; domain: string; description: string; labels: string[] } | null;
}

/**
 * Open tasks assigned to `reviewer` that it has not answered yet, oldest first. Without a reviewer
 * nothing is listed: a task is shown only to the reviewers it is assigned to.
 */
export async function listOpenReviewTasks(
  sql: postgres.Sql,
  q: { reviewer?: string; proposalId?: string; limit: number; after?: readonly [string, string] },
): Promise<(OpenReviewTask & { key: [string, string] })[]> {
  const [at, afterId] = q.after ?? [null, null];
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
      title: string | null;
      domain: string | null;
      description: string | null;
      labels: string[] | null;
      at: string;
    }[]
  >`
    select t.id, t.proposal_id, t.round, t.prompt, t.candidates, t.required_answers, t.created_at, t.created_at::text as at,
           (select count(*)::int from review_answers a where a.task_id = t.id) as answers,
           p.title, p.domain, p.description, p.labels
    from review_tasks t left join proposals p on p.id = t.proposal_id
    where t.status = 'open'
      and (${q.proposalId ?? null}::text is null or t.proposal_id = ${q.proposalId ?? null})
      and (${q.reviewer ?? null}::text is null or not exists (select 1 from review_answers a where a.task_id = t.id and a.reviewer = ${q.reviewer ?? null}))
      and exists (select 1 from review_assignments s where s.task_id = t.id and s.reviewer = ${q.reviewer ?? null})
      and (${at}::timestamptz is null or (t.created_at, t.id) > (${at}::timestamptz, ${afterId}::text))
    order by t.created_at, t.id limit ${q.limit}`;
  return rows.map((r) => ({
    key: [r.at, r.id],
    id: r.id,
    proposalId: r.proposal_id,
    round: r.round,
    prompt: r.prompt,
    candidates: r.candidates,
    requiredAnswers: r.required_answers,
    answers: r.answers,
    createdAt: r.created_at,
    guidelines:
      r.title === null
        ? null
        : { title: r.title, domain: r.domain ?? '', description: r.description ?? '', labels: r.labels ?? [] },
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

export async function isAssignedReviewer(sql: postgres.Sql, taskId: string, reviewer: string): Promise<boolean> {
  const [r] = await sql`select 1 from review_assignments where task_id = ${taskId} and reviewer = ${reviewer}`;
  return r !== undefined;
}

/** Running gold totals of reviewers (sums over their settled rounds). */
export async function goldTotals(
  sql: postgres.Sql,
  reviewers: readonly string[],
): Promise<Map<string, { correct: number; answered: number }>> {
  if (reviewers.length === 0) return new Map();
  const rows = await sql<{ reviewer: string; correct: number; answered: number }[]>`
    select reviewer, sum(gold_correct)::int as correct, sum(gold_answered)::int as answered
    from review_round_reviewers where reviewer in ${sql(reviewers)} group by reviewer`;
  return new Map(rows.map((r) => [r.reviewer, { correct: r.correct, answered: r.answered }]));
}

/**
 * Reviewers enlisted for a proposal whose review bond (`bondAccountPrefix` + address) holds at
 * least `minBond`, by address.
 */
export async function bondedReviewers(
  sql: postgres.Sql,
  proposalId: string,
  bondAccountPrefix: string,
  minBond: bigint,
): Promise<{ reviewer: string; bond: bigint }[]> {
  const rows = await sql<{ reviewer: string; amount: string }[]>`
    select e.reviewer, b.amount::text as amount from review_enlistments e
    join balances b on b.account = ${bondAccountPrefix} || e.reviewer and b.asset = 'OPEN'
    where e.proposal_id = ${proposalId} and b.amount >= ${minBond.toString()}
    order by e.reviewer`;
  return rows.map((r) => ({ reviewer: r.reviewer, bond: BigInt(r.amount) }));
}

/** Enlists a reviewer for a proposal's rounds; true when newly enlisted. */
export async function enlistReviewer(sql: postgres.Sql, proposalId: string, reviewer: string): Promise<boolean> {
  const rows = await sql`
    insert into review_enlistments (proposal_id, reviewer) values (${proposalId}, ${reviewer}) on conflict do nothing returning 1`;
  return rows.length > 0;
}

export interface ReviewerRoundRow {
  proposalId: string;
  round: number;
  stake: string;
  assigned: number;
  answered: number;
  agreed: number;
  disagreed: number;
  goldCorrect: number;
  goldAnswered: number;
  goldAccuracy: number;
  paused: boolean;
  alpha: number | null;
  reward: string;
  penalty: string;
  settledAt: Date;
}

/**
 * A page of a reviewer's settled rounds, newest first, after the sort key `page.after`
 * ([settled_at as Postgres prints it, proposal id, round]); each row carries its own key.
 */
export async function reviewerRounds(
  sql: postgres.Sql,
  reviewer: string,
  page: { limit: number; after?: readonly [string, string, number] },
): Promise<(ReviewerRoundRow & { key: [string, string, number] })[]> {
  const [at, proposal, round] = page.after ?? [null, null, null];
  const rows = await sql<
    {
      at: string;
      proposal_id: string;
      round: number;
      stake: string;
      assigned: number;
      answered: number;
      agreed: number;
      disagreed: number;
      gold_correct: number;
      gold_answered: number;
      gold_accuracy: number;
      paused: boolean;
      alpha: number | null;
      reward: string;
      penalty: string;
      settled_at: Date;
    }[]
  >`select proposal_id, round, stake::text, assigned, answered, agreed, disagreed, gold_correct, gold_answered,
           gold_accuracy, paused, alpha, reward::text, penalty::text, settled_at, settled_at::text as at
    from review_round_reviewers where reviewer = ${reviewer}
      and (${at}::timestamptz is null or settled_at < ${at}::timestamptz
        or (settled_at = ${at}::timestamptz and (proposal_id collate "C", round) > (${proposal}::text collate "C", ${round}::int)))
    order by settled_at desc, proposal_id collate "C", round limit ${page.limit}`;
  return rows.map((r) => ({
    key: [r.at, r.proposal_id, r.round],
    proposalId: r.proposal_id,
    round: r.round,
    stake: r.stake,
    assigned: r.assigned,
    answered: r.answered,
    agreed: r.agreed,
    disagreed: r.disagreed,
    goldCorrect: r.gold_correct,
    goldAnswered: r.gold_answered,
    goldAccuracy: r.gold_accuracy,
    paused: r.paused,
    alpha: r.alpha,
    reward: r.reward,
    penalty: r.penalty,
    settledAt: r.settled_at,
  }));
}

/** Settled rounds of a proposal with their summaries (agreement, extension, per-reviewer outcomes). */
export async function roundSummaries(
  sql: postgres.Sql,
  proposalId: string,
  page: { limit: number; after?: number },
): Promise<{ round: number; status: string; summary: Record<string, unknown> | null }[]> {
  return sql<{ round: number; status: string; summary: Record<string, unknown> | null }[]>`
    select round, status, summary from rlhf_rounds where proposal_id = ${proposalId}
      and (${page.after ?? null}::int is null or round > ${page.after ?? null}::int)
    order by round limit ${page.limit}`;
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

/**
 * Cancels the open and pending review tasks of a lifecycle that ended, and reveals the seeds of its
 * unsettled rounds: they will never settle, so their pools' bonds are no longer locked.
 */
export async function cancelOpenReviewTasks(sql: postgres.Sql, proposalId: string): Promise<void> {
  await sql`update review_tasks set status = 'cancelled' where proposal_id = ${proposalId} and status in ('open', 'pending')`;
  await sql`update review_round_seeds set revealed_at = now() where proposal_id = ${proposalId} and revealed_at is null`;
}
