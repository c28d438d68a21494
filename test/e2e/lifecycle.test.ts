import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyInclusion } from '../support/merkle.js';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';
import { accountsOf } from '../../contracts/accounts.js';
import type { lifecycleWorkflow } from '../../workflows/index.js';
import { workflowIds } from '../../contracts/workflow-ids.js';

describe('a whole model lifecycle on the real stack', () => {
  let app: TestApp;
  let r: ScenarioResult;
  const id = `e2e-${Date.now().toString(36)}`;
  const modelName = `spam-${id}`;
  const lines: string[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    r = await runScenario({
      baseUrl: app.url,
      log: (l) => lines.push(l),
      proposalId: id,
      modelName,
      records: 400,
      contributors: 3,
      pollMs: 300,
      params: {
        stake: '1000',
        training: { hyperparams: { checkpointEvery: 20 }, heartbeatTimeoutMs: 30_000 },
        deployment: { minAccuracy: 0.7, minMacroF1: 0.6 },
        serving: { feePerCall: '100', rewardPool: '1000' },
      },
    });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('ends serving in Temporal with the stage search attribute and every stage in order', async () => {
    const handle = app.temporal.workflow.getHandle<typeof lifecycleWorkflow>(workflowIds.lifecycle(id));
    const result = await handle.result();
    expect(result.status).toBe('serving');
    expect(result.history.map((h) => h.stage)).toEqual([
      'proposed',
      'governance',
      'data-collection',
      'training',
      'rlhf',
      'deployment',
      'serving',
    ]);
    const d = await handle.describe();
    expect(d.status.name).toBe('COMPLETED');
    expect(d.searchAttributes.LifecycleStage).toEqual(['serving']);
    const listed = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of app.temporal.workflow.list({
        query: `LifecycleStage = "serving" AND ProposalId = "${id}"`,
      }))
        ids.push(w.workflowId);
      return ids.length ? ids : undefined;
    });
    expect(listed).toEqual([workflowIds.lifecycle(id)]);
  });

  it('recorded governance, the dataset and the model version in Postgres', async () => {
    const [p] = await app.sql`select status, stage from proposals where id = ${id}`;
    expect(p).toEqual({ status: 'serving', stage: 'serving' });
    const [t] = await app.sql<
      { outcome: string; yes: string; abstain: string }[]
    >`select outcome, yes, abstain from tallies where proposal_id = ${id}`;
    expect(t?.outcome).toBe('passed');
    expect(t?.yes).toBe('400'); // governors 1 and 3 (100 + 300 gOPEN)
    const [dn] = await app.sql<{ status: string }[]>`select status from datanets where id = ${id}`;
    expect(dn?.status).toBe('closed');
    const [nc] = await app.sql`select status, duplicate_of from contributions where hash = ${r.nearCopy.hash}`;
    expect(nc).toEqual({ status: 'near-duplicate', duplicate_of: r.nearCopy.of });
    const [off] = await app.sql<
      { status: string; reasons: string[] | null }[]
    >`select status, reasons from contributions where hash = ${r.offTopic.hash}`;
    expect(off?.status).toBe('rejected');
    const [v] = await app.sql<
      { version: number; status: string; sha256: string; merkle_root: string; lineage: Record<string, unknown> }[]
    >`select version, status, sha256, merkle_root, lineage from model_versions where model_name = ${modelName}`;
    const [dv] = await app.sql<
      { merkle_root: string; record_count: number }[]
    >`select merkle_root, record_count from dataset_versions where datanet_id = ${id}`;
    if (!v || !dv) throw new Error(`no model version or dataset version for ${id}`);
    expect(v.status).toBe('production');
    expect(v.merkle_root).toBe(dv.merkle_root);
    expect(v.lineage.proposalId).toBe(id);
    const [accepted] = await app.sql<
      { n: number }[]
    >`select count(*)::int as n from contributions where datanet_id = ${id} and status = 'accepted'`;
    expect(dv.record_count).toBe(accepted?.n);
    expect(dv.record_count).toBeGreaterThan(300);
  });

  it('promoted the artifact to an immutable models/<name>/<version>/ prefix with a verified checksum', async () => {
    const [v] = await app.sql<
      { prefix: string; artifact_key: string; sha256: string }[]
    >`select prefix, artifact_key, sha256 from model_versions where model_name = ${modelName}`;
    if (!v) throw new Error(`no version of ${modelName}`);
    expect(v.prefix).toBe(`models/${modelName}/1/`);
    const bytes = await app.store.get(v.artifact_key);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(v.sha256);
    const manifest = JSON.parse((await app.store.get(`${v.prefix}manifest.json`)).toString()) as { sha256: string };
    expect(manifest.sha256).toBe(v.sha256);
  });

  it('answers inference from the promoted version with attribution, and splits the fee in the ledger', async () => {
    expect(['spam', 'ham']).toContain(r.inference.output);
    expect(r.inference.version).toBe(1);
    const weights = r.inference.attribution.contributors.map((c) => c.weight);
    expect(weights.length).toBeGreaterThan(0);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const contributors = new Set(r.contributors.map((c) => c.address));
    for (const c of r.inference.attribution.contributors) expect(contributors.has(c.contributor)).toBe(true);
    const [call] = await eventually(async () => {
      const rows = await app.sql<
        { settlement_id: string; fee: string }[]
      >`select settlement_id, fee from inference_calls where id = ${r.inference.callId}`;
      return rows.length ? rows : undefined;
    });
    if (!call) throw new Error(`no settled call ${r.inference.callId}`);
    expect(call.fee).toBe('100');
    const paid = await app.sql<
      { to_account: string; amount: string }[]
    >`select to_account, amount from transfers where memo->>'settlement' = ${call.settlement_id}`;
    expect(paid.reduce((s, x) => s + BigInt(x.amount), 0n)).toBe(100n);
    expect(paid.map((x) => x.to_account)).toContain(r.developer.address);
  });

  it('returned the stake, paid the reward pool, and kept the ledger balanced', async () => {
    expect(await app.ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('0');
    const rewards = await Promise.all(r.contributors.map((c) => c.rewards()));
    const pooled = rewards.flatMap((x) => x.rewards).filter((x) => x.reason.startsWith('data contribution reward'));
    expect(pooled.reduce((s, x) => s + BigInt(x.amount), 0n)).toBe(1000n);
    // The budget governors approved (reward pool + 1000 for review rewards) was reserved when the
    // vote passed, paid the reviews and the pool, and what was left went back to the treasury.
    const budget = (await r.developer.proposal(id)).budget;
    expect(budget).toMatchObject({ asked: '2000', reserved: '2000', left: '0' });
    expect(BigInt(budget!.paid)).toBeGreaterThan(1000n);
    expect(BigInt(budget!.paid) + BigInt(budget!.returned)).toBe(2000n);
    const inv = await app.ledger.checkInvariants();
    expect(inv.problems).toEqual([]);
  });

  it('serves an inclusion proof that verifies independently', async () => {
    const [c] = await app.sql<
      { hash: string }[]
    >`select hash from contributions where datanet_id = ${id} and status = 'accepted' limit 1`;
    if (!c) throw new Error(`no accepted contribution in ${id}`);
    const p = await r.developer.proof(c.hash);
    expect(verifyInclusion(c.hash, p.proof.siblings, p.root)).toBe(true);
    const tampered = p.proof.siblings.map((s, i) => (i === 0 ? { ...s, hash: 'ff' + s.hash.slice(2) } : s));
    expect(verifyInclusion(c.hash, tampered, p.root)).toBe(false);
  });
});
