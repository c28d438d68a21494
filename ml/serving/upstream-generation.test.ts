import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory-store.js';
import { upstreamPredictor } from './upstream-predictor.js';
import {
  collect,
  UnsupportedOption,
  type ChatMessage,
  type PredictionEvent,
  type Predictor,
  type ToolSpec,
} from './predictor.js';
import { startStandIn, type StandInServer } from '../external/stand-in/server.js';
import { writeArtifact } from '../external/stand-in/adapter.js';

// The upstream is the generating stand-in (ml/external/stand-in/): vLLM's routes, real sampling,
// tool calls and streams, so what the predictor forwards and parses is checked against a model.
describe('upstream predictor against the stand-in upstream (generation, tools, streaming, embeddings)', () => {
  let standIn: StandInServer;
  let predictor: Predictor;
  let second: Predictor;
  const manifest = [
    {
      hash: 'h1',
      contributor: 'alice',
      text: 'How do I treat a burn?',
      response: 'Cool the burn under running water.',
      label: '',
    },
    {
      hash: 'h2',
      contributor: 'alice',
      text: 'What about a minor burn?',
      response: 'Cool the burn and cover it loosely.',
      label: '',
    },
    {
      hash: 'h3',
      contributor: 'bob',
      text: 'What helps with heartburn?',
      response: 'Eat smaller meals and avoid late meals.',
      label: '',
    },
  ];
  const weather: ToolSpec = {
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  };
  const ask = (content: string): ChatMessage[] => [{ role: 'user', content }];

  beforeAll(async () => {
    standIn = await startStandIn();
    const store = new MemoryStore();
    await store.put('datasets/gen.jsonl', manifest.map((r) => JSON.stringify(r)).join('\n'));
    const out = mkdtempSync(join(tmpdir(), 'commons-stand-in-artifact-'));
    await writeArtifact(
      out,
      manifest.map((r) => ({ prompt: r.text, response: r.response })),
    );
    const factory = upstreamPredictor({
      baseUrl: standIn.url,
      adapterDir: mkdtempSync(join(tmpdir(), 'commons-adapters-')),
    });
    const src = {
      modelName: 'health',
      version: 1,
      artifactKey: 'a',
      manifestKey: 'datasets/gen.jsonl',
      trainer: 'external',
      task: 'generation' as const,
    };
    const tar = readFileSync(join(out, 'model.tar'));
    predictor = await factory(src, tar, store);
    // A second API replica (or this one after evicting the version) loads it again: the upstream
    // refuses the name it already holds, as vLLM does, and the predictor takes that as loaded.
    second = await factory(src, tar, store);
  });
  afterAll(() => standIn.close());

  it('streams attribution first, then the tokens as they come, then done with the upstream’s usage', async () => {
    const events: PredictionEvent[] = [];
    for await (const e of predictor.stream({
      messages: ask('how do I treat a burn'),
      topK: 2,
      options: { temperature: 0 },
    }))
      events.push(e);
    expect(events[0]?.type).toBe('attribution');
    const first = events[0];
    if (first?.type === 'attribution') expect(first.attribution.contributors[0]?.contributor).toBe('alice');
    const deltas = events.filter((e) => e.type === 'delta');
    expect(deltas.length).toBeGreaterThan(3);
    const done = events.at(-1);
    expect(done).toMatchObject({
      type: 'done',
      finishReasons: ['stop'],
      usage: { promptTokens: 6, completionTokens: deltas.length },
    });
    const whole = await predictor.predict({
      messages: ask('how do I treat a burn'),
      topK: 2,
      options: { temperature: 0 },
    });
    expect(deltas.map((d) => (d.type === 'delta' ? d.text : '')).join('')).toBe(whole.output);
    expect(whole.output).toMatch(/burn/i);
  });

  it('forwards max_tokens, stop, n and seed: the upstream honours each', async () => {
    const cut = await predictor.predict({
      messages: ask('how do I treat a burn'),
      topK: 1,
      options: { temperature: 0, maxTokens: 2 },
    });
    expect(cut.choices[0]?.finishReason).toBe('length');
    expect(cut.usage.completionTokens).toBe(2);
    const stopped = await predictor.predict({
      messages: ask('how do I treat a burn'),
      topK: 1,
      options: { temperature: 0, stop: ['burn'] },
    });
    expect(stopped.output).not.toContain('burn');
    const sampled = { messages: ask('how do I treat a burn'), topK: 1, options: { temperature: 1.2, seed: 5, n: 3 } };
    const a = await predictor.predict(sampled);
    const b = await collect(predictor.stream(sampled));
    expect(a.choices).toHaveLength(3);
    expect(b.choices.map((c) => c.output)).toEqual(a.choices.map((c) => c.output));
  });

  it('passes tools through and streams the call: collected, its arguments are JSON for the tool’s schema', async () => {
    const req = {
      messages: ask('What is the weather in Paris in celsius?'),
      topK: 1,
      options: { tools: [weather], toolChoice: 'auto' as const },
    };
    const streamed = await collect(predictor.stream(req));
    const whole = await predictor.predict(req);
    for (const p of [streamed, whole]) {
      expect(p.choices[0]?.finishReason).toBe('tool_calls');
      const call = p.choices[0]?.toolCalls?.[0];
      expect(call?.name).toBe('get_weather');
      expect(JSON.parse(call?.arguments ?? '')).toEqual({ city: 'Paris', unit: 'celsius' });
    }
    // A tool result goes back as a tool turn; the model answers it in words.
    const call = whole.choices[0]!.toolCalls![0]!;
    const after = await predictor.predict({
      messages: [
        ...req.messages,
        { role: 'assistant', content: '', toolCalls: [call] },
        { role: 'tool', content: 'Sunny in Paris, twenty degrees.', toolCallId: call.id },
      ],
      topK: 1,
      options: { tools: [weather], temperature: 0 },
    });
    expect(after.choices[0]?.finishReason).toBe('stop');
    expect(after.output).toMatch(/Paris|Sunny|twenty/);
  });

  it('an upstream refusal naming a field is UnsupportedOption, raised before any attribution (nothing to charge)', async () => {
    const events: PredictionEvent[] = [];
    const err = await (async () => {
      for await (const e of predictor.stream({
        messages: ask('hi'),
        topK: 1,
        options: { tools: [weather], toolChoice: { name: 'not_a_tool' } },
      }))
        events.push(e);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOption);
    expect((err as UnsupportedOption).param).toBe('toolChoice');
    expect(events).toEqual([]);
  });

  it('stops reading when the caller aborts mid-stream', async () => {
    const ac = new AbortController();
    let deltas = 0;
    const err = await (async () => {
      for await (const e of predictor.stream({
        messages: ask('how do I treat a burn'),
        topK: 1,
        options: { temperature: 0 },
        signal: ac.signal,
      }))
        if (e.type === 'delta' && ++deltas === 1) ac.abort();
    })().catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(deltas).toBe(1);
  });

  it('a second load of the same version is answered by the adapter already loaded', async () => {
    const req = { messages: ask('how do I treat a burn'), topK: 1, options: { temperature: 0 } };
    expect((await second.predict(req)).output).toBe((await predictor.predict(req)).output);
  });

  it('embeds through the upstream’s /v1/embeddings', async () => {
    const e = await predictor.embed!(['burn water', 'heartburn']);
    expect(e.vectors).toHaveLength(2);
    expect(e.vectors[0]!.length).toBe(e.vectors[1]!.length);
    expect(e.usage.promptTokens).toBe(3);
  });
});
