import type { WorkflowIdConflictPolicy } from '@temporalio/common';
import { TASK_QUEUES } from './task-queues.js';
import { workflowIds } from './workflow-ids.js';
import { ModelNameKey, ModelStatusKey } from './search-attributes.js';
import type { ModelEntityInput } from '../domain/serving/model-entity.js';

/** The entity workflow's type name (workflows/model.ts), for callers that do not bundle workflow code. */
export const MODEL_WORKFLOW_TYPE = 'modelWorkflow';

/**
 * How the lifecycle starts `model-<name>` on promotion, with update-with-start: the running entity
 * is used if there is one.
 */
export function modelEntityStartOptions(a: { modelName: string; developer: string; settlementPeriodMs: number }) {
  return {
    workflowId: workflowIds.model(a.modelName),
    taskQueue: TASK_QUEUES.lifecycle,
    workflowIdConflictPolicy: 'USE_EXISTING' as WorkflowIdConflictPolicy,
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
