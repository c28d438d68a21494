/**
 * A vLLM-compatible upstream for tests, the demo and development machines without a GPU: the
 * routes of vLLM's OpenAI server that Commons uses (GET /v1/models, POST /v1/load_lora_adapter,
 * /v1/chat/completions as JSON or server-sent events with `stream_options.include_usage`, and
 * /v1/embeddings), answering from a trigram model per loaded adapter (ngram-model.ts) with tool
 * calls and JSON output by schema-constrained decoding (schema-filler.ts). Production runs vLLM
 * (docs/inference-upstream.md); nothing in production imports this.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HashedTfIdf } from '../../serving/hashed-embedding.js';
import { countTokens } from '../../serving/tokens.js';
import { readAdapter } from './adapter.js';
import { complete, promptTokens, type Piece } from './completion.js';
import { NgramModel } from './ngram-model.js';
import { BadRequest, parseChatRequest } from './request.js';

/** The base model every adapter extends; it knows no records. */
export const BASE_MODEL = 'stand-in-base';
const MAX_BODY = 4 << 20;

class UnknownModel extends Error {}

interface JsonChoice {
  index: number;
  message: {
    role: 'assistant';
    content: string | null;
    tool_calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  };
  finish_reason: string;
  logprobs: null;
}

interface Loaded {
  model: NgramModel;
  embedder: HashedTfIdf;
  created: number;
}

export interface StandInServer {
  url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new BadRequest(null, 'request body over 4 MiB'));
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        const v: unknown = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch {
        reject(new BadRequest(null, 'the body must be a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, message: string, param: string | null = null): void {
  const type = status === 404 ? 'NotFoundError' : status === 400 ? 'BadRequestError' : 'InternalServerError';
  send(res, status, { error: { message, type, param, code: status } });
}

/** Lets the event loop run between tokens: a reader sees them as they are made, and a closed stream stops generation. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export class StandInUpstream {
  private readonly adapters = new Map<string, Loaded>([
    [BASE_MODEL, { model: new NgramModel([]), embedder: new HashedTfIdf([]), created: Math.floor(Date.now() / 1000) }],
  ]);
  private calls = 0;

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method === 'GET' && req.url === '/v1/models') return this.models(res);
      if (req.method === 'GET' && req.url === '/health') return send(res, 200, { ok: true });
      if (req.method !== 'POST') return error(res, 404, `no route ${req.method} ${req.url}`);
      const body = await readBody(req);
      if (req.url === '/v1/load_lora_adapter') return await this.load(body, res);
      if (req.url === '/v1/chat/completions') return await this.chat(body, res);
      if (req.url === '/v1/embeddings') return this.embeddings(body, res);
      return error(res, 404, `no route ${req.url}`);
    } catch (err) {
      if (res.headersSent) return void res.destroy(err as Error);
      if (err instanceof BadRequest) return error(res, 400, err.message, err.param);
      if (err instanceof UnknownModel) return error(res, 404, err.message, 'model');
      return error(res, 500, (err as Error).message);
    }
  }

  private models(res: ServerResponse): void {
    send(res, 200, {
      object: 'list',
      data: [...this.adapters].map(([id, a]) => ({
        id,
        object: 'model',
        created: a.created,
        owned_by: 'stand-in',
        root: id === BASE_MODEL ? BASE_MODEL : id,
        parent: id === BASE_MODEL ? null : BASE_MODEL,
      })),
    });
  }

  private async load(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const { lora_name: name, lora_path: path } = body;
    if (typeof name !== 'string' || typeof path !== 'string')
      throw new BadRequest('lora_name', 'lora_name and lora_path are required');
    // As vLLM: a name is loaded once (a second load is refused), and success is plain text.
    if (this.adapters.has(name)) throw new BadRequest(null, `The lora adapter '${name}' has already been loaded.`);
    const pairs = await readAdapter(path).catch((err: Error) => {
      throw new BadRequest('lora_path', `no stand-in adapter at ${path}: ${err.message}`);
    });
    this.adapters.set(name, {
      model: new NgramModel(pairs),
      embedder: new HashedTfIdf(pairs.map((p) => `${p.prompt}\n${p.response}`)),
      created: Math.floor(Date.now() / 1000),
    });
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`Success: LoRA adapter '${name}' added successfully.`);
  }

  private adapter(model: unknown): Loaded {
    const a = typeof model === 'string' ? this.adapters.get(model) : undefined;
    if (!a) throw new UnknownModel(`The model \`${String(model)}\` does not exist.`);
    return a;
  }

  private async chat(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const r = parseChatRequest(body);
    const loaded = this.adapter(r.model);
    const id = `chatcmpl-stand-in-${++this.calls}`;
    const created = Math.floor(Date.now() / 1000);
    const counted = { completion: 0 };
    const usage = () => {
      const prompt = promptTokens(r);
      return {
        prompt_tokens: prompt,
        completion_tokens: counted.completion,
        total_tokens: prompt + counted.completion,
      };
    };
    const pieces = complete(loaded.model, r, counted);
    if (!r.stream) {
      const choices: JsonChoice[] = Array.from({ length: r.n }, (_, index) => ({
        index,
        message: { role: 'assistant', content: '', tool_calls: [] },
        finish_reason: 'stop',
        logprobs: null,
      }));
      for (const p of pieces) {
        const c = choices[p.choice]!;
        const calls = c.message.tool_calls;
        if ('text' in p) c.message.content = (c.message.content ?? '') + p.text;
        else if ('toolCall' in p)
          calls.push({ id: p.toolCall.id, type: 'function', function: { name: p.toolCall.name, arguments: '' } });
        else if ('argumentsDelta' in p) {
          const last = calls[calls.length - 1];
          if (last) last.function.arguments += p.argumentsDelta;
        } else c.finish_reason = p.finish;
      }
      for (const c of choices) if (c.message.tool_calls.length && !c.message.content) c.message.content = null;
      return send(res, 200, { id, object: 'chat.completion', created, model: r.model, choices, usage: usage() });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: r.model, choices, ...extra })}\n\n`;
    const write = async (data: string) => {
      if (res.destroyed) return false;
      if (!res.write(data)) await new Promise<void>((ok) => res.once('drain', ok).once('close', ok));
      await tick();
      return !res.destroyed;
    };
    for (let index = 0; index < r.n; index++)
      if (!(await write(chunk([{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }])))) return;
    const toolIndex: number[] = [];
    for (const p of pieces) if (!(await write(chunk([delta(p, toolIndex)])))) return; // the reader left: stop generating
    if (r.includeUsage) await write(chunk([], { usage: usage() }));
    await write('data: [DONE]\n\n');
    res.end();
  }

  private embeddings(body: Record<string, unknown>, res: ServerResponse): void {
    for (const k of Object.keys(body))
      if (!['model', 'input', 'encoding_format', 'user'].includes(k))
        throw new BadRequest(k, `the stand-in upstream does not support ${k}`);
    const base64 = body.encoding_format === 'base64';
    if (body.encoding_format !== undefined && body.encoding_format !== 'float' && !base64)
      throw new BadRequest('encoding_format', 'encoding_format must be "float" or "base64"');
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    if (!Array.isArray(inputs) || !inputs.length || inputs.some((x) => typeof x !== 'string'))
      throw new BadRequest('input', 'input must be a string or a non-empty array of strings');
    const loaded = this.adapter(body.model);
    const texts = inputs as string[];
    const tokens = countTokens(texts);
    send(res, 200, {
      object: 'list',
      model: body.model,
      data: texts.map((t, index) => {
        const v = loaded.embedder.embed(t);
        // base64: the little-endian float32 bytes, as OpenAI's client asks for by default.
        const embedding = base64 ? Buffer.from(Float32Array.from(v).buffer).toString('base64') : v;
        return { object: 'embedding', index, embedding };
      }),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }
}

/** One streamed chunk's choice for a piece; `toolIndex` counts each choice's tool calls so far. */
function delta(p: Piece, toolIndex: number[]): Record<string, unknown> {
  const index = p.choice;
  if ('text' in p) return { index, delta: { content: p.text }, finish_reason: null };
  if ('toolCall' in p) {
    toolIndex[index] = (toolIndex[index] ?? -1) + 1;
    return {
      index,
      delta: {
        tool_calls: [
          {
            index: toolIndex[index],
            id: p.toolCall.id,
            type: 'function',
            function: { name: p.toolCall.name, arguments: '' },
          },
        ],
      },
      finish_reason: null,
    };
  }
  if ('argumentsDelta' in p)
    return {
      index,
      delta: { tool_calls: [{ index: toolIndex[index] ?? 0, function: { arguments: p.argumentsDelta } }] },
      finish_reason: null,
    };
  return { index, delta: {}, finish_reason: p.finish };
}

/** Starts the stand-in on `port` (0: a free one) on the loopback interface. */
export async function startStandIn(port = 0, host = '127.0.0.1'): Promise<StandInServer> {
  const upstream = new StandInUpstream();
  const server: Server = createServer((req, res) => void upstream.handle(req, res));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
