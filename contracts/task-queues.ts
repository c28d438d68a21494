/**
 * Task queues: one worker entry point each (workers/<queue>.ts). Workflow code, workers, the API and
 * the manifests in infra/ all read these names from here.
 */
export const TASK_QUEUES = {
  lifecycle: 'lifecycle',
  data: 'data-collection',
  training: 'gpu-training',
  rlhf: 'gpu-rlhf',
} as const;

export type WorkerKind = keyof typeof TASK_QUEUES;
export type TaskQueue = (typeof TASK_QUEUES)[WorkerKind];
