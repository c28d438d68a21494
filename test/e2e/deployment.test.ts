import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, at, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { runScenario, type ScenarioOptions, type ScenarioResult } from '../../scenarios/scenario.js';
import { createDeploymentActivities } from '../../activities/deployment/activities.js';
import { ObjectExistsError } from '../../storage/s3-store.js';
import { accountsOf } from '../../contracts/accounts.js';
import type { CommonsClient } from '../../client/commons-client.js';
import type { EvalMetrics } from '../../domain/lifecycle/types.js';

/** Deployment gate, immutable promotion, versions, rollback and the rewards a participant can see. */
describe('deployment, inference and rewards', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const run = Date.now().toString(36);
  const model = `deploy-${run}`;
  let v1: ScenarioResult;
  let v2: ScenarioResult;
  let failedError: Error | undefined;

  const lifecycle = (suffix: string, extra: Partial<ScenarioOptions['params']> = {}) =>
    runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: `${model}-${suffix}`,
      modelName: model,
      developer: dev,
      records: 320,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '500',
        // These lifecycles must clear the default gate (macro-F1 0.6); with the quick scenario's 8
        // epochs on 320 mails they landed at 0.598 to 0.6x from run to run (which records the
        // near-duplicate rule keeps varies with arrival order), so train to convergence.
        training: { hyperparams: { epochs: 20 } },
        serving: { feePerCall: '50', rewardPool: '600' },
        ...extra,
      },
    });

  beforeAll(async () => {
    app = await startTestApp();
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    v1 = await lifecycle('a');
    failedError = await lifecycle('gate', {
      deployment: { minAccuracy: 0.999, minMacroF1: 0.6, maxRegression: 0.02 },
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    v2 = await lifecycle('b', { deployment: { minAccuracy: 0.7, minMacroF1: 0.6, maxRegression: 0.2 } });
  }, 900_000);

  afterAll(async () => {
    await app?.close();
  });

  it('ends a lifecycle that fails the evaluation gate with a clear status, refunds the stake and promotes nothing', async () => {
    expect(failedError?.message).toMatch(/failed-gate.*accuracy .* below 0.999/);
    const [p] = await app.sql<
      { status: string; status_reason: string | null }[]
    >`select status, status_reason from proposals where id = ${`${model}-gate`}`;
    expect(p?.status).toBe('failed-gate');
    expect(p?.status_reason).toContain('evaluation gate failed');
    expect(await app.ledger.balance(accountsOf.escrow(`${model}-gate`), 'OPEN')).toBe('0');
    const [refund] = await app.sql<
      { to_account: string; reason: string }[]
    >`select to_account, reason from transfers where idempotency_key = ${`proposal:${model}-gate:escrow-close`}`;
    expect(refund?.to_account).toBe(dev.address);
    const versions = await app.sql<
      { version: number; proposal_id: string }[]
    >`select version, proposal_id from model_versions where model_name = ${model} order by version`;
    expect(versions.map((v) => v.proposal_id)).toEqual([`${model}-a`, `${model}-b`]);
  });

  it('registers each version immutably with lineage, and serves the newest as production', async () => {
    const m = await dev.model(model);
    expect(m.productionVersion).toBe(2);
    expect(m.versions.map((v) => [v.version, v.status])).toEqual([
      [1, 'superseded'],
      [2, 'production'],
    ]);
    const second = at(m.versions, 1, 'version 2');
    expect(second.lineage.proposalId).toBe(`${model}-b`);
    expect(second.lineage.rlhfRounds).toEqual([1]);
    expect(second.merkleRoot).toMatch(/^[0-9a-f]{64}$/);
    expect(v2.inference.version).toBe(2);
    const old = await v2.appBuilder.infer(model, 'free money click here to claim your prize', v2.apiKey, 1);
    expect(old.version).toBe(1);
  });

  it('never overwrites a promoted artifact, and a retried promotion returns the same version', async () => {
    const [v] = await app.sql<
      { artifact_key: string; sha256: string; dataset_version_id: string; merkle_root: string; metrics: EvalMetrics }[]
    >`select artifact_key, sha256, dataset_version_id, merkle_root, metrics from model_versions where model_name = ${model} and version = 2`;
    if (!v) throw new Error(`no version 2 of ${model}`);
    await expect(app.store.put(v.artifact_key, Buffer.from('tampered'), { ifNoneMatch: true })).rejects.toBeInstanceOf(
      ObjectExistsError,
    );
    const deploy = createDeploymentActivities({ sql: app.sql, store: app.store, ledger: app.ledger });
    const [t] = await app.sql<
      { artifact_key: string }[]
    >`select artifact_key from rlhf_rounds where proposal_id = ${`${model}-b`}`;
    if (!t) throw new Error(`no RLHF round of ${model}-b`);
    const again = await deploy.promoteModel({
      proposalId: `${model}-b`,
      modelName: model,
      developer: dev.address,
      stagingArtifactKey: t.artifact_key,
      datasetVersionId: v.dataset_version_id,
      merkleRoot: v.merkle_root,
      metrics: v.metrics,
      lineage: {},
    });
    expect(again.version).toBe(2);
    expect(
      createHash('sha256')
        .update(await app.store.get(v.artifact_key))
        .digest('hex'),
    ).toBe(v.sha256);
  });

  it('rolls back to an earlier version with one signed call by the developer, and refuses others', async () => {
    const stranger = await participant(app.url, ['developer']);
    const refused = await refusal(stranger.rollback(model, 1));
    expect(refused.status).toBe(403);
    const r = await dev.rollback(model, 1);
    expect(r).toMatchObject({ productionVersion: 1, previous: 2 });
    const served = await eventually(async () => {
      const x = await v2.appBuilder.infer(model, 'meeting notes attached for tomorrow', v2.apiKey);
      return x.version === 1 ? x : undefined;
    }, 10_000);
    expect(served.version).toBe(1);
    await dev.rollback(model, 2);
  });

  it('refuses inference without a valid API key or funds', async () => {
    const res = await fetch(`${app.url}/v1/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'hello' }),
    });
    expect(res.status).toBe(401);
    const broke = await participant(app.url, ['app-builder']);
    const { apiKey } = await broke.issueApiKey();
    const err = await refusal(broke.infer(model, 'hello', apiKey));
    expect(err.status).toBe(402);
    const missing = await refusal(broke.infer('no-such-model', 'hello', apiKey));
    expect(missing.status).toBe(404);
  });

  it('shows each participant what they earned and why', async () => {
    const rewards = await at(v1.contributors, 0, 'contributor').rewards();
    const reasons = new Set(rewards.rewards.map((x) => x.reason));
    expect(reasons.has('data contribution reward (attribution weight)')).toBe(true);
    expect([...reasons].some((x) => x.startsWith('inference fee (contributors)'))).toBe(true);
    expect(BigInt(rewards.totals.OPEN ?? 0)).toBeGreaterThan(0n);
    const governor = await at(v1.governors, 0, 'governor').rewards();
    expect(governor.rewards.some((x) => x.reason === 'inference fee (governors)')).toBe(true);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
