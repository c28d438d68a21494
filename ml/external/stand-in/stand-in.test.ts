import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtifact } from './adapter.js';
import { startStandIn, type StandInServer } from './server.js';
import type { TrainingPair } from './ngram-model.js';

// A small adapter: health answers, as the generative scenario's practitioners write them.
const pairs: TrainingPair[] = [
  { prompt: 'How do I treat a burn?', response: 'Cool the burn under running water for twenty minutes.' },
  { prompt: 'What should I do for a minor burn?', response: 'Cool the burn with running water and cover it loosely.' },
  { prompt: 'What helps with heartburn?', response: 'Eat smaller meals and avoid lying down after eating.' },
  { prompt: 'How can I ease heartburn at night?', response: 'Raise the head of the bed and avoid late meals.' },
  { prompt: 'How do I treat a sprained ankle?', response: 'Rest the ankle, apply ice and keep it raised.' },
  { prompt: 'What helps a sprain heal?', response: 'Ice the sprain, rest it and wrap it firmly.' },
];

let server: StandInServer;
let openai: OpenAI;
// Formats (date, email) are checked too: a value must be valid for the whole schema.
const ajv = addFormats.default(new Ajv({ strict: false }));
type Completion = OpenAI.Chat.Completions.ChatCompletion;
type Params = Omit<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, 'model'>;

beforeAll(async () => {
  server = await startStandIn();
  // The official client: the stand-in must speak what it sends and parse what it answers.
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'stand-in-test-'));
  await writeArtifact(dir, pairs);
  execFileSync('tar', ['-xf', join(dir, 'model.tar'), '-C', dir]);
  const load = await fetch(`${server.url}/v1/load_lora_adapter`, {
    method: 'POST',
    body: JSON.stringify({ lora_name: 'health@v1', lora_path: dir }),
  });
  expect(await load.text()).toMatch(/^Success/); // plain text, as vLLM answers
  // vLLM refuses a name it has loaded; so does the stand-in (the predictor must cope).
  const again = await post('/v1/load_lora_adapter', { lora_name: 'health@v1', lora_path: dir });
  expect(again.status).toBe(400);
  expect(again.json.error.message).toMatch(/already been loaded/);
});
afterAll(() => server.close());

interface ErrorBody {
  error: { message: string; param: string | null; code: number };
}

async function post(path: string, body: unknown): Promise<{ status: number; json: ErrorBody }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as ErrorBody };
}

const chat = (body: Params): Promise<Completion> =>
  openai.chat.completions.create({ model: 'health@v1', ...body, stream: false });
const ask = (content: string): OpenAI.Chat.Completions.ChatCompletionMessageParam[] => [{ role: 'user', content }];
const text = (c: Completion, i = 0): string => {
  const content = c.choices[i]?.message.content;
  if (typeof content !== 'string') throw new Error(`choice ${i} has no text`);
  return content;
};
const toolCall = (c: Completion): OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall => {
  const call = c.choices[0]?.message.tool_calls?.[0];
  if (call?.type !== 'function') throw new Error('no function call');
  return call;
};

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'the city name' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', minimum: 1, maximum: 7 },
      },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const lookup = {
  type: 'function' as const,
  function: {
    name: 'search_guidelines',
    description: 'Search medical guidelines',
    parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
};

describe('stand-in upstream: generation', () => {
  it('generates from the adapter conditioned on the prompt; greedy decoding is deterministic', async () => {
    const a = await chat({ messages: ask('how should I treat a burn'), temperature: 0 });
    const b = await chat({ messages: ask('how should I treat a burn'), temperature: 0 });
    expect(text(a)).toMatch(/burn/);
    expect(text(b)).toBe(text(a));
    expect(a.choices[0]?.finish_reason).toBe('stop');
    expect(a.usage?.prompt_tokens).toBe(6);
    expect(a.usage?.completion_tokens).toBeGreaterThan(3);
  });

  it('a seed reproduces a sampled answer; n gives that many choices', async () => {
    const body = { messages: ask('what helps with heartburn'), temperature: 1.5, seed: 7, n: 4 };
    const a = await chat(body);
    const b = await chat(body);
    expect(a.choices).toHaveLength(4);
    expect(a.choices.map((c) => c.message.content)).toEqual(b.choices.map((c) => c.message.content));
    // Different seeds sample differently somewhere among a dozen answers.
    const outs = new Set<string>();
    for (let seed = 0; seed < 12; seed++) outs.add(text(await chat({ ...body, n: 1, seed })));
    expect(outs.size).toBeGreaterThan(1);
  });

  it('honours max_tokens (finish length) and stop strings (never sent, finish stop)', async () => {
    const cut = await chat({ messages: ask('how do I treat a burn'), temperature: 0, max_tokens: 3 });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(3);
    const full = text(await chat({ messages: ask('how do I treat a burn'), temperature: 0 }));
    const stopAt = full.split(' ').slice(2, 4).join(' ');
    const stopped = await chat({ messages: ask('how do I treat a burn'), temperature: 0, stop: [stopAt] });
    expect(text(stopped)).toBe(full.slice(0, full.indexOf(stopAt)));
    expect(stopped.choices[0]?.finish_reason).toBe('stop');
  });

  it('refuses what it does not know with OpenAI’s error shape naming the field', async () => {
    const r = await post('/v1/chat/completions', { model: 'health@v1', messages: ask('hi'), logit_bias: {} });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ param: 'logit_bias', code: 400 });
    const missing = await post('/v1/chat/completions', { model: 'nope', messages: ask('hi') });
    expect(missing.status).toBe(404);
    expect(missing.json.error.param).toBe('model');
  });
});

describe('stand-in upstream: tools and JSON by schema-constrained decoding', () => {
  it('calls the tool the question points at, with arguments valid for its schema, taken from the question', async () => {
    const r = await chat({
      messages: ask('What is the weather in Paris in celsius for 3 days?'),
      tools: [lookup, weather],
      tool_choice: 'auto',
    });
    expect(r.choices[0]?.finish_reason).toBe('tool_calls');
    expect(r.choices[0]?.message.content).toBeNull();
    const call = toolCall(r);
    expect(call.function.name).toBe('get_weather');
    expect(call.id).toMatch(/^call_/);
    const args: unknown = JSON.parse(call.function.arguments);
    expect(ajv.validate(weather.function.parameters, args)).toBe(true);
    expect(args).toEqual({ city: 'Paris', unit: 'celsius', days: 3 });
    expect(r.usage?.completion_tokens).toBeGreaterThan(5);
  });

  it('tool_choice none answers in text, required and named always call, and a tool result is answered in text', async () => {
    const q = ask('What is the weather in Oslo?');
    const none = await chat({ messages: q, tools: [weather], tool_choice: 'none' });
    expect(none.choices[0]?.finish_reason).toBe('stop');
    expect(none.choices[0]?.message.tool_calls ?? []).toEqual([]);
    const unrelated = ask('tell me a story');
    expect((await chat({ messages: unrelated, tools: [weather] })).choices[0]?.finish_reason).toBe('stop');
    const required = await chat({ messages: unrelated, tools: [weather], tool_choice: 'required' });
    expect(toolCall(required).function.name).toBe('get_weather');
    const named = await chat({
      messages: q,
      tools: [weather, lookup],
      tool_choice: { type: 'function', function: { name: 'search_guidelines' } },
    });
    const args = JSON.parse(toolCall(named).function.arguments) as { query: string };
    expect(ajv.validate(lookup.function.parameters, args)).toBe(true);
    expect(args.query).toContain('weather');

    const after = await chat({
      messages: [
        ...q,
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'Snow in Oslo, minus four degrees.' },
      ],
      tools: [weather],
      temperature: 0,
    });
    expect(after.choices[0]?.finish_reason).toBe('stop');
    expect(text(after)).toMatch(/Oslo|Snow|four/);
  });

  it('json_schema output validates against the schema; json_object is a JSON object', async () => {
    const schema = {
      type: 'object',
      properties: {
        answer: { type: 'string', minLength: 1 },
        severity: { type: 'string', enum: ['mild', 'moderate', 'severe'] },
        minutes: { type: 'number', minimum: 0 },
        steps: { type: 'array', items: { $ref: '#/$defs/step' }, minItems: 2 },
        urgent: { type: 'boolean' },
      },
      required: ['answer', 'severity', 'minutes', 'steps', 'urgent'],
      additionalProperties: false,
      $defs: { step: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
    };
    for (const seed of [1, 2, 3]) {
      const r = await chat({
        messages: ask('A moderate burn on my hand: what do I do in the next 20 minutes?'),
        response_format: { type: 'json_schema', json_schema: { name: 'advice', schema, strict: true } },
        seed,
      });
      const out = JSON.parse(text(r)) as { severity: string; minutes: number };
      expect(ajv.validate(schema, out)).toBe(true);
      expect(out.severity).toBe('moderate');
      expect(out.minutes).toBe(20);
    }
    const obj = await chat({ messages: ask('how do I treat a burn'), response_format: { type: 'json_object' } });
    expect(typeof JSON.parse(text(obj))).toBe('object');
  });
});

describe('stand-in upstream: streaming and embeddings', () => {
  it('streams tokens as server-sent events, with usage last when asked', async () => {
    const stream = await openai.chat.completions.create({
      model: 'health@v1',
      messages: ask('how do I treat a burn'),
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const deltas = chunks.map((c) => c.choices[0]?.delta.content ?? '');
    const whole = text(await chat({ messages: ask('how do I treat a burn'), temperature: 0 }));
    expect(deltas.join('')).toBe(whole);
    const tokens = deltas.filter(Boolean).length;
    expect(tokens).toBeGreaterThan(3); // token by token, not the answer at once
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(tokens);
  });

  it('streams a tool call: id and name first, then the arguments in pieces', async () => {
    const stream = await openai.chat.completions.create({
      model: 'health@v1',
      messages: ask('What is the weather in Paris in celsius?'),
      tools: [weather],
      stream: true,
    });
    const calls: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null | undefined;
    for await (const c of stream) {
      calls.push(...(c.choices[0]?.delta.tool_calls ?? []));
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } });
    expect(calls.length).toBeGreaterThan(3);
    const args: unknown = JSON.parse(calls.map((c) => c.function?.arguments ?? '').join(''));
    expect(ajv.validate(weather.function.parameters, args)).toBe(true);
  });

  it('embeds texts as unit vectors of one dimension, the same on every call', async () => {
    const r = await openai.embeddings.create({ model: 'health@v1', input: ['burn water', 'heartburn meals'] });
    const [a, b] = r.data.map((d) => d.embedding);
    if (!a || !b) throw new Error('two embeddings expected');
    expect(a.length).toBe(b.length);
    expect(Math.hypot(...a)).toBeCloseTo(1, 6); // float32 on the wire (the client's base64 default)
    const again = await openai.embeddings.create({ model: 'health@v1', input: 'burn water', encoding_format: 'float' });
    const floats = again.data[0]?.embedding ?? [];
    expect(floats.map((x) => Math.fround(x))).toEqual(a);
    expect(r.usage.prompt_tokens).toBe(4);
  });
});

describe('stand-in upstream: schema-constrained decoding on awkward schemas', () => {
  const schemas: Record<string, Record<string, unknown>> = {
    'nullable and union types (strict mode)': {
      type: 'object',
      properties: {
        city: { type: ['string', 'null'] },
        when: { anyOf: [{ type: 'string', format: 'date' }, { type: 'null' }] },
        count: { type: 'integer', exclusiveMinimum: 0, maximum: 5 },
      },
      required: ['city', 'when', 'count'],
      additionalProperties: false,
    },
    'nested arrays of objects with enums, consts and bounds': {
      type: 'object',
      properties: {
        kind: { const: 'order' },
        items: {
          type: 'array',
          minItems: 2,
          maxItems: 3,
          items: {
            type: 'object',
            properties: {
              sku: { type: 'string', minLength: 3, maxLength: 8 },
              qty: { type: 'integer', enum: [1, 2, 5] },
            },
            required: ['sku', 'qty'],
          },
        },
        rush: { type: 'boolean', default: true },
        contact: { type: 'string', format: 'email' },
      },
      required: ['kind', 'items', 'rush', 'contact'],
    },
    'a recursive tree (ends)': {
      $defs: {
        node: {
          type: 'object',
          properties: { label: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } },
          required: ['label', 'children'],
        },
      },
      $ref: '#/$defs/node',
    },
    'a pattern the conversation satisfies': {
      type: 'object',
      properties: { code: { type: 'string', pattern: '^[A-Z]{3}-\\d+$' } },
      required: ['code'],
    },
  };

  for (const [what, schema] of Object.entries(schemas))
    it(`valid output for ${what}`, async () => {
      for (const seed of [1, 2]) {
        const r = await chat({
          messages: ask('Ship order ABC-42 to Paris, 2 boxes, mail me at ana@example.org by 2026-12-24'),
          response_format: { type: 'json_schema', json_schema: { name: 'x', schema } },
          seed,
        });
        const out: unknown = JSON.parse(text(r));
        expect(ajv.validate(schema, out), JSON.stringify({ out, errors: ajv.errors })).toBe(true);
      }
    });
});
