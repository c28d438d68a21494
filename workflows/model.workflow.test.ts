import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { WithStartWorkflowOperation } from '@temporalio/client';
import {
  startWorkflowTier,
  eventually,
  refusal,
  uniqueId,
  type Scope,
  type WorkflowTier,
} from '../test/workflow-tier/tier.js';
import { succeedingActivities } from '../test/workflow-tier/mocks.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { MODEL_WORKFLOW_TYPE, modelEntityStartOptions } from '../contracts/model-entity.js';
import { modelStatusQuery, promoteVersionUpdate, retireUpdate, rollbackUpdate } from '../contracts/messages.js';
import type { ModelEntityState } from '../domain/serving/model-entity.js';
import type { modelWorkflow } from './model.js';

/**
 * The served model's entity workflow with its activities mocked: promotions (update-with-start,
 * as the lifecycle hands a version over), rollbacks and their refusals, reward epochs (a failing
 * one never fails the entity), continue-as-new with its state, and retirement.
 */
describe.concurrent('model entity (workflow tier)', () => {
  let tier: WorkflowTier;

  beforeAll(async () => {
    tier = await startWorkflowTier(import.meta.url, succeedingActivities());
  });
  afterAll(async () => {
    await tier?.shutdown();
  });

  /** A registry stand-in: setProductionVersion answers with the version it replaced. */
  const withRegistry = (t: Scope) => {
    let production: number | null = null;
    t.mock({
      setProductionVersion: (a) => {
        const previous = production;
        production = a.version;
        return { productionVersion: a.version, previous };
      },
    });
    return t;
  };
  const model = (t: Scope) => `m-${t.key}`;
  const handle = (t: Scope) => tier.client.workflow.getHandle<typeof modelWorkflow>(workflowIds.model(model(t)));
  const promote = (
    t: Scope,
    version: number,
    opts: { settlementPeriodMs?: number; maxHistoryEvents?: number } = {},
  ) => {
    const start = modelEntityStartOptions({
      modelName: model(t),
      developer: 'dev-1',
      settlementPeriodMs: opts.settlementPeriodMs ?? 60_000,
    });
    if (opts.maxHistoryEvents) start.args[0].maxHistoryEvents = opts.maxHistoryEvents;
    return tier.client.workflow.executeUpdateWithStart(promoteVersionUpdate, {
      args: [{ version, proposalId: `${t.key}-p${version}` }],
      startWorkflowOperation: new WithStartWorkflowOperation<typeof modelWorkflow>(MODEL_WORKFLOW_TYPE, start),
    });
  };
  const rollback = (t: Scope, version: number) =>
    handle(t).executeUpdate(rollbackUpdate, { args: [{ version, requester: 'dev-1' }] });

  it('is started by the first promotion, owns every later one, and publishes its status', async () => {
    const t = withRegistry(tier.scope(uniqueId('promote')));
    expect(await promote(t, 1)).toEqual({ productionVersion: 1, previous: null });
    expect(await promote(t, 2)).toEqual({ productionVersion: 2, previous: 1 });
    expect(t.inputs('setProductionVersion')).toEqual([
      { modelName: model(t), version: 1, developer: 'dev-1', proposalId: `${t.key}-p1` },
      { modelName: model(t), version: 2, developer: 'dev-1', proposalId: `${t.key}-p2` },
    ]);
    const s = await handle(t).query(modelStatusQuery);
    expect(s).toMatchObject({ status: 'serving', productionVersion: 2, modelName: model(t), developer: 'dev-1' });
    expect(s.versions.map((v) => [v.version, v.proposalId])).toEqual([
      [1, `${t.key}-p1`],
      [2, `${t.key}-p2`],
    ]);
    const d = await handle(t).describe();
    expect(d.status.name).toBe('RUNNING');
    expect(d.searchAttributes.ModelStatus).toEqual(['serving']);
    expect(d.searchAttributes.ModelName).toEqual([model(t)]);
    expect(await refusal(promote(t, 0))).toBe('bad version 0');
  });

  it('rolls back to an earlier version, and refuses the version already in production', async () => {
    const t = withRegistry(tier.scope(uniqueId('rollback')));
    await promote(t, 1);
    await promote(t, 2);
    expect(await refusal(rollback(t, 2))).toBe('version 2 is already production');
    expect(await refusal(rollback(t, 0))).toBe('version must be a positive integer, got 0');
    expect(await rollback(t, 1)).toEqual({ productionVersion: 1, previous: 2 });
    expect(t.inputs('setProductionVersion').at(-1)).toEqual({
      modelName: model(t),
      version: 1,
      developer: 'dev-1',
      proposalId: '',
    });
    const s = await handle(t).query(modelStatusQuery);
    expect(s.productionVersion).toBe(1);
    expect(s.versions.map((v) => v.version)).toEqual([1, 2]); // a rollback registers nothing
  });

  it('settles a reward epoch every period and records its receipt root; an epoch that cannot settle never fails the entity', async () => {
    const t = withRegistry(tier.scope(uniqueId('epochs')));
    t.mock({
      settleModelEpoch: (a) => {
        if (a.epoch === 1) throw ApplicationFailure.nonRetryable('nothing in production', 'InsufficientFundsError');
        return { paid: String(100 * a.epoch), recipients: 2, receipts: { root: `root-${a.epoch}`, size: a.epoch } };
      },
    });
    await promote(t, 1, { settlementPeriodMs: 200 });
    const s = await eventually(async () => {
      const v = await handle(t).query(modelStatusQuery);
      return v.epoch >= 3 ? v : undefined;
    });
    const epochs = t.inputs('settleModelEpoch').map((a) => a.epoch);
    expect(epochs.slice(0, 3)).toEqual([1, 2, 3]);
    expect(t.inputs('settleModelEpoch').every((a) => a.modelName === model(t))).toBe(true);
    expect(s.lastEpoch).toMatchObject({ epoch: s.epoch, paid: String(100 * s.epoch), recipients: 2 });
    // The entity records each epoch's receipt root (docs/receipts.md) as the activity stored it.
    expect(s.lastEpoch?.receipts).toEqual({ root: `root-${s.epoch}`, size: s.epoch });
    expect((await handle(t).describe()).status.name).toBe('RUNNING');
    await handle(t).terminate('test done'); // its epochs would tick on beside the other tests
  });

  it('continues as new with its versions, production version and epoch count, and keeps taking updates', async () => {
    const t = withRegistry(tier.scope(uniqueId('can')));
    await promote(t, 1, { settlementPeriodMs: 100, maxHistoryEvents: 40 });
    const first = (await handle(t).describe()).runId;
    await eventually(async () => ((await handle(t).describe()).runId !== first ? true : undefined));
    expect(await promote(t, 2)).toEqual({ productionVersion: 2, previous: 1 });
    const before = (await handle(t).query(modelStatusQuery)).epoch;
    const second = (await handle(t).describe()).runId;
    await eventually(async () => ((await handle(t).describe()).runId !== second ? true : undefined));
    expect(await rollback(t, 1)).toEqual({ productionVersion: 1, previous: 2 });
    const s = await handle(t).query(modelStatusQuery);
    expect(s.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(s.productionVersion).toBe(1);
    expect(s.epoch).toBeGreaterThan(before);
    // Epochs continue across runs: each settled once, in order.
    const epochs = t.inputs('settleModelEpoch').map((a) => a.epoch);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
    await handle(t).terminate('test done');
  });

  it('retires on request (a reason required): nothing in production, the workflow completes', async () => {
    const t = withRegistry(tier.scope(uniqueId('retire')));
    await promote(t, 1);
    await promote(t, 2);
    expect(await refusal(handle(t).executeUpdate(retireUpdate, { args: [{ requester: 'dev-1', reason: '' }] }))).toBe(
      'a reason for the retirement is required',
    );
    expect(
      await handle(t).executeUpdate(retireUpdate, { args: [{ requester: 'dev-1', reason: 'superseded' }] }),
    ).toEqual({ retired: true });
    const done: ModelEntityState = await handle(t).result();
    expect(done).toMatchObject({ status: 'retired', retiredReason: 'superseded' });
    expect(done.productionVersion).toBeUndefined();
    expect(t.inputs('retireModel')).toEqual([{ modelName: model(t) }]);
    const d = await handle(t).describe();
    expect(d.status.name).toBe('COMPLETED');
    expect(d.searchAttributes.ModelStatus).toEqual(['retired']);
  });
});
