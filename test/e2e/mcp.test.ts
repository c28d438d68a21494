import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { createDeploymentActivities } from '../../activities/deployment/activities.js';
import type { ReceiptBundle } from '../../domain/serving/receipts.js';

/**
 * A man in the middle between `commons mcp` and the API: it passes every GET on, and hands a
 * receipt proof it carries to `rewrite` first.
 */
async function proofProxy(apiUrl: string, rewrite: (b: ReceiptBundle) => Promise<ReceiptBundle>) {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(apiUrl + (req.url ?? '/'), { method: req.method });
      let body = await upstream.text();
      if (upstream.ok && /^\/v1\/receipts\/[^/]+\/proof$/.test(req.url ?? ''))
        body = JSON.stringify(await rewrite(JSON.parse(body) as ReceiptBundle));
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
    })().catch((err: unknown) => res.writeHead(502).end(String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Agents through MCP with the SDK's own client, on the real stack: `commons mcp` spawned over
 * stdio and the API's /mcp over streamable HTTP. One lifecycle serves a model (list it, call it,
 * read its proposal); a review round without a lifecycle gives open review tasks to list and
 * answer. Paid calls are charged once, and a key whose owner cannot pay gets no answer. A paid
 * call's receipt verifies once its epoch closes, and not against a wrong root or when a proxy
 * swaps or tampers with its proof.
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
          'verify_receipt',
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

  it("verifies a paid call's receipt once its epoch closes, for anyone; a wrong root, a swapped or tampered proof does not verify", async () => {
    const payer = await participant(app.url, ['app-builder'], { OPEN: '1000' });
    const { apiKey } = await payer.issueApiKey('verify');
    const paying = await open(mcpOverHttp(app.url, { apiKey }));
    const ids: string[] = [];
    for (const input of ['Claim your FREE prize now, click here', 'Agenda for the budget review on Monday']) {
      const r = await paying.call('call_model', { model, input });
      expect(r.isError, r.text).toBeUndefined();
      ids.push(String(r.structuredContent?.receiptId));
    }
    const [id, other] = ids as [string, string];
    const anonymous = await open(mcpOverHttp(app.url));
    const early = await anonymous.call('verify_receipt', { receiptId: id });
    expect(early.isError).toBe(true);
    expect(early.text).toMatch(/^refused: 404 .*: a receipt's proof is available once its settlement epoch closes$/);

    // The entity settles a day after promotion: the test closes the epoch by calling its activity.
    const deploy = createDeploymentActivities({ sql: app.sql, store: app.store, ledger: app.ledger });
    const { receipts } = await deploy.settleModelEpoch({ modelName: model, epoch: 1 });
    const reader = await participant(app.url, ['app-builder']);
    const wrong = 'f'.repeat(64);
    for (const s of [anonymous, await open(mcpOverStdio(app.url, { keyFile: keyFileOf(reader) }))]) {
      const published = await s.call('verify_receipt', { receiptId: id });
      expect(published.isError, published.text).toBeUndefined();
      expect(published.structuredContent).toEqual({
        receiptId: id,
        model,
        version: 1,
        epoch: 1,
        verified: true,
        problems: [],
        root: receipts.root,
        source: 'published',
      });
      const given = await s.call('verify_receipt', { receiptId: id, root: receipts.root });
      expect(given.structuredContent).toMatchObject({ verified: true, root: receipts.root, source: 'given' });
      const mistaken = await s.call('verify_receipt', { receiptId: id, root: wrong });
      expect(mistaken.structuredContent).toMatchObject({ verified: false, root: wrong, source: 'given' });
      expect(mistaken.structuredContent?.problems).toEqual([`the inclusion proof does not lead to the root ${wrong}`]);
    }

    // The proxy answers the proof of `id` with the genuine proof of another receipt of the epoch,
    // then with the receipt's own proof whose contributors' part was raised by 1.
    const genuine = async (receiptId: string) =>
      (await (await fetch(`${app.url}/v1/receipts/${receiptId}/proof`)).json()) as ReceiptBundle;
    let rewrite: (b: ReceiptBundle) => Promise<ReceiptBundle> = () => genuine(other);
    const proxy = await proofProxy(app.url, (b) => rewrite(b));
    try {
      const s = await open(mcpOverStdio(proxy.url, { keyFile: keyFileOf(reader) }));
      for (const root of [undefined, receipts.root]) {
        const swapped = await s.call('verify_receipt', { receiptId: id, ...(root ? { root } : {}) });
        expect(swapped.structuredContent).toMatchObject({ receiptId: id, verified: false });
        expect(swapped.structuredContent?.problems).toEqual([`the proof is of receipt ${other}, not ${id}`]);
      }
      rewrite = (b) => {
        const part = b.receipt.splits.find((x) => x.part === 'contributors' && x.transfer);
        if (!part) throw new Error('no contributors part with a transfer');
        part.amount = (BigInt(part.amount) + 1n).toString();
        return Promise.resolve(b);
      };
      for (const root of [undefined, receipts.root]) {
        const tampered = await s.call('verify_receipt', { receiptId: id, ...(root ? { root } : {}) });
        expect(tampered.structuredContent).toMatchObject({ receiptId: id, verified: false });
        const problems = (tampered.structuredContent?.problems as string[]).join('\n');
        expect(problems).toMatch(/the receipt hashes to [0-9a-f]{64}, the proof is for leaf/);
        expect(problems).toMatch(new RegExp(`the split sums to ${FEE + 1n}, the fee is ${FEE}`));
      }
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
