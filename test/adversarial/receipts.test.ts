import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';
import { ApiError, type CommonsClient } from '../../client/commons-client.js';
import { createDeploymentActivities } from '../../activities/deployment/activities.js';
import { receiptProblems, type ReceiptBundle, type ReceiptEpoch } from '../../domain/serving/receipts.js';
import { assignReceiptPage, closeReceiptEpoch } from '../../db/queries/receipts.js';
import { merkleRoot } from '../../domain/data/merkle.js';
import { run } from '../../cli/commands.js';

/**
 * Attacks on verifiable receipts (docs/receipts.md): a receipt edited in the database behind the
 * immutability trigger's back, or in the fetched JSON; a proof of epoch n presented against epoch
 * n+1; a receipt id replayed for another model; a forged receipt naming a contributor the call did
 * not pay. Each must fail `commons verify-receipt` against the published root, while the untouched
 * receipt verifies offline.
 */
describe('adversarial: receipts', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let served: ScenarioResult;
  const model = `receipts-${Date.now().toString(36)}`;
  const calls: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'receipts-'));
  let deploy: ReturnType<typeof createDeploymentActivities>;

  /** One paid call of the served model: its receipt id. */
  async function paidCall(input: string): Promise<string> {
    const res = await fetch(`${app.url}/v1/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${served.apiKey}` },
      body: JSON.stringify({ input }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { callId: string }).callId;
  }
  const proofOf = (id: string) => served.appBuilder.receiptProof(id) as Promise<ReceiptBundle>;
  const published = (n: number, name = model) => served.appBuilder.receiptEpoch(name, n) as Promise<ReceiptEpoch>;
  /** `commons verify-receipt` on saved files, offline: its exit code and what it printed. */
  async function verifyCli(bundle: unknown, epoch: unknown) {
    const file = (name: string, v: unknown) => {
      const p = join(dir, `${name}-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(p, JSON.stringify(v));
      return p;
    };
    let out = '';
    let err = '';
    const code = await run(
      // An API address nothing listens on: the check must not need the network.
      ['--api', 'http://127.0.0.1:9', 'verify-receipt', file('receipt', bundle), '--epoch-file', file('epoch', epoch)],
      {
        out: { write: (s: string) => ((out += s), true) },
        err: { write: (s: string) => ((err += s), true) },
        env: {},
      },
    );
    return { code, out, err };
  }

  beforeAll(async () => {
    app = await startTestApp();
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    // The entity settles a day after promotion (the default period): epochs here are closed by
    // calling its activity, so the test decides which calls each epoch holds.
    served = await runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: model,
      modelName: model,
      developer: dev,
      records: 150,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '500',
        rlhf: { rounds: 0 },
        collection: { batchSize: 40, minAcceptedRecords: 30 },
        deployment: { minAccuracy: 0, minMacroF1: 0 },
        serving: { feePerCall: '100' },
      },
    });
    deploy = createDeploymentActivities({ sql: app.sql, store: app.store, ledger: app.ledger });
    calls.push(served.inference.callId);
    for (const input of ['win free money now', 'meeting notes attached', 'click here to claim your prize'])
      calls.push(await paidCall(input));
  }, 900_000);

  afterAll(async () => {
    await app?.close();
  });

  it('commits every call in its epoch once, publishes the root, and the receipt verifies offline', async () => {
    const id = calls[1]!;
    // Before its epoch closes a receipt has no proof, for anyone.
    await expect(proofOf(id)).rejects.toMatchObject({ status: 404 });
    const first = await deploy.settleModelEpoch({ modelName: model, epoch: 1 });
    expect(first.receipts.size).toBe(calls.length);
    // A retried activity recomputes nothing and moves no call.
    expect(await deploy.settleModelEpoch({ modelName: model, epoch: 1 })).toEqual(first);
    const epoch = await published(1);
    expect(epoch).toMatchObject({ model, epoch: 1, root: first.receipts.root, size: calls.length });

    const bundle = await proofOf(id);
    expect(bundle.receipt).toMatchObject({ id, model, epoch: 1, fee: '100' });
    expect(bundle.receipt.splits.reduce((s, p) => s + BigInt(p.amount), 0n)).toBe(100n);
    expect(bundle.receipt.splits.filter((s) => s.transfer).length).toBeGreaterThan(0);
    expect(receiptProblems(bundle, epoch)).toEqual([]);
    const cli = await verifyCli(bundle, epoch);
    expect(cli.err).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.out).toMatch(new RegExp(`receipt ${id} verifies`));
  });

  it('refuses to change a closed receipt or a published root, and a superuser edit fails verification', async () => {
    const id = calls[2]!;
    const saved = await proofOf(id);
    const epoch = await published(1);
    await expect(app.sql`update inference_calls set fee = 1 where id = ${id}`).rejects.toThrow(/closed epoch 1/);
    await expect(app.sql`update inference_calls set epoch = 2 where id = ${id}`).rejects.toThrow(/closed epoch 1/);
    await expect(app.sql`delete from inference_calls where id = ${id}`).rejects.toThrow(/closed epoch 1/);
    await expect(
      app.sql`update receipt_epochs set root = ${'0'.repeat(64)} where model_name = ${model} and epoch = 1`,
    ).rejects.toThrow(/cannot change/);

    // The table's owner switches the trigger off and moves the attribution to a stranger.
    const stranger = await participant(app.url, ['contributor']);
    await app.sql.begin(async (tx) => {
      await tx`alter table inference_calls disable trigger inference_calls_immutable_after_close`;
      await tx`update inference_calls
        set attribution = ${JSON.stringify([{ contributor: stranger.address, weight: 1 }])}::text::jsonb
        where id = ${id}`;
      await tx`alter table inference_calls enable trigger inference_calls_immutable_after_close`;
    });
    const edited = await proofOf(id);
    expect(edited.receipt.contributors).toEqual([{ contributor: stranger.address, weightPpm: 1_000_000 }]);
    expect(receiptProblems(edited, epoch).join()).toMatch(/the proof is for leaf/);
    const cli = await verifyCli(edited, epoch);
    expect(cli.code).toBe(1);
    expect(cli.err).toMatch(/hashes to [0-9a-f]{64}, the proof is for leaf/);
    // The receipt saved before the edit still verifies: the published root did not move.
    expect((await verifyCli(saved, epoch)).code).toBe(0);
    // Editing the fetched JSON instead fails the same way.
    const json = structuredClone(saved);
    json.receipt.fee = '1';
    expect((await verifyCli(json, epoch)).code).toBe(1);
  });

  it('a call joins exactly one epoch, and a proof of epoch n does not verify against epoch n+1', async () => {
    const late = await paidCall('unsubscribe from this list');
    const second = await deploy.settleModelEpoch({ modelName: model, epoch: 2 });
    expect(second.receipts.size).toBe(1);
    const rows = await app.sql<{ epoch: number; n: number }[]>`
      select epoch, count(*)::int as n from inference_calls where model_name = ${model} group by epoch order by epoch`;
    expect(rows).toEqual([
      { epoch: 1, n: calls.length },
      { epoch: 2, n: 1 },
    ]);
    expect((await proofOf(late)).receipt.epoch).toBe(2);
    const old = await proofOf(calls[3]!);
    const next = await published(2);
    const problems = receiptProblems(old, next).join('\n');
    expect(problems).toMatch(/in epoch 1, the root is epoch 2/);
    expect(problems).toMatch(/does not lead to the root/);
    // Relabelling the receipt as epoch 2 changes its leaf: still no proof.
    const relabelled = structuredClone(old);
    relabelled.receipt.epoch = 2;
    expect(receiptProblems(relabelled, next).join()).toMatch(/the proof is for leaf/);
    expect((await verifyCli(old, next)).code).toBe(1);
  });

  it('a receipt id replayed for another model does not verify against that model’s root', async () => {
    const other = `${model}-other`;
    await deploy.settleModelEpoch({ modelName: other, epoch: 1 });
    const otherEpoch = await published(1, other);
    const bundle = await proofOf(calls[0]!);
    expect(receiptProblems(bundle, otherEpoch).join('\n')).toMatch(/for model .*, the root for .*-other/);
    const replayed = structuredClone(bundle);
    replayed.receipt.model = other;
    expect(receiptProblems(replayed, otherEpoch).join()).toMatch(/the proof is for leaf/);
    expect((await verifyCli(replayed, otherEpoch)).code).toBe(1);
    // The other model's epoch committed none of this model's calls.
    expect(otherEpoch.size).toBe(0);
  });

  it('a forged receipt naming a contributor who was not paid fails, and accounts list only their own receipts', async () => {
    const stranger = await participant(app.url, ['contributor']);
    const bundle = await proofOf(calls[3]!);
    const epoch = await published(1);
    const forged = structuredClone(bundle);
    forged.receipt.contributors.push({ contributor: stranger.address, weightPpm: 500_000 });
    const paid = forged.receipt.splits.find((s) => s.part === 'contributors' && s.transfer);
    expect(paid).toBeDefined();
    paid!.to = stranger.address;
    const problems = receiptProblems(forged, epoch).join('\n');
    expect(problems).toMatch(/the proof is for leaf/);
    expect(problems).toMatch(/paid cm[0-9a-f]+, not cm[0-9a-f]+/);
    expect((await verifyCli(forged, epoch)).code).toBe(1);

    // The stranger has no receipt; a contributor of the served model lists theirs, each verifying.
    expect((await stranger.myReceipts()).receipts).toEqual([]);
    const contributor = served.contributors.find((c) =>
      bundle.receipt.contributors.some((x) => x.contributor === c.address),
    )!;
    // Walked two per page: every receipt naming the contributor, each verifying but the one the
    // superuser edited above (its row still pays the contributor; its leaf no longer matches).
    const mine: ReceiptBundle[] = [];
    for (let cursor: string | undefined; ;) {
      const page = await contributor.myReceipts({ limit: 2, cursor });
      mine.push(...page.receipts);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(new Set(mine.map((b) => b.receipt.id)).size).toBe(mine.length);
    expect(mine.map((b) => b.receipt.id)).toContain(calls[3]);
    for (const b of mine) {
      const problems = receiptProblems(b, await published(b.receipt.epoch));
      if (b.receipt.id === calls[2]) expect(problems.join()).toMatch(/the proof is for leaf/);
      else expect(problems).toEqual([]);
      expect(
        b.receipt.contributors.some((c) => c.contributor === contributor.address) ||
          b.receipt.splits.some((s) => s.to === contributor.address),
      ).toBe(true);
    }
    // Signed by one account for another's receipts: refused.
    const foreign = await stranger
      .signed('GET', `/v1/accounts/${contributor.address}/receipts`)
      .catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(ApiError);
    expect((foreign as ApiError).status).toBe(403);
  });

  it('an epoch closed page by page, killed after a page, retried and raced by a second close, commits each call once under one root', async () => {
    await served.appBuilder.faucet('OPEN', '10000');
    const epochCalls: string[] = [];
    for (const input of [
      'free prize inside',
      'lunch on friday?',
      'act now, limited offer',
      'the report is late',
      'you won',
    ])
      epochCalls.push(await paidCall(input));
    // The first close gives two calls epoch 3, then its worker dies before the root is stored.
    const [started] = await app.sql<{ now: Date }[]>`select now() + interval '1 second' as now`;
    expect(await assignReceiptPage(app.sql, model, 3, { before: started!.now, limit: 2 })).toBe(2);
    const given = await app.sql<
      { id: string }[]
    >`select id from inference_calls where model_name = ${model} and epoch = 3`;
    expect(given).toHaveLength(2);
    // Given an epoch but not closed: no proof, no published root, not listed as closed.
    await expect(proofOf(given[0]!.id)).rejects.toMatchObject({ status: 404 });
    await expect(published(3)).rejects.toMatchObject({ status: 404 });
    // The retried activity and a second close (one call a page) race; both return the one root.
    const [a, b] = await Promise.all([
      deploy.settleModelEpoch({ modelName: model, epoch: 3 }),
      closeReceiptEpoch(app.sql, model, 3, 1),
    ]);
    expect(a.receipts).toEqual({ root: b.root, size: b.size });
    expect(b.size).toBe(epochCalls.length);
    const rows = await app.sql<{ id: string; leaf: string }[]>`
      select id, leaf from inference_calls where model_name = ${model} and epoch = 3`;
    expect(rows.map((r) => r.id).sort()).toEqual([...epochCalls].sort());
    expect(merkleRoot(rows.map((r) => r.leaf))).toBe(b.root);
    const epoch = await published(3);
    for (const id of epochCalls) expect(receiptProblems(await proofOf(id), epoch)).toEqual([]);
    // Nothing joins a closed epoch: a later call waits for epoch 4.
    const late = await paidCall('see you monday');
    expect(await assignReceiptPage(app.sql, model, 3, { before: new Date(Date.now() + 60_000), limit: 10 })).toEqual(
      expect.objectContaining({ root: b.root }),
    );
    const [lateRow] = await app.sql<{ epoch: number | null }[]>`select epoch from inference_calls where id = ${late}`;
    expect(lateRow!.epoch).toBeNull();
  });

  it("lists an account's receipts from receipt_parties, which the migration's backfill derives the same way", async () => {
    // calls[2] was edited behind the trigger's back above: its row no longer names whom it named at close.
    const edited = calls[2]!;
    const rows = () => app.sql<{ account: string; call_id: string }[]>`
      select p.account, p.call_id from receipt_parties p join inference_calls c on c.id = p.call_id
      where c.model_name = ${model} and c.id <> ${edited} order by 1, 2`;
    const written = await rows();
    // Every account a closed receipt of this model names: its contributors and split recipients.
    expect(written.length).toBeGreaterThan(calls.length);
    for (const id of calls.filter((c) => c !== edited)) {
      const { receipt } = await proofOf(id);
      const named = new Set([...receipt.contributors.map((c) => c.contributor), ...receipt.splits.map((s) => s.to)]);
      expect(new Set(written.filter((w) => w.call_id === id).map((w) => w.account))).toEqual(named);
    }
    // Calls closed before the table existed get their rows from 0007's backfill: run it again on
    // this model's emptied rows and it writes the same ones.
    const migration = readFileSync(join(import.meta.dirname, '../../db/migrations/0007_receipt_parties.sql'), 'utf8');
    const backfill = migration.split('--> statement-breakpoint').at(-1)!;
    expect(backfill).toMatch(/^\s*(--.*\n)*INSERT INTO "receipt_parties"/);
    await app.sql`delete from receipt_parties p using inference_calls c
      where c.id = p.call_id and c.model_name = ${model} and c.id <> ${edited}`;
    await app.sql.unsafe(backfill);
    expect(await rows()).toEqual(written);
  });
});
