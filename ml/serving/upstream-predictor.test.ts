import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory-store.js';
import { adapterName, upstreamPredictor } from './upstream-predictor.js';
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

// The upstream (vLLM, or serve.py) is outside this process: a stand-in speaking the same two calls
// records what the predictor sends and answers as vLLM does.
const calls: { path: string; body: Record<string, unknown> }[] = [];
const server = createServer((req, res) => {
  void readJson(req).then((body) => {
    calls.push({ path: req.url ?? '', body });
    res.setHeader('content-type', 'application/json');
    if (req.url === '/v1/load_lora_adapter') return res.end(JSON.stringify({ loaded: body.lora_name }));
    if (req.url === '/v1/chat/completions')
      return res.end(
        JSON.stringify({
          choices: [
            {
              message: { role: 'assistant', content: 'spam' },
              finish_reason: 'stop',
              label_probabilities: { spam: 0.8, ham: 0.2 },
            },
          ],
          usage: { prompt_tokens: 5, completion_tokens: 1 },
        }),
      );
    res.statusCode = 404;
    res.end('{}');
  });
});
let baseUrl = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as never) : {}));
  });
}

/** A model artifact as the reference trainer writes it: a tar of adapter/ and labels.json. */
function artifact(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'commons-adapter-'));
  mkdirSync(join(dir, 'adapter'));
  writeFileSync(join(dir, 'adapter', 'adapter_config.json'), '{"r": 16}');
  writeFileSync(join(dir, 'labels.json'), '["spam","ham"]');
  execFileSync('tar', ['-cf', join(dir, 'model.tar'), '-C', dir, 'adapter', 'labels.json']);
  return readFileSync(join(dir, 'model.tar'));
}

describe('upstream predictor (external models behind an OpenAI-compatible server)', () => {
  it('unpacks the adapter once, loads it by name, forwards the call and attributes by retrieval', async () => {
    const store = new MemoryStore();
    const manifest = [
      { hash: 'a1', contributor: 'alice', text: 'win free money now, claim your prize', label: 'spam' },
      { hash: 'a2', contributor: 'alice', text: 'cheap pills, free offer, click now', label: 'spam' },
      { hash: 'b1', contributor: 'bob', text: 'minutes of the project meeting on tuesday', label: 'ham' },
    ];
    await store.put('datasets/m.jsonl', manifest.map((r) => JSON.stringify(r)).join('\n'));
    const adapterDir = mkdtempSync(join(tmpdir(), 'commons-adapters-'));
    const factory = upstreamPredictor({ baseUrl, adapterDir });
    const src = {
      modelName: 'spam',
      version: 3,
      artifactKey: 'a',
      manifestKey: 'datasets/m.jsonl',
      trainer: 'external',
      task: 'classification' as const,
    };
    // One artifact for both loads: tar stamps mtimes, so two builds a second apart differ in sha256.
    const tar = artifact();
    const predictor = await factory(src, tar, store);

    const load = calls.find((c) => c.path === '/v1/load_lora_adapter')!;
    expect(load.body.lora_name).toBe(adapterName('spam', 3));
    const path = String(load.body.lora_path);
    expect(path.startsWith(adapterDir)).toBe(true);
    expect(JSON.parse(readFileSync(join(path, 'labels.json'), 'utf8'))).toEqual(['spam', 'ham']);
    expect(readFileSync(join(path, 'adapter', 'adapter_config.json'), 'utf8')).toBe('{"r": 16}');

    const p = await predictor.predict({
      messages: [{ role: 'user', content: 'claim your free money prize' }],
      topK: 2,
      options: { temperature: 0, maxTokens: 4 },
    });
    const chat = calls.find((c) => c.path === '/v1/chat/completions')!;
    expect(chat.body).toMatchObject({ model: 'spam@v3', temperature: 0, max_tokens: 4 });
    expect(p.output).toBe('spam');
    expect(p.usage).toEqual({ promptTokens: 5, completionTokens: 1 });
    expect(p.probabilities).toEqual({ spam: 0.8, ham: 0.2 });
    // The two most similar training records are alice's spam mails; their weights sum to one.
    expect(p.attribution.records.map((r) => r.hash).sort()).toEqual(['a1', 'a2']);
    expect(p.attribution.contributors).toEqual([{ contributor: 'alice', weight: expect.closeTo(1, 9) as number }]);

    // A second replica (or a reload) finds the adapter already unpacked and reuses the directory.
    await factory(src, tar, store);
    const loads = calls.filter((c) => c.path === '/v1/load_lora_adapter');
    expect(loads).toHaveLength(2);
    expect(loads[1]!.body.lora_path).toBe(path);
  });
});

describe('upstream predictor against the stand-in upstream (generation, tools, streaming, embeddings)', () => {
  let standIn: StandInServer;
  let predictor: Predictor;
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
    predictor = await factory(
      {
        modelName: 'health',
        version: 1,
        artifactKey: 'a',
        manifestKey: 'datasets/gen.jsonl',
        trainer: 'external',
        task: 'generation',
      },
      readFileSync(join(out, 'model.tar')),
      store,
    );
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

  it('embeds through the upstream’s /v1/embeddings', async () => {
    const e = await predictor.embed!(['burn water', 'heartburn']);
    expect(e.vectors).toHaveLength(2);
    expect(e.vectors[0]!.length).toBe(e.vectors[1]!.length);
    expect(e.usage.promptTokens).toBe(3);
  });
});
