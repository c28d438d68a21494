import type { WorkerKind } from './task-queues.js';

/**
 * Temporal Worker Deployments, one per task queue kind, so each kind rolls out (and drains) on its
 * own: the lifecycle queue runs workflows and pins them to the version they started on; the other
 * queues run activities only, so their workers move to a new version as soon as it is current.
 * Workers, the rollout CLI (infra/versioning/cli.ts) and the manifests read these names from here.
 */
export const WORKER_DEPLOYMENTS = {
  lifecycle: 'commons-lifecycle',
  data: 'commons-data-collection',
  training: 'commons-gpu-training',
  rlhf: 'commons-gpu-rlhf',
} as const satisfies Record<WorkerKind, string>;

/**
 * Default versioning behaviour of workflows started on each queue. Lifecycle, collection, RLHF
 * round and model entity workflows are PINNED: a running workflow only ever replays on the code it
 * started with, so a deploy never meets a history its code cannot replay. A fix that must reach
 * running workflows goes patched() → deprecatePatch() → removal, checked against every release's
 * recorded histories (CONTRIBUTING, "Changing workflow code"). The activity-only queues run no
 * workflows; AUTO_UPGRADE is stated because a versioned worker must declare one.
 */
export const VERSIONING_BEHAVIOR = {
  lifecycle: 'PINNED',
  data: 'AUTO_UPGRADE',
  training: 'AUTO_UPGRADE',
  rlhf: 'AUTO_UPGRADE',
} as const satisfies Record<WorkerKind, 'PINNED' | 'AUTO_UPGRADE'>;
