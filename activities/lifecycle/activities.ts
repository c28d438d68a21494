import type { ActivityDeps } from '../deps.js';
import { createLedgerActivities } from '../ledger/activities.js';
import { createGovernanceActivities } from '../governance/activities.js';
import { createRlhfActivities } from '../rlhf/activities.js';
import { createDeploymentActivities } from '../deployment/activities.js';
import { recordTransition, type StageTransition } from '../../db/queries/lifecycle-views.js';

/** Everything the `lifecycle` task queue runs: Postgres, ledger and promotion bookkeeping. */
export function createLifecycleActivities(deps: ActivityDeps) {
  const { sql } = deps;
  return {
    ...createLedgerActivities(deps),
    ...createGovernanceActivities(deps),
    ...createRlhfActivities(deps),
    ...createDeploymentActivities(deps),
    /**
     * Mirrors the workflow's stage, status and status view into Postgres (one transaction), so the
     * API answers status reads without querying the workflow.
     */
    async recordStage(a: StageTransition) {
      await recordTransition(sql, a);
    },
    async recordRound(a: {
      proposalId: string;
      round: number;
      artifactKey: string;
      metrics: unknown;
      summary: unknown;
    }) {
      await sql`
        insert into rlhf_rounds (proposal_id, round, status, artifact_key, metrics, summary)
        values (${a.proposalId}, ${a.round}, 'done', ${a.artifactKey}, ${sql.json(a.metrics as never)}, ${sql.json(a.summary as never)})
        on conflict (proposal_id, round) do update set status = 'done', artifact_key = excluded.artifact_key, metrics = excluded.metrics, summary = excluded.summary`;
    },
  };
}

export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;
