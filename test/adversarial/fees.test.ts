import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { runScenario } from '../../scenarios/scenario.js';
import { startApi } from '../../api/bootstrap.js';
import { loadConfig } from '../../infra/config.js';
import { startTsProcess } from '../../infra/local/processes.js';
import { freePort } from '../../infra/local/ports.js';
import type { CommonsClient } from '../../client/commons-client.js';

/**
 * Attacks on "fees charged durably and exactly once": a payer who is a recipient of their own call,
 * a payer moving OPEN away while calls are in flight, one balance spent through two API replicas,
 * and an API process SIGKILLed under load. Each checks the attack fails and the ledger stays sound.
 */
describe('adversarial: inference fees', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const run = Date.now().toString(36);
  const model = `fees-${run}`;
  const FEE = 100n;

  /** One paid call without client retries: the status and, when answered, the call id. */
  async function call(baseUrl: string, apiKey: string, input: string): Promise<{ status: number; callId?: string }> {
    const res = await fetch(`${baseUrl}/v1/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ input }),
    });
    const body = (await res.json()) as { callId?: string; message?: string };
    return { status: res.status, callId: res.ok ? body.callId : undefined };
  }

  /** Every call row of a payer, and every fee transfer it paid, grouped by settlement (batch). */
  async function chargesOf(payer: string) {
    const rows = await app.sql<
      { id: string; fee: string; settlement_id: string | null }[]
    >`select id, fee::text, settlement_id from inference_calls where payer = ${payer}`;
    const paid = await app.sql<
      { settlement: string | null; amount: string }[]
    >`select memo->>'settlement' as settlement, sum(amount)::text as amount from transfers
      where from_account = ${payer} and reason like 'inference fee%' group by 1`;
    const transfersToSelf = await app.sql`select 1 from transfers where from_account = to_account`;
    return { rows, paid, transfersToSelf: transfersToSelf.length };
  }

  /** Each settlement paid exactly the fees of its rows (no charge without a row, no row without its charge). */
  function expectEverySettlementPaysItsRows(c: Awaited<ReturnType<typeof chargesOf>>) {
    const due = new Map<string, bigint>();
    for (const r of c.rows) {
      expect(r.settlement_id).not.toBeNull();
      due.set(r.settlement_id ?? '', (due.get(r.settlement_id ?? '') ?? 0n) + BigInt(r.fee));
    }
    const paid = new Map(c.paid.map((p) => [p.settlement ?? '', BigInt(p.amount)]));
    expect(paid).toEqual(due);
  }

  async function expectInvariants() {
    const inv = await app.ledger.checkInvariants();
    expect(inv.problems).toEqual([]);
  }

  beforeAll(async () => {
    app = await startTestApp();
    dev = await participant(app.url, ['developer', 'app-builder'], { OPEN: '10000' });
    await runScenario({
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
        collection: { batchSize: 40, minAcceptedRecords: 30 },
        deployment: { minAccuracy: 0, minMacroF1: 0 },
        serving: { feePerCall: FEE.toString(), rewardPool: '300' },
      },
    });
  }, 900_000);

  afterAll(async () => {
    await app?.close();
  });

  it('charges a developer calling their own model the fee less their own share, with no transfer to themselves', async () => {
    const { apiKey } = await dev.issueApiKey('self');
    const before = BigInt(await app.ledger.balance(dev.address, 'OPEN'));
    const answered = await Promise.all(Array.from({ length: 5 }, (_, i) => call(app.url, apiKey, `win cash now ${i}`)));
    expect(answered.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const after = BigInt(await app.ledger.balance(dev.address, 'OPEN'));
    // Default shares: the developer's 30% of each 100 OPEN fee stays with the developer.
    expect(before - after).toBe(5n * 70n);
    const c = await chargesOf(dev.address);
    expect(c.transfersToSelf).toBe(0);
    expect(new Set(c.rows.map((r) => r.id))).toEqual(new Set(answered.map((a) => a.callId)));
    expect(c.paid.reduce((sum, p) => sum + BigInt(p.amount), 0n)).toBe(5n * 70n);
    await expectInvariants();
  });

  it('never leaves an answered call unpaid when the payer races to move its OPEN away', async () => {
    const payer = await participant(app.url, ['app-builder'], { OPEN: '2000' });
    const sink = await participant(app.url, ['app-builder']);
    const { apiKey } = await payer.issueApiKey('racer');
    const calls = Array.from({ length: 40 }, (_, i) => call(app.url, apiKey, `cheap meds offer ${i}`));
    const moves = Array.from({ length: 12 }, () =>
      payer.transfer(sink.address, 'OPEN', '150').then(
        () => 150n,
        () => 0n,
      ),
    );
    const [answered, moved] = await Promise.all([Promise.all(calls), Promise.all(moves)]);
    const ok = answered.filter((a) => a.status === 200);
    expect(answered.every((a) => a.status === 200 || a.status === 402)).toBe(true);
    const c = await chargesOf(payer.address);
    // Every 200 has its row and its charge; every refused call has neither.
    expect(new Set(c.rows.map((r) => r.id))).toEqual(new Set(ok.map((a) => a.callId)));
    expectEverySettlementPaysItsRows(c);
    const charged = c.paid.reduce((sum, p) => sum + BigInt(p.amount), 0n);
    expect(charged).toBe(BigInt(ok.length) * FEE);
    const movedOut = moved.reduce((a, b) => a + b, 0n);
    expect(BigInt(await app.ledger.balance(payer.address, 'OPEN'))).toBe(2000n - charged - movedOut);
    await expectInvariants();
  });

  it('lets two API replicas answer at most as many calls as one balance covers', async () => {
    const second = await startApi(loadConfig({ ...process.env, API_PORT: '0' }), { logger: false });
    try {
      const payer = await participant(app.url, ['app-builder'], { OPEN: String(10n * FEE) });
      const { apiKey } = await payer.issueApiKey('replicas');
      const answered = await Promise.all(
        Array.from({ length: 30 }, (_, i) => call(i % 2 ? second.url : app.url, apiKey, `lottery winner ${i}`)),
      );
      const ok = answered.filter((a) => a.status === 200);
      expect(ok.length).toBeLessThanOrEqual(10);
      expect(ok.length).toBe(10); // the balance covers exactly ten and nothing else is refused
      expect(answered.filter((a) => a.status === 402).length).toBe(20);
      const c = await chargesOf(payer.address);
      expect(new Set(c.rows.map((r) => r.id))).toEqual(new Set(ok.map((a) => a.callId)));
      expectEverySettlementPaysItsRows(c);
      expect(await app.ledger.balance(payer.address, 'OPEN')).toBe('0');
      await expectInvariants();
    } finally {
      await second.close();
    }
  });

  it('keeps every charge of a call answered before a SIGKILL of the API, exactly once, and none without a row', async () => {
    const payer = await participant(app.url, ['app-builder'], { OPEN: '10000000' });
    const { apiKey } = await payer.issueApiKey('sigkill');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { ...process.env, API_PORT: String(port), COMMONS_LOG_LEVEL: 'error' };
    const answeredBeforeKill: string[] = [];
    const answeredAfter: string[] = [];
    const t0 = Date.now();
    const step = (m: string) => console.error(`[sigkill test +${Date.now() - t0} ms] ${m}`);
    let child: ChildProcess = await startTsProcess('api/main.ts', env, /listening/i);
    try {
      let killed = false;
      let seq = 0;
      const worker = async () => {
        while (!killed) {
          const r = await call(url, apiKey, `urgent reply needed ${seq++}`).catch(() => undefined);
          if (r?.status === 200 && r.callId && !killed) answeredBeforeKill.push(r.callId);
        }
      };
      // The first call loads the model into the fresh process; the load starts once it is warm.
      expect((await call(url, apiKey, 'warm-up call')).status).toBe(200);
      step('API child up and warm; driving paid calls');
      const load = Promise.all(Array.from({ length: 16 }, worker));
      await new Promise((res) => setTimeout(res, 3_000));
      const exited = new Promise((res) => child.once('exit', res));
      child.kill('SIGKILL');
      killed = true;
      await exited;
      step(`killed; ${answeredBeforeKill.length} answered`);
      await load;
      step('load drained; restarting');
      expect(answeredBeforeKill.length).toBeGreaterThan(5);

      child = await startTsProcess('api/main.ts', env, /listening/i);
      step('restarted');
      for (let i = 0; i < 10; i++) {
        const r = await call(url, apiKey, `after the restart ${i}`);
        expect(r.status).toBe(200);
        if (r.callId) answeredAfter.push(r.callId);
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((res) => child.once('exit', res));
        child.kill('SIGTERM');
        await exited;
      }
      step('stopped');
    }
    const c = await chargesOf(payer.address);
    const rows = new Map(c.rows.map((r) => [r.id, r]));
    const lost = [...answeredBeforeKill, ...answeredAfter].filter((id) => !rows.has(id));
    expect(lost).toEqual([]);
    // Exactly one charge per row, and nothing charged without a row (calls cut off mid-request may
    // have committed: they have their row and their charge, never one without the other).
    expectEverySettlementPaysItsRows(c);
    const charged = c.paid.reduce((sum, p) => sum + BigInt(p.amount), 0n);
    expect(charged).toBe(BigInt(c.rows.length) * FEE);
    expect(BigInt(await app.ledger.balance(payer.address, 'OPEN'))).toBe(10_000_000n - charged);
    await expectInvariants();
  }, 300_000);
});
