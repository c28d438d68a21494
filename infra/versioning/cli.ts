// `npm run versions -- <command>`: Worker Versioning operations for a release (docs/operations.md, "Versioned deploys").
//
//   status                                   each deployment's current version and every version's state
//                                            (current, ramping, draining: pinned lifecycles still open,
//                                            drained: safe to remove its workers, inactive)
//   set-current [--build-id ID] [--kinds k,...] [--timeout-ms N]
//                                            make a version current (default: this release's build id,
//                                            COMMONS_BUILD_ID); waits until its workers poll. Rolling back
//                                            is set-current with the previous build id.
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config.js';
import { TASK_QUEUES, type WorkerKind } from '../../contracts/task-queues.js';
import { resolveBuildId } from './build-id.js';
import { describeDeployments, setCurrentVersion } from './deployments.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    'build-id': { type: 'string' },
    kinds: { type: 'string' },
    'timeout-ms': { type: 'string' },
  },
});
const allKinds = Object.keys(TASK_QUEUES) as WorkerKind[];
const kinds = values.kinds ? (values.kinds.split(',') as WorkerKind[]) : allKinds;
const unknown = kinds.filter((k) => !allKinds.includes(k));
if (unknown.length) {
  console.error(`unknown worker kinds: ${unknown.join(', ')} (known: ${allKinds.join(', ')})`);
  process.exit(2);
}

const cfg = loadConfig({ DATABASE_URL: 'unused', ...process.env });
const connection = await Connection.connect({ address: cfg.temporal.address });
try {
  switch (positionals[0]) {
    case 'status':
      for (const d of await describeDeployments(connection.workflowService, cfg.temporal.namespace, kinds)) {
        console.log(`${d.deploymentName}: current ${d.currentBuildId ?? '(none: unversioned workers)'}`);
        for (const v of d.versions) console.log(`  ${v.buildId}  ${v.status}`);
      }
      break;
    case 'set-current': {
      const buildId = values['build-id'] ?? resolveBuildId(cfg.workers.buildId);
      for (const kind of kinds) {
        await setCurrentVersion(connection.workflowService, {
          namespace: cfg.temporal.namespace,
          kind,
          buildId,
          identity: 'commons-versions-cli',
          timeoutMs: Number(values['timeout-ms'] ?? 600_000),
        });
        console.log(`${kind}: ${buildId} is current`);
      }
      break;
    }
    default:
      console.error('usage: versions status | set-current [--build-id ID] [--kinds lifecycle,data,training,rlhf]');
      process.exitCode = 2;
  }
} finally {
  await connection.close();
}
