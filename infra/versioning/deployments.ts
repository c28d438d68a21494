import type { WorkflowService } from '@temporalio/client';
import proto from '@temporalio/proto';
import { WORKER_DEPLOYMENTS } from '../../contracts/worker-deployments.js';
import type { WorkerKind } from '../../contracts/task-queues.js';

const DrainageStatus = proto.temporal.api.enums.v1.VersionDrainageStatus;

export interface VersionStatus {
  buildId: string;
  /** `current`, `ramping`, `draining` (pinned workflows still open), `drained` or `inactive`. */
  status: string;
}

export interface DeploymentStatus {
  kind: WorkerKind;
  deploymentName: string;
  currentBuildId?: string;
  versions: VersionStatus[];
}

/**
 * Makes `buildId` the current version of the deployment: new workflows start on it (and
 * auto-upgrade ones move to it); pinned ones stay where they are. Retries until the version's
 * workers have polled (a version exists once its first worker polls), up to `timeoutMs`.
 */
export async function setCurrentVersion(
  service: WorkflowService,
  opts: { namespace: string; kind: WorkerKind; buildId: string; identity?: string; timeoutMs?: number },
): Promise<void> {
  const deploymentName = WORKER_DEPLOYMENTS[opts.kind];
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    try {
      await service.setWorkerDeploymentCurrentVersion({
        namespace: opts.namespace,
        deploymentName,
        buildId: opts.buildId,
        identity: opts.identity ?? 'commons',
      });
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`could not make ${deploymentName} version ${opts.buildId} current: ${String(err)}`, {
          cause: err,
        });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Current version and every version's drainage state, per deployment. */
export async function describeDeployments(
  service: WorkflowService,
  namespace: string,
  kinds: WorkerKind[] = Object.keys(WORKER_DEPLOYMENTS) as WorkerKind[],
): Promise<DeploymentStatus[]> {
  const out: DeploymentStatus[] = [];
  for (const kind of kinds) {
    const deploymentName = WORKER_DEPLOYMENTS[kind];
    const r = await service.describeWorkerDeployment({ namespace, deploymentName }).catch((err: { code?: number }) => {
      if (err.code === 5) return undefined; // NOT_FOUND: no worker of this kind has polled yet
      throw err;
    });
    const info = r?.workerDeploymentInfo;
    const current = info?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined;
    const ramping = info?.routingConfig?.rampingDeploymentVersion?.buildId ?? undefined;
    out.push({
      kind,
      deploymentName,
      currentBuildId: current,
      versions: (info?.versionSummaries ?? []).map((v) => {
        const buildId = v.deploymentVersion?.buildId ?? '';
        const drainage = v.drainageInfo?.status ?? v.drainageStatus;
        const status =
          buildId === current
            ? 'current'
            : buildId === ramping
              ? 'ramping'
              : drainage === DrainageStatus.VERSION_DRAINAGE_STATUS_DRAINING
                ? 'draining'
                : drainage === DrainageStatus.VERSION_DRAINAGE_STATUS_DRAINED
                  ? 'drained'
                  : 'inactive';
        return { buildId, status };
      }),
    });
  }
  return out;
}
