import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';
import { generateKeyPair } from '../../identity/keys.js';
import { ApiError, CommonsClient } from '../../client/commons-client.js';
import { startApi } from '../../api/bootstrap.js';
import { loadConfig } from '../../infra/config.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { MODEL_WORKFLOW_TYPE, modelEntityStartOptions } from '../../contracts/model-entity.js';
import { modelStatusQuery, promoteVersionUpdate } from '../../contracts/messages.js';
import { ERROR_TYPES } from '../../contracts/error-types.js';
import { accountsOf } from '../../contracts/accounts.js';
import { createDeploymentActivities } from '../../activities/deployment/activities.js';
import type { modelWorkflow } from '../../workflows/model.js';

/**
 * Attacks on a retired model: paid calls by version and as `name@N` (JSON and streamed) after an
 * admin retired it, the developer's rollback, and a later lifecycle's hand-over, which with
 * update-with-start would start a fresh entity in "serving" after the retired one completed. Only
 * serving versions serve, nothing is charged, and only an admin's restore brings the model back,
 * from the versions the registry recorded.
 */
describe('adversarial: retired models', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let admin: CommonsClient;
  let served: ScenarioResult;
  const adminKeys = generateKeyPair();
  const model = `retired-${Date.now().toString(36)}`;
  const ask = { role: 'user' as const, content: 'free money click here to claim your prize' };

  const chat = (body: Record<string, unknown>) =>
    fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${served.apiKey}` },
      body: JSON.stringify({ messages: [ask], ...body }),
    });
  const infer = (path: string, baseUrl = app.url) =>
    fetch(`${baseUrl}/v1/models/${model}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${served.apiKey}` },
      body: JSON.stringify({ input: ask.content }),
    });
  /** What the app builder has paid so far: its balance and its recorded calls. */
  const paidSoFar = async () => {
    const [calls] = await app.sql<{ n: number }[]>`
      select count(*)::int as n from inference_calls where payer = ${served.appBuilder.address}`;
    return { balance: await app.ledger.balance(served.appBuilder.address, 'OPEN'), calls: calls?.n };
  };
  const listed = async () =>
    ((await (await fetch(`${app.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);
  /** Accrues rewards to the model and waits for its entity to settle them in an epoch. */
  const settledEpoch = async (amount: string, key: string) => {
    await app.ledger.transfer({
      idempotencyKey: `test:${model}:${key}`,
      asset: 'OPEN',
      from: accountsOf.treasury,
      to: accountsOf.modelRewards(model),
      amount,
      reason: 'rewards accrued to the model (test)',
    });
    const entity = app.temporal.workflow.getHandle(workflowIds.model(model));
    return eventually(async () => {
      const s = await entity.query(modelStatusQuery);
      return s.lastEpoch?.paid === amount ? s.lastEpoch.epoch : undefined;
    }, 30_000);
  };
  /** The last epoch settled before the retirement. */
  let epochBeforeRetirement = 0;
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as ApiError,
    );

  beforeAll(async () => {
    app = await startTestApp({ env: { COMMONS_ADMIN_ADDRESSES: adminKeys.address } });
    admin = new CommonsClient(app.url, adminKeys);
    await admin.register(['admin']);
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    served = await runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: `${model}-a`,
      modelName: model,
      developer: dev,
      records: 200,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '500',
        rlhf: { rounds: 0 },
        deployment: { minAccuracy: 0.5, minMacroF1: 0.3, maxRegression: 1 },
        serving: { feePerCall: '10', settlementPeriodMs: 1000 },
      },
    });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('refuses paid calls by version and as name@N, streamed or not, once retired, and charges nothing', async () => {
    // Served and charged before the retirement.
    const before = await paidSoFar();
    expect((await infer('/versions/1/infer')).status).toBe(200);
    expect((await chat({ model: `${model}@1` })).status).toBe(200);
    const charged = await paidSoFar();
    expect(charged.calls).toBe((before.calls ?? 0) + 2);

    epochBeforeRetirement = await settledEpoch('1001', 'accrue-1');
    await admin.signed('POST', `/v1/models/${model}/retire`, { reason: 'withdrawn from service' });
    for (const r of [
      await infer('/versions/1/infer'),
      await infer('/infer'),
      await chat({ model: `${model}@1` }),
      await chat({ model: `${model}@1`, stream: true }),
      await chat({ model }),
    ]) {
      expect(r.status).toBe(410);
      expect(r.headers.get('content-type')).not.toMatch(/event-stream/);
      expect(JSON.stringify(await r.json())).toMatch(/retired/);
    }
    expect(await paidSoFar()).toEqual(charged);
    expect(await listed()).not.toContain(model);
    const m = await dev.model(model);
    expect(m).toMatchObject({ status: 'retired', productionVersion: null });
    expect(m.versions.map((v) => v.status)).toEqual(['retired']);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it("refuses the developer's rollback and a later hand-over: the retired entity is never restarted", async () => {
    const entity = app.temporal.workflow.getHandle(workflowIds.model(model));
    const retiredRun = await eventually(async () => {
      const d = await entity.describe();
      return d.status.name === 'COMPLETED' ? d.runId : undefined;
    });
    const rollback = await refusal(dev.rollback(model, 1));
    expect(rollback).toBeInstanceOf(ApiError);
    expect(rollback?.status).toBe(409);
    expect(rollback?.message).toMatch(/retired/);

    // A later lifecycle's deployment: the registry refuses the version before anything is copied...
    const deploy = createDeploymentActivities({ sql: app.sql, store: app.store, ledger: app.ledger });
    await expect(
      deploy.promoteModel({
        proposalId: `${model}-b`,
        modelName: model,
        developer: dev.address,
        stagingArtifactKey: 'staging/none',
        datasetVersionId: 'none',
        merkleRoot: 'none',
        metrics: { accuracy: 1, macroF1: 1, perLabel: {}, confusion: {}, n: 1 } as never,
        lineage: {},
      }),
    ).rejects.toMatchObject({ type: ERROR_TYPES.modelRefused, nonRetryable: true });
    // ...and the hand-over's update-with-start (as a retirement landing after the registry check
    // would see it) cannot start a fresh entity after the retired one.
    const start = modelEntityStartOptions({ modelName: model, developer: dev.address, settlementPeriodMs: 1000 });
    await expect(
      app.temporal.workflow.executeUpdateWithStart(promoteVersionUpdate, {
        args: [{ version: 1, proposalId: `${model}-b` }],
        updateId: `promote-${model}-b`,
        startWorkflowOperation: new WithStartWorkflowOperation<typeof modelWorkflow>(MODEL_WORKFLOW_TYPE, start),
      }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);

    const d = await entity.describe();
    expect(d.runId).toBe(retiredRun);
    expect(d.status.name).toBe('COMPLETED');
    expect(d.searchAttributes.ModelStatus).toEqual(['retired']);
    expect(await listed()).not.toContain(model);
    expect((await dev.model(model)).productionVersion).toBeNull();
    expect((await infer('/versions/1/infer')).status).toBe(410);
  });

  it("brings the model back only by an admin's restore, from the recorded versions", async () => {
    const byDeveloper = await refusal(dev.signed('POST', `/v1/models/${model}/restore`, { reason: 'mine' }));
    expect(byDeveloper?.status).toBe(403);
    const before = await paidSoFar();
    const restored = await admin.signed('POST', `/v1/models/${model}/restore`, { reason: 'appeal upheld' });
    expect(restored).toEqual({ model, productionVersion: 1, versions: [1] });
    const again = await refusal(admin.signed('POST', `/v1/models/${model}/restore`, { reason: 'twice' }));
    expect(again?.status).toBe(409);

    const entity = app.temporal.workflow.getHandle(workflowIds.model(model));
    const s = await entity.query(modelStatusQuery);
    expect(s).toMatchObject({ status: 'serving', productionVersion: 1, developer: dev.address });
    expect(s.epoch).toBeGreaterThanOrEqual(epochBeforeRetirement);
    // Epochs go on after the restore under fresh keys: what accrues now is settled, not skipped.
    expect(await settledEpoch('500', 'accrue-2')).toBeGreaterThan(epochBeforeRetirement);
    expect(await app.ledger.balance(accountsOf.modelRewards(model), 'OPEN')).toBe('0');
    expect(s.versions.map((v) => [v.version, v.proposalId])).toEqual([[1, `${model}-a`]]);
    expect((await entity.describe()).searchAttributes.ModelStatus).toEqual(['serving']);
    expect(await listed()).toContain(model);
    expect((await dev.model(model)).versions.map((v) => v.status)).toEqual(['production']);
    expect((await infer('/versions/1/infer')).status).toBe(200);
    expect((await paidSoFar()).calls).toBe((before.calls ?? 0) + 1);
    // A replica that never served the model loads the restored version once (the load counter counts).
    const replica = await startApi(loadConfig({ ...process.env, API_PORT: '0' }), { logger: false });
    try {
      const loads = async () => {
        const text = await (await fetch(`${replica.url}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith('commons_model_loads_total'));
        return Number(line?.split(' ')[1] ?? NaN);
      };
      const first = await loads();
      expect((await infer('/versions/1/infer', replica.url)).status).toBe(200);
      expect((await infer('/infer', replica.url)).status).toBe(200);
      expect(await loads()).toBe(first + 1);
    } finally {
      await replica.close();
    }
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
