import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';
import { accountsOf } from '../../contracts/accounts.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { MODEL_WORKFLOW_TYPE, modelEntityStartOptions } from '../../contracts/model-entity.js';
import { modelStatusQuery, promoteVersionUpdate, retireUpdate, rollbackUpdate } from '../../contracts/messages.js';
import { ApiError, type CommonsClient } from '../../client/commons-client.js';
import type { LifecycleStatusView } from '../../domain/lifecycle/types.js';
import type { modelWorkflow } from '../../workflows/model.js';

/**
 * A served model is its own long-lived workflow, `model-<name>`: the lifecycle hands each promoted
 * version to it (update-with-start), the API's rollback goes through it, it settles reward epochs
 * every `serving.settlementPeriodMs`, continues as new with its state, and retires.
 */
describe('model entity workflow', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const run = Date.now().toString(36);
  const model = `entity-${run}`;
  let v2: ScenarioResult;

  const lifecycle = (suffix: string) =>
    runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: `${model}-${suffix}`,
      modelName: model,
      developer: dev,
      records: 200,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '500',
        rlhf: { rounds: 0 },
        deployment: { minAccuracy: 0.5, minMacroF1: 0.3, maxRegression: 1 },
        serving: { settlementPeriodMs: 1000 },
      },
    });

  beforeAll(async () => {
    app = await startTestApp();
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    await lifecycle('a');
    v2 = await lifecycle('b');
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('is started by the lifecycle on its first promotion and owns every version after it', async () => {
    const result = (await app.temporal.workflow
      .getHandle(workflowIds.lifecycle(`${model}-a`))
      .result()) as LifecycleStatusView;
    expect(result.status).toBe('serving');
    expect(result.deployment.modelWorkflowId).toBe(workflowIds.model(model));
    const h = app.temporal.workflow.getHandle(workflowIds.model(model));
    const s = await h.query(modelStatusQuery);
    expect(s.status).toBe('serving');
    expect(s.productionVersion).toBe(2);
    expect(s.versions.map((v) => [v.version, v.proposalId])).toEqual([
      [1, `${model}-a`],
      [2, `${model}-b`],
    ]);
    const d = await h.describe();
    expect(d.status.name).toBe('RUNNING');
    expect(d.searchAttributes.ModelName).toEqual([model]);
    expect(d.searchAttributes.ModelStatus).toEqual(['serving']);
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of app.temporal.workflow.list({ query: `ModelStatus = "serving" AND ModelName = "${model}"` }))
        ids.push(w.workflowId);
      return ids.length ? ids : undefined;
    });
    expect(found).toEqual([workflowIds.model(model)]);
  });

  it('settles the rewards that accrue to the model to its contributors every epoch', async () => {
    // Version 2 is production: its dataset's contributors share the epoch.
    const contributors = v2.contributors.map((c) => c.address);
    const before = await Promise.all(contributors.map((c) => app.ledger.balance(c, 'OPEN')));
    await app.ledger.transfer({
      idempotencyKey: `test:${model}:accrue`,
      asset: 'OPEN',
      from: accountsOf.treasury,
      to: accountsOf.modelRewards(model),
      amount: '1001',
      reason: 'rewards accrued to the model (test)',
    });
    const h = app.temporal.workflow.getHandle(workflowIds.model(model));
    const epoch = await eventually(async () => {
      const s = await h.query(modelStatusQuery);
      return s.lastEpoch && s.lastEpoch.paid !== '0' ? s.lastEpoch : undefined;
    }, 30_000);
    expect(epoch.paid).toBe('1001');
    // The entity records the epoch's receipt root as the API publishes it (docs/receipts.md).
    const published = (await (await fetch(`${app.url}/v1/models/${model}/epochs/${epoch.epoch}`)).json()) as {
      root: string;
      size: number;
    };
    expect(epoch.receipts).toEqual({ root: published.root, size: published.size });
    expect(await app.ledger.balance(accountsOf.modelRewards(model), 'OPEN')).toBe('0');
    expect(await app.ledger.balance(accountsOf.modelEpoch(model, epoch.epoch), 'OPEN')).toBe('0');
    // The epoch's payments, by their keys (the contributors may also be earning inference fees now).
    const paid = await app.sql`
      select to_account, amount from transfers
      where idempotency_key like ${`model:${model}:epoch:${epoch.epoch}:%`} and from_account = ${accountsOf.modelEpoch(model, epoch.epoch)}`;
    expect(paid.reduce((sum, t) => sum + BigInt(String(t.amount)), 0n)).toBe(1001n);
    expect(paid.map((t) => String(t.to_account)).every((a) => contributors.includes(a))).toBe(true);
    const after = await Promise.all(contributors.map((c) => app.ledger.balance(c, 'OPEN')));
    for (const [i, c] of contributors.entries()) {
      const share = paid.filter((t) => t.to_account === c).reduce((sum, t) => sum + BigInt(String(t.amount)), 0n);
      expect(BigInt(after[i] ?? '0') - BigInt(before[i] ?? '0')).toBeGreaterThanOrEqual(share);
    }
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it("routes the API's rollback through the entity workflow", async () => {
    const r = await dev.rollback(model, 1);
    expect(r).toMatchObject({ productionVersion: 1, previous: 2 });
    const s = await app.temporal.workflow.getHandle(workflowIds.model(model)).query(modelStatusQuery);
    expect(s.productionVersion).toBe(1);
    const m = await dev.model(model);
    expect(m.productionVersion).toBe(1);
    const again = await dev.rollback(model, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(again).toBeInstanceOf(ApiError);
    expect((again as ApiError).status).toBe(409);
    expect((again as ApiError).message).toMatch(/already production/);
  });
});

describe('model entity workflow across continue-as-new', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const model = `entity-can-${Date.now().toString(36)}`;

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle'] });
    dev = await participant(app.url, ['developer']);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('continues as new with its versions and epochs, and retires', async () => {
    // A synthetic model: two registered versions, an entity that continues as new every few events.
    const name = model;
    for (const v of [1, 2])
      await app.sql`
        insert into model_versions (model_name, version, proposal_id, prefix, artifact_key, sha256, dataset_version_id, merkle_root, lineage, metrics, status)
        values (${name}, ${v}, ${`${name}-p${v}`}, ${`models/${name}/${v}/`}, ${`models/${name}/${v}/model.bin`}, 'x', 'none', 'x', '{}'::jsonb, '{}'::jsonb, 'candidate')`;
    const start = modelEntityStartOptions({ modelName: name, developer: dev.address, settlementPeriodMs: 200 });
    start.args[0].maxHistoryEvents = 40;
    const promote = (version: number) =>
      app.temporal.workflow.executeUpdateWithStart(promoteVersionUpdate, {
        args: [{ version, proposalId: `${name}-p${version}` }],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof modelWorkflow>(MODEL_WORKFLOW_TYPE, start),
      });
    expect(await promote(1)).toEqual({ productionVersion: 1, previous: null });
    const first = await app.temporal.workflow.getHandle(workflowIds.model(name)).describe();
    await eventually(async () => {
      const d = await app.temporal.workflow.getHandle(workflowIds.model(name)).describe();
      return d.runId !== first.runId ? true : undefined;
    }, 30_000);
    expect(await promote(2)).toEqual({ productionVersion: 2, previous: 1 });
    const h = app.temporal.workflow.getHandle(workflowIds.model(name));
    const epochBefore = (await h.query(modelStatusQuery)).epoch;
    await eventually(async () => {
      const d = await h.describe();
      const s = await h.query(modelStatusQuery);
      return d.runId !== first.runId && s.epoch > epochBefore + 3 ? true : undefined;
    }, 30_000);
    expect(await h.executeUpdate(rollbackUpdate, { args: [{ version: 1, requester: dev.address }] })).toEqual({
      productionVersion: 1,
      previous: 2,
    });
    const s = await h.query(modelStatusQuery);
    expect(s.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(s.productionVersion).toBe(1);
    let runs = 0;
    for await (const w of app.temporal.workflow.list({ query: `WorkflowId = "${workflowIds.model(name)}"` }))
      if (w.workflowId) runs++;
    expect(runs).toBeGreaterThan(1);

    expect(await h.executeUpdate(retireUpdate, { args: [{ requester: dev.address, reason: 'superseded' }] })).toEqual({
      retired: true,
    });
    const done = (await h.result()) as { status: string };
    expect(done.status).toBe('retired');
    const d = await h.describe();
    expect(d.searchAttributes.ModelStatus).toEqual(['retired']);
    const [m] = await app.sql`select production_version from models where name = ${name}`;
    expect(m?.production_version).toBeNull();
    const versions = await app.sql`select status from model_versions where model_name = ${name} order by version`;
    expect(versions.map((v) => String(v.status))).toEqual(['retired', 'retired']);
  });
});
