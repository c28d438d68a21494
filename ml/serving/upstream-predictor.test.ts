import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory-store.js';
import { adapterName, upstreamPredictor } from './upstream-predictor.js';

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
