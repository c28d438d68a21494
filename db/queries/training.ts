import type postgres from 'postgres';

/** Training runs (fine-tunes on the gpu-training queue) and the RLHF rounds that follow them. */

/** A fine-tune starts (or a retry starts it again). */
export async function startTrainingRun(
  sql: postgres.Sql,
  r: { id: string; proposalId: string; trainer: string },
): Promise<void> {
  await sql`insert into training_runs (id, proposal_id, kind, trainer, status) values (${r.id}, ${r.proposalId}, 'fine-tune', ${r.trainer}, 'running') on conflict (id) do update set status = 'running'`;
}

export async function finishTrainingRun(
  sql: postgres.Sql,
  id: string,
  r: { artifactKey: string; sha256: string; metrics: unknown; steps: number; resumedFromStep: number },
): Promise<void> {
  await sql`
    update training_runs set status = 'succeeded', artifact_key = ${r.artifactKey}, sha256 = ${r.sha256}, metrics = ${sql.json(r.metrics as never)},
      steps = ${r.steps}, resumed_from_step = ${r.resumedFromStep}, finished_at = now() where id = ${id}`;
}

/** An RLHF round's result (idempotent per proposal and round). */
export async function recordRlhfRound(
  sql: postgres.Sql,
  r: { proposalId: string; round: number; artifactKey: string; metrics: unknown; summary: unknown },
): Promise<void> {
  await sql`
    insert into rlhf_rounds (proposal_id, round, status, artifact_key, metrics, summary)
    values (${r.proposalId}, ${r.round}, 'done', ${r.artifactKey}, ${sql.json(r.metrics as never)}, ${sql.json(r.summary as never)})
    on conflict (proposal_id, round) do update set status = 'done', artifact_key = excluded.artifact_key, metrics = excluded.metrics, summary = excluded.summary`;
}
