import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, testWorkerOptions, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.js';
import { describeDeployments, setCurrentVersion } from '../../infra/versioning/deployments.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import type { CommonsClient } from '../../client/commons-client.js';

const nextWorkflowsPath = fileURLToPath(new URL('../fixtures/versioning/workflows-next.ts', import.meta.url));

/**
 * Worker Versioning on the real stack: lifecycles started on version N stay pinned to N and
 * finish on N's workers after N+1 (whose lifecycle takes an extra step N's histories cannot
 * replay) is made current; new lifecycles run N+1; N reports drained once its last lifecycle
 * closes; and making N current again (a rollback) sends new lifecycles back to N.
 */
describe('versioned deploys', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let governor: CommonsClient;
  const runWorkers: RunningWorkers[] = [];
  const suffix = Date.now().toString(36);
  const vN = `test-n-${suffix}`;
  const vNext = `test-n1-${suffix}`;
  const kinds = ['lifecycle', 'data'] as const;
  // Passes governance on one vote, then fails the data gate when the short window closes empty:
  // a lifecycle that runs activities on two queues and a child workflow, in seconds.
  const params = {
    governance: { votingPeriodMs: 120_000 },
    collection: { windowMs: 1_500, pollIntervalMs: 300, minAcceptedRecords: 1 },
  };
  const ns = () => app.cfg.temporal.namespace;
  const service = () => app.temporal.workflowService;
  const votingOpen = (id: string) => eventually(async () => ((await dev.tally(id)).open ? true : undefined));
  const ended = (id: string) =>
    eventually(async () => {
      const s = await dev.proposal(id);
      return s.status !== 'running' ? s : undefined;
    }, 60_000);
  const versionOf = async (workflowId: string) => {
    const d = await app.temporal.workflow.getHandle(workflowId).describe();
    const v = d.raw.workflowExecutionInfo?.versioningInfo;
    return { buildId: v?.deploymentVersion?.buildId, behavior: v?.behavior, memo: d.memo };
  };
  const lifecycleStatus = async () => {
    const [d] = await describeDeployments(service(), ns(), ['lifecycle']);
    if (!d) throw new Error('the lifecycle worker deployment is not described');
    return d;
  };

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
    governor = await participant(app.url, ['governor'], { gOPEN: '1000000000' });
  });
  afterAll(async () => {
    if (governor) await retireGovernor(governor, dev.address);
    for (const w of runWorkers) await w.shutdown();
    await app?.close();
  });

  it('keeps old lifecycles on N, runs new ones on N+1, drains N, and rolls back', async () => {
    runWorkers.push(await startWorkers([...kinds], app.cfg, {}, { ...testWorkerOptions(), buildId: vN }));
    const old = uniqueId('v-old');
    await dev.propose(proposalBody(old, params));
    await votingOpen(old);

    // Deploy N+1 beside N and make it current.
    runWorkers.push(
      await startWorkers(
        [...kinds],
        app.cfg,
        {},
        { buildId: vNext, workflowsPath: nextWorkflowsPath, makeCurrent: true },
      ),
    );
    const during = await lifecycleStatus();
    expect(during.currentBuildId).toBe(vNext);
    expect(during.versions.find((v) => v.buildId === vN)?.status).toMatch(/draining|inactive/);

    const fresh = uniqueId('v-new');
    await dev.propose(proposalBody(fresh, params));
    await votingOpen(fresh);
    await governor.vote(old, 'yes');
    await governor.vote(fresh, 'yes');
    const [oldEnd, freshEnd] = await Promise.all([ended(old), ended(fresh)]);
    for (const s of [oldEnd, freshEnd]) {
      expect(s.status).toBe('failed-gate');
      expect(s.reason).toContain('only 0 records accepted');
    }

    // The old lifecycle and its child stayed on N (N+1's code would have failed to replay it);
    // the new one ran N+1's code.
    const PINNED = 1; // temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
    const oldV = await versionOf(workflowIds.lifecycle(old));
    expect(oldV).toMatchObject({ buildId: vN, behavior: PINNED });
    expect(oldV.memo?.codeVersion).toBeUndefined();
    expect((await versionOf(workflowIds.collection(old))).buildId).toBe(vN);
    const freshV = await versionOf(workflowIds.lifecycle(fresh));
    expect(freshV).toMatchObject({ buildId: vNext, behavior: PINNED });
    expect(freshV.memo?.codeVersion).toBe('next');
    expect((await versionOf(workflowIds.collection(fresh))).buildId).toBe(vNext);

    // With its last pinned lifecycle closed, N is drained: its workers can be removed.
    await eventually(
      async () =>
        (await lifecycleStatus()).versions.find((v) => v.buildId === vN)?.status === 'drained' ? true : undefined,
      60_000,
      1000,
    );

    // Rollback: N current again; a new lifecycle starts on N and runs N's code.
    for (const kind of kinds) await setCurrentVersion(service(), { namespace: ns(), kind, buildId: vN });
    const back = uniqueId('v-back');
    await dev.propose(proposalBody(back, params));
    await votingOpen(back);
    await governor.vote(back, 'no');
    expect((await ended(back)).status).toBe('rejected');
    const backV = await versionOf(workflowIds.lifecycle(back));
    expect(backV.buildId).toBe(vN);
    expect(backV.memo?.codeVersion).toBeUndefined();
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }, 240_000);
});
