import type { ActivityDeps } from '../deps.js';
import { createLedgerActivities } from '../ledger/activities.js';
import { createGovernanceActivities } from '../governance/activities.js';
import { createRlhfActivities } from '../rlhf/activities.js';
import { createDeploymentActivities } from '../deployment/activities.js';
import { recordTransition, type StageTransition } from '../../db/queries/lifecycle-views.js';
import { recordRlhfRound } from '../../db/queries/training.js';

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
      await recordRlhfRound(sql, a);
    },
  };
}

export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;
