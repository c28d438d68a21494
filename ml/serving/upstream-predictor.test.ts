import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory-store.js';
import { adapterName, upstreamPredictor } from './upstream-predictor.js';
import { collect } from './events.js';

// A classification adapter's upstream (serve.py answers labels with their probabilities): a server
// speaking the two calls records what the predictor sends. Generation, tools and streams are
// tested against the generating stand-in in upstream-generation.test.ts.
const calls: { path: string; body: Record<string, unknown> }[] = [];
const server = createServer((req, res) => {
  void readJson(req).then((body) => {
    calls.push({ path: req.url ?? '', body });
    res.setHeader('content-type', 'application/json');
    if (req.url === '/v1/load_lora_adapter') return res.end(JSON.stringify({ loaded: body.lora_name }));
    if (req.url === '/v1/chat/completions' && body.stream === true) return void slowStream(body, res);
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

/** Streams "gap=<ms> chunks=<n>" (the user's message) as n one-word chunks, `gap` ms apart. */
async function slowStream(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const ask = (body.messages as { content: string }[])[0]!.content;
  const [gap, chunks] = [/gap=(\d+)/, /chunks=(\d+)/].map((re) => Number(re.exec(ask)?.[1]));
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (o: object) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  for (let i = 0; i < chunks! && !res.destroyed; i++) {
    await new Promise((r) => setTimeout(r, gap));
    send({ choices: [{ index: 0, delta: { content: 'word ' }, finish_reason: null }] });
  }
  send({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  send({ choices: [], usage: { prompt_tokens: 2, completion_tokens: chunks } });
  res.end('data: [DONE]\n\n');
}

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

  it('a stream is timed out only when the upstream goes quiet, however long the whole answer takes', async () => {
    const store = new MemoryStore();
    await store.put('datasets/one.jsonl', JSON.stringify({ hash: 'x', contributor: 'x', text: 'x', label: 'ham' }));
    const src = {
      modelName: 'slow',
      version: 1,
      artifactKey: 'a',
      manifestKey: 'datasets/one.jsonl',
      trainer: 'external',
      task: 'generation' as const,
    };
    const factory = upstreamPredictor({
      baseUrl,
      adapterDir: mkdtempSync(join(tmpdir(), 'commons-adapters-')),
      timeoutMs: 150,
    });
    const predictor = await factory(src, artifact(), store);
    const ask = (content: string) => collect(predictor.stream({ messages: [{ role: 'user', content }], topK: 1 }));
    // 8 chunks 50 ms apart: 400 ms in all, more than the 150 ms timeout, never quiet for 150 ms.
    const long = await ask('gap=50 chunks=8');
    expect(long.output).toBe('word '.repeat(8));
    expect(long.usage).toEqual({ promptTokens: 2, completionTokens: 8 });
    const quiet = await ask('gap=400 chunks=2').catch((e: unknown) => e);
    expect((quiet as Error).name).toBe('TimeoutError');
  });
});
