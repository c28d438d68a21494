import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { runGenerativeScenario, type GenerativeScenarioResult } from '../../scenarios/generative-scenario.js';
import type { CommonsExtension } from '../../api/schemas/openai.js';
import type { ReceiptResponse } from '../../api/schemas/receipts.js';

/**
 * The OpenAI-compatible surface as the official `openai` client sees it, on the real stack with the
 * embedded RAG model: every field honoured or refused in OpenAI's error shape (a refusal charges
 * nothing), n choices, max_tokens, streaming with usage, embeddings (float and base64), the
 * Responses API (JSON and its event stream), GET /v1/models/{id}, and receipts whose fee split is
 * the ledger's.
 */
describe('OpenAI fidelity (official client, embedded RAG model)', () => {
  let app: TestApp;
  let r: GenerativeScenarioResult;
  let openai: OpenAI;
  const id = `oaif-${Date.now().toString(36)}`;
  const model = `m-${id}`;
  const ask = { role: 'user' as const, content: 'How can I treat a sprained ankle at home?' };

  const raw = (path: string, body: unknown) =>
    fetch(`${app.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${r.apiKey}` },
      body: JSON.stringify(body),
    });
  const calls = async () =>
    (
      await app.sql<
        { n: number }[]
      >`select count(*)::int as n from inference_calls where payer = ${r.appBuilder.address}`
    )[0]?.n ?? 0;
  const receipt = async (rid: string) => {
    const res = await fetch(`${app.url}/v1/receipts/${rid}`, { headers: { authorization: `Bearer ${r.apiKey}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as ReceiptResponse;
  };

  beforeAll(async () => {
    app = await startTestApp();
    r = await runGenerativeScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: id,
      modelName: model,
      perTopic: 10,
      contributors: 2,
      pollMs: 300,
      params: { stake: '500', collection: { minAcceptedRecords: 30 }, deployment: { minAccuracy: 0, minMacroF1: 0 } },
    });
    openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: r.apiKey, maxRetries: 0 });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('refuses unknown and unsupported fields in OpenAI’s error shape, naming them, and charges nothing', async () => {
    const before = await calls();
    const unknown = await raw('/v1/chat/completions', { model, messages: [ask], tempreature: 1 });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: {
        message: "unknown parameter 'tempreature'",
        type: 'invalid_request_error',
        param: 'tempreature',
        code: 'unknown_parameter',
      },
    });
    // The RAG model cannot call tools: the official client raises its BadRequestError with the param.
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
    const refused = await openai.chat.completions.create({ model, messages: [ask], tools }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({
      status: 400,
      param: 'tools',
      code: 'unsupported_parameter',
      type: 'invalid_request_error',
    });
    for (const body of [
      { model, messages: [ask], temperature: 0.8 },
      { model, messages: [ask], seed: 3 },
      { model, messages: [ask], response_format: { type: 'json_object' } },
      { model, messages: [ask], logprobs: true },
      { model, messages: [ask], frequency_penalty: 1 },
    ]) {
      const res = await raw('/v1/chat/completions', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const e = ((await res.json()) as { error: { param: string } }).error;
      expect(Object.keys(body)).toContain(e.param);
    }
    const responses = await raw('/v1/responses', { model, input: 'hi', previous_response_id: 'resp_x' });
    expect(((await responses.json()) as { error: { param: string } }).error.param).toBe('previous_response_id');
    expect(await calls()).toBe(before);
  });

  it('answers 401, 404 and 402 in OpenAI’s shape', async () => {
    const noKey = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'ck_nope', maxRetries: 0 });
    await expect(noKey.chat.completions.create({ model, messages: [ask] })).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
    await expect(openai.chat.completions.create({ model: 'no-such-model', messages: [ask] })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
      param: 'model',
    });
    await expect(openai.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const m = await openai.models.retrieve(model);
    expect(m).toMatchObject({ id: model, object: 'model', owned_by: r.developer.address });
    expect((m as unknown as { productionVersion: number }).productionVersion).toBe(1);
  });

  it('honours n, max_tokens and stop, with usage in the model’s tokens', async () => {
    const two = await openai.chat.completions.create({ model, messages: [ask], n: 2 });
    expect(two.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(new Set(two.choices.map((c) => c.message.content)).size).toBe(2);
    const short = await openai.chat.completions.create({ model, messages: [ask], max_tokens: 3 });
    expect(short.choices[0]?.finish_reason).toBe('length');
    expect(short.usage?.completion_tokens).toBeLessThanOrEqual(3);
    expect(short.usage?.prompt_tokens).toBeGreaterThan(0);
    const full = await openai.chat.completions.create({ model, messages: [ask] });
    const words = (full.choices[0]?.message.content ?? '').split(/\s+/);
    const stop = words[2] ?? '';
    const stopped = await openai.chat.completions.create({ model, messages: [ask], stop: [stop] });
    expect(stopped.choices[0]?.message.content).not.toContain(stop);
  });

  it('streams as the model produces tokens, with a final usage chunk, and charges once', async () => {
    const before = await calls();
    const stream = await openai.chat.completions.create({
      model,
      messages: [ask],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    let commons: CommonsExtension | undefined;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
      usage = c.usage ?? usage;
      commons = (c as unknown as { commons?: CommonsExtension }).commons ?? commons;
    }
    expect(chunks).toBeGreaterThan(4);
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBeGreaterThan(2);
    expect(commons?.receipt).toMatch(/^[0-9a-f-]{36}$/);
    expect(await calls()).toBe(before + 1);
  });

  it('embeds text, float and base64 alike, as one paid call attributed to the training set', async () => {
    const inputs = ['sprained ankle', 'seasonal allergies and pollen'];
    const { data, response } = await openai.embeddings
      .create({ model, input: inputs, encoding_format: 'float' })
      .withResponse();
    expect(data.data).toHaveLength(2);
    const [a, b] = data.data.map((d) => d.embedding);
    expect(a?.length).toBeGreaterThan(16);
    expect(a?.length).toBe(b?.length);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 3);
    // The client asks for base64 by default and decodes it.
    const decoded = await openai.embeddings.create({ model, input: inputs });
    expect(decoded.data[0]?.embedding.map((x) => Math.round(x * 1e5))).toEqual(a?.map((x) => Math.round(x * 1e5)));
    const rec = await receipt(response.headers.get('x-commons-receipt') ?? '');
    expect(rec.attribution.records).toEqual([]);
    expect(rec.attribution.contributors.map((c) => c.contributor).sort()).toEqual(
      r.contributors.map((c) => c.address).sort(),
    );
    expect(rec.fee).toBe('10');
  });

  it('answers the Responses API, JSON and streamed with its events', async () => {
    const res = await openai.responses.create({ model, input: ask.content, instructions: 'Answer briefly.' });
    expect(res.object).toBe('response');
    expect(res.status).toBe('completed');
    expect(res.output_text.length).toBeGreaterThan(0);
    const rid = res.metadata?.commons_receipt ?? '';
    expect(res.id).toBe(`resp_${rid}`);
    expect((await receipt(res.id)).id).toBe(rid);
    const stream = await openai.responses.create({
      model,
      input: [{ role: 'user', content: ask.content }],
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.completed') completed = e.response;
    }
    expect(types[0]).toBe('response.created');
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(2);
    expect(types).toContain('response.output_item.done');
    expect(types.at(-1)).toBe('response.completed');
    expect(completed?.output_text).toBe(text);
    expect(completed?.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('gives each answer a receipt whose fee split is the ledger’s transfers', async () => {
    const { data, response } = await openai.chat.completions.create({ model, messages: [ask] }).withResponse();
    const rid = response.headers.get('x-commons-receipt') ?? '';
    expect(data.id).toBe(`chatcmpl-${rid}`);
    const rec = await receipt(data.id);
    expect(rec).toMatchObject({ id: rid, model, version: 1, payer: r.appBuilder.address, fee: '10' });
    expect(rec.inputHash).toMatch(/^[0-9a-f]{64}$/);
    const ext = (data as unknown as { commons: CommonsExtension }).commons;
    expect(rec.attribution).toEqual(ext.attribution);
    expect(rec.splits.reduce((s, p) => s + BigInt(p.amount), 0n)).toBe(10n);
    for (const p of rec.splits.filter((x) => x.transfer)) {
      const [t] = await app.sql<
        { amount: string; to_account: string; from_account: string; memo: { settlement: string } }[]
      >`
        select amount::text, to_account, from_account, memo from transfers where id = ${p.transfer?.id ?? 0}`;
      expect(t?.to_account).toBe(p.to);
      expect(t?.from_account).toBe(r.appBuilder.address);
      expect(t?.memo.settlement).toBe(rec.settlement);
      expect(BigInt(t?.amount ?? '0')).toBeGreaterThanOrEqual(BigInt(p.amount));
    }
    const contributorParts = rec.splits.filter((p) => p.part === 'contributors').map((p) => p.to);
    expect(contributorParts.length).toBeGreaterThan(0);
    for (const c of contributorParts) expect(ext.attribution.contributors.map((x) => x.contributor)).toContain(c);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it('gives the native infer route the same receipt', async () => {
    const res = await raw(`/v1/models/${model}/infer`, { input: ask.content });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { receipt: string; callId: string; fee: string };
    expect(res.headers.get('x-commons-receipt')).toBe(body.receipt);
    const rec = await receipt(body.receipt);
    expect(rec).toMatchObject({ id: body.callId, fee: body.fee, payer: r.appBuilder.address });
  });
});
