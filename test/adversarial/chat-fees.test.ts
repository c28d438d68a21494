import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { runGenerativeScenario } from '../../scenarios/generative-scenario.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { chargesOf as chargesOfPayer } from '../support/charges.js';

/**
 * Attacks on the fees of the OpenAI-compatible endpoint: a caller without funds trying to get an
 * answer anyway (JSON or streamed), a caller aborting a stream mid-way hoping it is not charged
 * (or charged twice by a retry path), and a fee recipient (the model's developer) calling their own
 * model. The fee must be durable before the first byte and charged exactly once. A paid call's
 * receipt (who paid, when, for which model) is read by its payer and the accounts it pays only:
 * another caller holding a leaked receipt id learns nothing.
 */
describe('adversarial: chat completion fees', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const run = Date.now().toString(36);
  const model = `chatfees-${run}`;
  const FEE = 100n;
  const ask = { role: 'user' as const, content: 'What should I do about a mild fever?' };

  const chargesOf = (payer: string) => chargesOfPayer(app.sql, payer);

  const post = (apiKey: string, body: unknown, signal?: AbortSignal) =>
    fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify(body),
      signal,
    });

  beforeAll(async () => {
    app = await startTestApp();
    dev = await participant(app.url, ['developer', 'app-builder'], { OPEN: '10000' });
    await runGenerativeScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: model,
      modelName: model,
      developer: dev,
      perTopic: 10,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '500',
        collection: { minAcceptedRecords: 30 },
        deployment: { minAccuracy: 0, minMacroF1: 0 },
        serving: { feePerCall: FEE.toString() },
      },
    });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('gives a caller without funds 402 and no answer, streamed or not, and charges nothing', async () => {
    const broke = await participant(app.url, ['app-builder']);
    const { apiKey } = await broke.issueApiKey('broke');
    const plain = await post(apiKey, { model, messages: [ask] });
    expect(plain.status).toBe(402);
    const body = (await plain.json()) as { choices?: unknown; error: { message: string; code: string } };
    expect(body.choices).toBeUndefined();
    expect(body.error.message).toMatch(/less than the 100 OPEN/);
    expect(body.error.code).toBe('insufficient_quota');
    const streamed = await post(apiKey, { model, messages: [ask], stream: true });
    expect(streamed.status).toBe(402);
    expect(streamed.headers.get('content-type')).not.toMatch(/event-stream/);
    expect(await streamed.text()).not.toContain('data:');
    const openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey, maxRetries: 0 });
    await expect(openai.chat.completions.create({ model, messages: [ask], stream: true })).rejects.toMatchObject({
      status: 402,
    });
    const c = await chargesOf(broke.address);
    expect(c.rows).toEqual([]);
    expect(c.paid).toBe(0n);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it('charges a stream aborted mid-way exactly once', async () => {
    const payer = await participant(app.url, ['app-builder'], { OPEN: '1000' });
    const { apiKey } = await payer.issueApiKey('aborter');
    // The official client, aborted after its first chunk.
    const openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey, maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model, messages: [ask], stream: true });
    let chunks = 0;
    for await (const _chunk of stream) {
      chunks++;
      stream.controller.abort(); // hang up after the first chunk
      break;
    }
    expect(chunks).toBe(1);
    // A raw client that hangs up as soon as the headers arrive.
    const ac = new AbortController();
    const res = await post(apiKey, { model, messages: [ask], stream: true }, ac.signal);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-commons-fee')).toBe(FEE.toString());
    ac.abort();
    const c = await eventually(async () => {
      const x = await chargesOf(payer.address);
      return x.rows.length >= 2 ? x : undefined;
    });
    expect(c.rows.map((r) => r.fee)).toEqual([FEE.toString(), FEE.toString()]);
    expect(c.paid).toBe(2n * FEE);
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives later
    expect((await chargesOf(payer.address)).rows).toHaveLength(2);
    expect(BigInt(await app.ledger.balance(payer.address, 'OPEN'))).toBe(1000n - 2n * FEE);
    // The API is still serving after the hang-ups.
    const ok = await post(apiKey, { model, messages: [ask] });
    expect(ok.status).toBe(200);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it('charges a fee recipient (the developer) the fee less their own share, with no transfer to themselves', async () => {
    const { apiKey } = await dev.issueApiKey('self');
    const before = BigInt(await app.ledger.balance(dev.address, 'OPEN'));
    const openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey, maxRetries: 0 });
    const answers = await Promise.all([0, 1, 2].map(() => openai.chat.completions.create({ model, messages: [ask] })));
    expect(answers.every((a) => (a.choices[0]?.message.content ?? '').length > 0)).toBe(true);
    const after = BigInt(await app.ledger.balance(dev.address, 'OPEN'));
    // Default shares: the developer's 30% of each 100 OPEN fee stays with the developer.
    expect(before - after).toBe(3n * 70n);
    const c = await chargesOf(dev.address);
    expect(c.rows).toHaveLength(3);
    expect(c.paid).toBe(3n * 70n);
    const self = await app.sql`select 1 from transfers where from_account = to_account`;
    expect(self.length).toBe(0);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it('shows a receipt to its payer and the accounts it pays, and to nobody else who holds its id', async () => {
    const payer = await participant(app.url, ['app-builder'], { OPEN: '1000' });
    const { apiKey } = await payer.issueApiKey('receipts');
    const res = await post(apiKey, { model, messages: [ask] });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { id: string };
    const rid = res.headers.get('x-commons-receipt') ?? '';
    const read = (id: string, headers: Record<string, string> = {}) =>
      fetch(`${app.url}/v1/receipts/${id}`, { headers });
    const own = await read(rid, { authorization: `Bearer ${apiKey}` });
    expect(own.status).toBe(200);
    expect(((await own.json()) as { payer: string }).payer).toBe(payer.address);
    // Another app builder with the leaked id (bare or as the completion's id): as if there were none.
    const other = await participant(app.url, ['app-builder'], { OPEN: '1000' });
    const { apiKey: otherKey } = await other.issueApiKey('snoop');
    for (const id of [rid, answer.id]) {
      const snoop = await read(id, { authorization: `Bearer ${otherKey}` });
      expect(snoop.status).toBe(404);
      expect(await snoop.text()).not.toContain(payer.address);
    }
    const missing = await read('00000000-0000-4000-8000-000000000000', { authorization: `Bearer ${otherKey}` });
    expect(missing.status).toBe(404);
    // No credentials at all, or a key that does not exist.
    expect((await read(rid)).status).toBe(401);
    expect((await read(rid, { authorization: 'Bearer ck_forged' })).status).toBe(401);
    // Signed: a stranger is refused like a missing receipt; the developer (paid by it) reads it.
    await expect(other.signed('GET', `/v1/receipts/${rid}`)).rejects.toMatchObject({ status: 404 });
    const seen = await dev.signed<{ splits: { to: string }[] }>('GET', `/v1/receipts/${rid}`);
    expect(seen.splits.map((s) => s.to)).toContain(dev.address);
  });
});
