import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { reviewRoundHarness } from '../support/review-round.js';
import { mcpOverHttp, mcpOverStdio, type McpSession } from '../support/mcp.js';
import { runScenario } from '../../scenarios/scenario.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { saveKeyFile } from '../../identity/keys.js';
import { chargesOf as chargesOfPayer } from '../support/charges.js';

/**
 * Agents through MCP with the SDK's own client, on the real stack: `commons mcp` spawned over
 * stdio and the API's /mcp over streamable HTTP. One lifecycle serves a model (list it, call it,
 * read its proposal); a review round without a lifecycle gives open review tasks to list and
 * answer. Paid calls are charged once, and a key whose owner cannot pay gets no answer.
 */
describe('MCP server', () => {
  let app: TestApp;
  let dir: string;
  let h: Awaited<ReturnType<typeof reviewRoundHarness>>;
  const run = Date.now().toString(36);
  const model = `mcp-${run}`;
  const FEE = 100n;
  const sessions: McpSession[] = [];
  const open = async (s: Promise<McpSession>) => {
    const session = await s;
    sessions.push(session);
    return session;
  };
  const keyFileOf = (c: CommonsClient) => {
    if (!c.keys) throw new Error('participant without keys');
    const file = join(dir, `${c.address}.json`);
    saveKeyFile(file, c.keys);
    return file;
  };
  const chargesOf = (payer: string) => chargesOfPayer(app.sql, payer);

  beforeAll(async () => {
    app = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'commons-mcp-'));
    const dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    await runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: model,
      modelName: model,
      developer: dev,
      records: 200,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '500',
        rlhf: { rounds: 0 },
        deployment: { minAccuracy: 0.5, minMacroF1: 0.3, maxRegression: 1 },
        serving: { feePerCall: FEE.toString() },
      },
    });
    h = await reviewRoundHarness(app);
  }, 600_000);

  afterAll(async () => {
    for (const s of sessions) await s.close().catch(() => {});
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists its tools and the served models, and reads the proposal as a tool and a resource, over both transports', async () => {
    const reader = await participant(app.url, ['app-builder']);
    for (const s of [
      await open(mcpOverHttp(app.url)),
      await open(mcpOverStdio(app.url, { keyFile: keyFileOf(reader) })),
    ]) {
      const { tools } = await s.client.listTools();
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining([
          'list_models',
          'call_model',
          'proposal_status',
          'list_review_tasks',
          'answer_review',
          'contribute_record',
          'get_receipt',
        ]),
      );
      const models = await s.call('list_models', {});
      expect(models.structuredContent?.models).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: model, productionVersion: 1, task: 'classification' }),
        ]),
      );
      const status = await s.call('proposal_status', { proposalId: model });
      expect(status.structuredContent).toMatchObject({ proposalId: model, modelName: model, stage: 'serving' });
      const [resource] = (await s.client.readResource({ uri: `commons://proposals/${model}` })).contents;
      expect(resource && 'text' in resource ? JSON.parse(resource.text) : undefined).toMatchObject({
        proposalId: model,
      });
    }
  });

  it('calls a model over both transports: the answer, its attribution and receipt, the fee charged once', async () => {
    const payer = await participant(app.url, ['app-builder'], { OPEN: '1000' });
    const { apiKey } = await payer.issueApiKey('mcp');
    const sessionsOf = [
      await open(mcpOverHttp(app.url, { apiKey })),
      await open(mcpOverStdio(app.url, { keyFile: keyFileOf(payer), apiKey })),
    ];
    const receipts: string[] = [];
    for (const s of sessionsOf) {
      const r = await s.call('call_model', { model, input: 'WIN a FREE cruise!!! click now to claim your cash prize' });
      expect(r.isError, r.text).toBeUndefined();
      const out = r.structuredContent ?? {};
      expect(['spam', 'ham']).toContain(out.answer);
      expect(out).toMatchObject({ model, version: 1, fee: FEE.toString() });
      expect((out.attribution as { contributors: unknown[] }).contributors.length).toBeGreaterThan(0);
      receipts.push(String(out.receiptId));
      const receipt = await s.call('get_receipt', { receiptId: String(out.receiptId) });
      expect(receipt.isError, receipt.text).toBeUndefined();
      const rc = receipt.structuredContent as { id: string; fee: string; splits: { amount: string }[] };
      expect(rc).toMatchObject({ id: out.receiptId, model, version: 1, fee: FEE.toString() });
      expect(rc.splits.reduce((t, x) => t + BigInt(x.amount), 0n)).toBe(FEE);
    }
    const c = await chargesOf(payer.address);
    expect(c.rows.map((r) => r.id).sort()).toEqual([...receipts].sort());
    expect(c.rows.every((r) => r.fee === FEE.toString())).toBe(true);
    expect(c.paid).toBe(2n * FEE);
    expect((await payer.account()).balances.OPEN).toBe((1000n - 2n * FEE).toString());
  });

  it('gives a key whose owner cannot pay no answer and charges nothing, over both transports', async () => {
    const broke = await participant(app.url, ['app-builder']);
    const { apiKey } = await broke.issueApiKey('broke');
    for (const s of [
      await open(mcpOverHttp(app.url, { apiKey })),
      await open(mcpOverStdio(app.url, { keyFile: keyFileOf(broke), apiKey })),
    ]) {
      const r = await s.call('call_model', { model, input: 'Minutes of the Tuesday meeting attached' });
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(/^refused: 402 .*less than the 100 OPEN/);
      expect(r.structuredContent).toBeUndefined();
    }
    // No key at all: the paid route's 401.
    const anonymous = await open(mcpOverHttp(app.url));
    expect((await anonymous.call('call_model', { model, input: 'hello' })).text).toMatch(/^refused: 401 /);
    const c = await chargesOf(broke.address);
    expect(c.rows).toEqual([]);
    expect(c.paid).toBe(0n);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it("lists a reviewer's tasks and answers them, signed over HTTP and over stdio; an unsigned answer acts as nobody", async () => {
    const pid = await h.proposal();
    const [overHttp, overStdio, third] = await Promise.all([1, 2, 3].map(() => h.reviewer(20_000n, pid)));
    if (!overHttp?.keys || !overStdio || !third) throw new Error('reviewers missing');
    const round = await h.startRound(pid, 1, {
      promptsPerRound: 2,
      goldPerRound: 0,
      answersPerItem: 3,
      extraReviewers: 0,
      roundDeadlineMs: 120_000,
    });
    const tasks = await h.openTasks(pid, 1);

    const anonymous = await open(mcpOverHttp(app.url));
    const firstTask = tasks[0];
    if (!firstTask) throw new Error('no task');
    const unsigned = await anonymous.call('answer_review', {
      taskId: firstTask.id,
      choice: h.truth.get(firstTask.prompt) ?? 'spam',
    });
    expect(unsigned.text).toMatch(/^refused: 401 /);
    expect(await app.sql`select 1 from review_answers where task_id = ${firstTask.id}`).toHaveLength(0);

    const http = await open(mcpOverHttp(app.url, { keys: overHttp.keys }));
    const stdio = await open(mcpOverStdio(app.url, { keyFile: keyFileOf(overStdio) }));
    for (const [s, reviewer] of [
      [http, overHttp.address],
      [stdio, undefined], // stdio lists the key file's own tasks
    ] as const) {
      const listed = await s.call('list_review_tasks', reviewer ? { reviewer } : {});
      const mine = (listed.structuredContent?.tasks as { id: string; prompt: string; proposalId: string }[]).filter(
        (t) => t.proposalId === pid,
      );
      expect(mine.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
      for (const t of mine) {
        const a = await s.call('answer_review', { taskId: t.id, choice: h.truth.get(t.prompt) ?? 'spam' });
        expect(a.isError, a.text).toBeUndefined();
        expect(a.structuredContent).toMatchObject({ accepted: true });
      }
      expect((await s.call('list_review_tasks', reviewer ? { reviewer } : {})).structuredContent?.tasks).toEqual([]);
    }
    for (const t of (await third.reviews(third.address)).tasks.filter((x) => x.proposalId === pid))
      await third.answerReview(t.id, h.truth.get(t.prompt) ?? 'spam');
    await round.result();
  }, 300_000);
});
