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

export interface TrainingEpoch {
  runId: string;
  /** 1-based. */
  epoch: number;
  /** The step the epoch ended at. */
  step: number;
  /** The mean training loss of the epoch's steps. */
  loss: number;
}

/** An epoch's loss (a retry that trains the epoch again replaces it). */
export async function recordTrainingEpoch(sql: postgres.Sql, e: TrainingEpoch & { proposalId: string }): Promise<void> {
  await sql`
    insert into training_epochs (run_id, proposal_id, epoch, step, loss) values (${e.runId}, ${e.proposalId}, ${e.epoch}, ${e.step}, ${e.loss})
    on conflict (run_id, epoch) do update set step = excluded.step, loss = excluded.loss, recorded_at = now()`;
}

/** A proposal's fine-tune loss curve, epoch by epoch (bounded: a run has at most its hyperparameters' epochs). */
export async function listTrainingEpochs(sql: postgres.Sql, proposalId: string): Promise<TrainingEpoch[]> {
  const rows = await sql<{ run_id: string; epoch: number; step: number; loss: number }[]>`
    select run_id, epoch, step, loss from training_epochs where proposal_id = ${proposalId} order by run_id, epoch limit 1000`;
  return rows.map((r) => ({ runId: r.run_id, epoch: r.epoch, step: r.step, loss: Number(r.loss) }));
}

/** The held-out metrics of a proposal's finished fine-tunes (the first point of the held-out curve). */
export async function listFinishedTrainingRuns(
  sql: postgres.Sql,
  proposalId: string,
): Promise<{ runId: string; metrics: unknown; finishedAt: Date }[]> {
  const rows = await sql<{ id: string; metrics: unknown; finished_at: Date }[]>`
    select id, metrics, finished_at from training_runs where proposal_id = ${proposalId} and status = 'succeeded' and kind = 'fine-tune'
    order by finished_at limit 100`;
  return rows.map((r) => ({ runId: r.id, metrics: r.metrics, finishedAt: r.finished_at }));
}
