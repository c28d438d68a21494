import OpenAI from 'openai';
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  externalGenerationModel,
  startTestAppWithUpstream,
  type ExternalGenerationModel,
  type UpstreamTestApp,
} from '../support/upstream.js';
import type { CommonsExtension } from '../../api/schemas/openai.js';
import type { ReceiptResponse } from '../../api/schemas/receipts.js';

/**
 * Agent frameworks on a Commons model, on the real stack: an external generation model served by
 * the generating stand-in upstream, called through the official `openai` client (a tool call, a
 * JSON-schema answer, a stream with tool-call deltas and usage, embeddings) and by an
 * `@openai/agents` agent whose tool is called through the model; each answer's receipt is fetched
 * and its fee split checked against the ledger.
 */
describe('agent frameworks on a Commons model (openai client, @openai/agents)', () => {
  let app: UpstreamTestApp;
  let m: ExternalGenerationModel;
  let openai: OpenAI;

  const clinicTool = {
    type: 'function' as const,
    function: {
      name: 'find_clinic',
      description: 'Find a clinic near a city for a symptom',
      parameters: {
        type: 'object' as const,
        properties: {
          city: { type: 'string', description: 'the city to search in' },
          symptom: { type: 'string', description: 'the symptom or injury' },
        },
        required: ['city', 'symptom'],
        additionalProperties: false as const,
      },
    },
  };
  const ask = { role: 'user' as const, content: 'Find a clinic in Paris for my sprained ankle symptom' };

  async function receipt(id: string): Promise<ReceiptResponse> {
    const res = await fetch(`${app.url}/v1/receipts/${id}`, { headers: { authorization: `Bearer ${m.apiKey}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as ReceiptResponse;
  }

  /** The receipt's parts sum to its fee, and each part went to its recipient in a ledger transfer. */
  async function checkAgainstLedger(rec: ReceiptResponse): Promise<void> {
    expect(rec.splits.reduce((s, p) => s + BigInt(p.amount), 0n)).toBe(BigInt(rec.fee));
    for (const p of rec.splits) {
      if (p.to === rec.payer) continue;
      expect(p.transfer, `${p.part} → ${p.to}`).not.toBeNull();
      const [t] = await app.sql<{ to_account: string; amount: string; from_account: string }[]>`
        select to_account, amount::text, from_account from transfers where id = ${p.transfer?.id ?? 0}`;
      expect(t).toMatchObject({ to_account: p.to, from_account: rec.payer });
      expect(BigInt(t?.amount ?? '0')).toBeGreaterThanOrEqual(BigInt(p.amount));
    }
  }

  beforeAll(async () => {
    setTracingDisabled(true);
    app = await startTestAppWithUpstream();
    m = await externalGenerationModel(app);
    openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: m.apiKey, maxRetries: 0 });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('makes a tool call through chat completions, with arguments that fit the tool’s schema', async () => {
    const c = await openai.chat.completions.create({ model: m.modelName, messages: [ask], tools: [clinicTool] });
    const choice = c.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('no function call');
    expect(call.function.name).toBe('find_clinic');
    const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
    expect(Object.keys(args).sort()).toEqual(['city', 'symptom']);
    expect(typeof args.city).toBe('string');
    expect(typeof args.symptom).toBe('string');
    // The tool's result goes back; the model answers in words.
    const answer = await openai.chat.completions.create({
      model: m.modelName,
      tools: [clinicTool],
      messages: [
        ask,
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'Clinique du Sport, 12 rue de Rivoli' },
      ],
    });
    expect(answer.choices[0]?.finish_reason).toBe('stop');
    expect(answer.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(c.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('answers in JSON that validates against a json_schema response format', async () => {
    const c = await openai.chat.completions.create({
      model: m.modelName,
      messages: [{ role: 'user', content: 'How should I treat a sprained ankle? Is it urgent?' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'advice',
          strict: true,
          schema: {
            type: 'object',
            properties: { advice: { type: 'string' }, urgent: { type: 'boolean' } },
            required: ['advice', 'urgent'],
            additionalProperties: false,
          },
        },
      },
    });
    const out = JSON.parse(c.choices[0]?.message.content ?? '') as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(['advice', 'urgent']);
    expect(typeof out.advice).toBe('string');
    expect(typeof out.urgent).toBe('boolean');
  });

  it('streams tool-call deltas and text as the upstream produces them, with usage, charged once', async () => {
    const stream = await openai.chat.completions.create({
      model: m.modelName,
      messages: [ask],
      tools: [clinicTool],
      stream: true,
      stream_options: { include_usage: true },
    });
    let args = '';
    let name = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let commons: CommonsExtension | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const t of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += t.function?.name ?? '';
        args += t.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
      commons = (chunk as unknown as { commons?: CommonsExtension }).commons ?? commons;
    }
    expect(name).toBe('find_clinic');
    expect(Object.keys(JSON.parse(args) as object).sort()).toEqual(['city', 'symptom']);
    expect(finish).toBe('tool_calls');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const rec = await receipt(commons?.receipt ?? '');
    expect(rec.fee).toBe(commons?.fee);
    await checkAgainstLedger(rec);
  });

  it('embeds through the upstream, paid and attributed', async () => {
    const e = await openai.embeddings.create({ model: m.modelName, input: ['ankle sprain', 'hay fever'] });
    expect(e.data).toHaveLength(2);
    expect(e.data[0]?.embedding.length).toBeGreaterThan(0);
    expect(e.data[0]?.embedding.length).toBe(e.data[1]?.embedding.length);
    expect(e.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('runs an @openai/agents agent whose tool is called through the Commons model, each turn receipted', async () => {
    const looked: { city: string; symptom: string }[] = [];
    const findClinic = tool({
      name: 'find_clinic',
      description: 'Find a clinic near a city for a symptom',
      parameters: clinicTool.function.parameters,
      strict: true,
      execute: (input) => {
        const a = input as { city: string; symptom: string };
        looked.push(a);
        return `Clinique du Sport in ${a.city} treats ${a.symptom}`;
      },
    });
    const agent = new Agent({
      name: 'clinic finder',
      instructions: 'Help the user find care.',
      model: m.modelName,
      tools: [findClinic],
    });
    // The SDK's default: the Responses API, through its own OpenAI client pointed at Commons.
    const runner = new Runner({ modelProvider: new OpenAIProvider({ apiKey: m.apiKey, baseURL: `${app.url}/v1` }) });
    const before = BigInt(await app.ledger.balance(m.scenario.appBuilder.address, 'OPEN'));
    const result = await runner.run(agent, ask.content, { maxTurns: 4 });
    expect(looked).toHaveLength(1);
    expect(typeof looked[0]?.city).toBe('string');
    expect(String(result.finalOutput ?? '').length).toBeGreaterThan(0);
    // Two model turns (the tool call, then the answer), each a paid call with its receipt.
    const ids = result.rawResponses.map((r) => r.responseId ?? '');
    expect(ids).toHaveLength(2);
    let paid = 0n;
    for (const id of ids) {
      expect(id).toMatch(/^resp_/);
      const rec = await receipt(id);
      expect(rec.model).toBe(m.modelName);
      expect(rec.attribution.contributors.length).toBeGreaterThan(0);
      await checkAgainstLedger(rec);
      paid += rec.splits.filter((p) => p.to !== rec.payer).reduce((s, p) => s + BigInt(p.amount), 0n);
    }
    const after = BigInt(await app.ledger.balance(m.scenario.appBuilder.address, 'OPEN'));
    expect(before - after).toBe(paid);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
