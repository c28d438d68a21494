import type { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { TASK_QUEUES } from './task-queues.js';
import { workflowIds } from './workflow-ids.js';
import { ModelNameKey, ModelStatusKey } from './search-attributes.js';
import type { ModelEntityInput, ModelEntityState } from '../domain/serving/model-entity.js';

/** The entity workflow's type name (workflows/model.ts), for callers that do not bundle workflow code. */
export const MODEL_WORKFLOW_TYPE = 'modelWorkflow';

/**
 * How the lifecycle starts `model-<name>` on promotion, with update-with-start: the running entity
 * is used if there is one. An entity that completed was retired, so no fresh one starts after it
 * (`ALLOW_DUPLICATE_FAILED_ONLY`); only an admin's restore (modelEntityRestoreOptions) does.
 */
export function modelEntityStartOptions(a: { modelName: string; developer: string; settlementPeriodMs: number }) {
  return {
    workflowId: workflowIds.model(a.modelName),
    taskQueue: TASK_QUEUES.lifecycle,
    workflowIdConflictPolicy: 'USE_EXISTING' as WorkflowIdConflictPolicy,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' as WorkflowIdReusePolicy,
    args: [{ modelName: a.modelName, developer: a.developer, settlementPeriodMs: a.settlementPeriodMs }] as [
      ModelEntityInput,
    ],
    typedSearchAttributes: [
      { key: ModelNameKey, value: a.modelName },
      { key: ModelStatusKey, value: 'serving' },
    ],
    memo: { summary: `${a.modelName}: serving` },
  };
}

/**
 * How an admin's restore starts `model-<name>` again after its retirement: from the state the
 * registry recorded (versions, production version, epoch counter), never empty.
 */
export function modelEntityRestoreOptions(a: {
  modelName: string;
  developer: string;
  settlementPeriodMs: number;
  state: ModelEntityState;
}) {
  return {
    ...modelEntityStartOptions(a),
    workflowIdReusePolicy: 'ALLOW_DUPLICATE' as WorkflowIdReusePolicy,
    args: [
      { modelName: a.modelName, developer: a.developer, settlementPeriodMs: a.settlementPeriodMs, state: a.state },
    ] as [ModelEntityInput],
  };
}
