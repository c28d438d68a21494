/**
 * Serving for models trained by the external trainer: the promoted LoRA adapter is answered by an
 * OpenAI-compatible upstream (vLLM with runtime LoRA loading on a GPU fleet, or the reference
 * ml/external/reference/serve.py on a CPU). The Commons API stays in front: API keys, fees and
 * attribution are Commons'. The upstream knows nothing of contributors, and gradient influence
 * through a transformer per call is out of reach, so a generation model with a span index (ml/spans,
 * built by the trainer beside the adapter) attributes an answer to the training records it shares
 * spans with (OLMoTrace-style). Where no span qualifies, and for a stream (its fee is committed on
 * the attribution before the first token, when the answer is not yet known), attribution is by
 * retrieval over the version's training records: the records most similar to the request,
 * weighted by similarity.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseManifest } from '../embedded/embedded-trainer.js';
import type { Attribution } from '../embedded/influence.js';
import { ExactCosineIndex } from '../generative/retrieval.js';
import { attributeSpans } from '../spans/span-match.js';
import { loadSpanIndex } from '../spans/span-store.js';
import type { ManifestRecord } from '../trainer.js';
import type { FinishReason, PredictorCapabilities, PredictorFactory, PredictRequest, Usage } from './prediction.js';
import { checkOptions } from './options.js';
import { promptOf } from './conversation.js';
import {
  chunkDeltas,
  finishReason,
  sseData,
  toolCallsOf,
  upstreamError,
  wireMessages,
  wireOptions,
  type WireCompletion,
  type WireUsage,
} from './openai-wire.js';

const exec = promisify(execFile);

export interface UpstreamOptions {
  /** The upstream's base URL, e.g. http://vllm:8000 (without /v1). */
  baseUrl: string;
  /** A directory the upstream can read: adapters are unpacked here and loaded by path. */
  adapterDir: string;
  /** Bearer token for the upstream, when it wants one. */
  apiKey?: string;
  /** Per-request timeout (default 60 s); for a stream, the longest wait for its next chunk. */
  timeoutMs?: number;
}

/** The upstream model name of a version: stable, so every API replica loads the same adapter once. */
export function adapterName(modelName: string, version: number): string {
  return `${modelName}@v${version}`;
}

/**
 * Unpacks the artifact (a tar of adapter/ and labels.json) into `adapterDir` once per sha256:
 * written to a temporary directory, then renamed, so a reader never sees half an adapter.
 */
async function materialise(opts: UpstreamOptions, name: string, sha: string, artifact: Buffer): Promise<string> {
  const target = join(opts.adapterDir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${sha.slice(0, 16)}`);
  if (await exists(join(target, 'labels.json'))) return target;
  await mkdir(opts.adapterDir, { recursive: true });
  const tmp = await mkdtemp(join(opts.adapterDir, '.unpack-'));
  try {
    await writeFile(join(tmp, 'model.tar'), artifact);
    // GNU tar refuses members that climb out of the target (`..`) and strips leading slashes.
    await exec('tar', ['-xf', join(tmp, 'model.tar'), '-C', tmp, 'adapter', 'labels.json']);
    await rm(join(tmp, 'model.tar'));
    await rename(tmp, target).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err; // another replica won the race
      await rm(tmp, { recursive: true, force: true });
    });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return target;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function send(
  opts: UpstreamOptions,
  path: string,
  body: unknown,
  signal?: AbortSignal,
  timeout: AbortSignal = AbortSignal.timeout(opts.timeoutMs ?? 60_000),
): Promise<Response> {
  return fetch(`${opts.baseUrl.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
    },
    body: JSON.stringify(body),
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
}

/**
 * A stream's timeout: aborts when the upstream has sent nothing for `ms` (the time to the first
 * byte, then between chunks), so a long answer that keeps coming is never cut.
 */
function idleTimeout(ms: number): { signal: AbortSignal; touch(): void; clear(): void } {
  const ac = new AbortController();
  const fire = () => ac.abort(new DOMException(`the upstream sent nothing for ${ms} ms`, 'TimeoutError'));
  let timer = setTimeout(fire, ms);
  return {
    signal: ac.signal,
    touch() {
      clearTimeout(timer);
      timer = setTimeout(fire, ms);
    },
    clear: () => clearTimeout(timer),
  };
}

async function post(
  opts: UpstreamOptions,
  path: string,
  body: unknown,
  signal?: AbortSignal,
  timeout?: AbortSignal,
): Promise<Response> {
  const res = await send(opts, path, body, signal, timeout);
  if (!res.ok) throw upstreamError(path, res.status, await res.text());
  return res;
}

/**
 * Loads the adapter under the version's name. vLLM answers plain text, and refuses a name it has
 * already loaded (another API replica loaded it, or this one before evicting the version): the
 * name is the version's, so that adapter is this one.
 */
async function loadAdapter(opts: UpstreamOptions, name: string, dir: string): Promise<void> {
  const path = '/v1/load_lora_adapter';
  const res = await send(opts, path, { lora_name: name, lora_path: dir });
  const text = await res.text();
  if (res.ok || (res.status === 400 && text.includes('already been loaded'))) return;
  throw upstreamError(path, res.status, text);
}

async function call<T>(opts: UpstreamOptions, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return (await (await post(opts, path, body, signal)).json()) as T;
}

/** Attribution of a request to the training records most similar to it, weighted by similarity. */
export function retrievalAttribution(
  index: ExactCosineIndex,
  records: readonly ManifestRecord[],
  query: string,
  topK: number,
): Attribution {
  const hits = index.search(query, Math.max(1, topK)).filter((h) => h.score > 0);
  const total = hits.reduce((s, h) => s + h.score, 0);
  const byContributor = new Map<string, number>();
  const out: Attribution['records'] = [];
  for (const h of hits) {
    const r = records[h.id]!;
    const influence = h.score / total;
    out.push({ hash: r.hash, contributor: r.contributor, influence });
    byContributor.set(r.contributor, (byContributor.get(r.contributor) ?? 0) + influence);
  }
  const contributors = [...byContributor]
    .map(([contributor, weight]) => ({ contributor, weight }))
    .sort((a, b) => b.weight - a.weight || a.contributor.localeCompare(b.contributor));
  return { contributors, records: out };
}

/** Everything an OpenAI-compatible upstream takes is forwarded; what it cannot do, it refuses (a 400 naming the field). */
const CAPABILITIES: PredictorCapabilities = {
  options: new Set(['maxTokens', 'temperature', 'topP', 'stop', 'seed', 'n', 'tools', 'toolChoice', 'responseFormat']),
  responseFormats: new Set(['text', 'json_object', 'json_schema']),
  streaming: true,
  embeddings: true,
};

export function upstreamPredictor(opts: UpstreamOptions): PredictorFactory {
  return async (src, artifact, store) => {
    const name = adapterName(src.modelName, src.version);
    const sha = createHash('sha256').update(artifact).digest('hex');
    const dir = await materialise(opts, name, sha, artifact);
    await loadAdapter(opts, name, dir);
    const records = parseManifest(await store.get(src.manifestKey));
    const { task } = src;
    const index = new ExactCosineIndex(
      records.map((r) => (task === 'generation' ? `${r.text}\n${r.response ?? ''}` : r.text)),
    );
    const attribute = (req: PredictRequest) => retrievalAttribution(index, records, promptOf(req.messages), req.topK);
    const spans = task === 'generation' ? await loadSpanIndex(store, src.artifactKey) : undefined;
    const attributeAnswer = (req: PredictRequest, outputs: string[]) =>
      (spans && attributeSpans(spans, outputs, req.topK)?.attribution) ?? attribute(req);
    const request = (req: PredictRequest) => ({
      model: name,
      messages: wireMessages(req.messages),
      ...wireOptions(req.options),
    });
    return {
      kind: `upstream-${task}`,
      task,
      capabilities: CAPABILITIES,
      attributionMode: spans ? 'spans' : 'retrieval',
      attributionRecords: records.length,
      async predict(req) {
        checkOptions(CAPABILITIES, req.options);
        const res = await call<WireCompletion>(opts, '/v1/chat/completions', request(req), req.signal);
        const choices = (res.choices ?? []).map((c) => {
          const toolCalls = toolCallsOf(c.message?.tool_calls);
          return {
            output: c.message?.content ?? '',
            ...(toolCalls ? { toolCalls } : {}),
            finishReason: finishReason(c.finish_reason),
          };
        });
        if (!choices.length) throw new Error(`upstream answered without a choice for ${name}`);
        const probabilities = res.choices?.[0]?.label_probabilities;
        return {
          output: choices[0]!.output,
          choices,
          ...(probabilities ? { probabilities } : {}),
          usage: usageOf(res.usage, name),
          attribution: attributeAnswer(
            req,
            choices.map((c) => c.output),
          ),
        };
      },
      async *stream(req) {
        checkOptions(CAPABILITIES, req.options);
        const body = { ...request(req), stream: true, stream_options: { include_usage: true } };
        const idle = idleTimeout(opts.timeoutMs ?? 60_000);
        try {
          const res = await post(opts, '/v1/chat/completions', body, req.signal, idle.signal);
          if (!res.body) throw new Error(`upstream answered an empty stream for ${name}`);
          // Only once the upstream has accepted the call: a refusal costs the caller nothing.
          yield { type: 'attribution', attribution: attribute(req) };
          const finish: FinishReason[] = [];
          let usage: WireUsage | null | undefined;
          for await (const data of sseData(res.body)) {
            idle.touch();
            const chunk = JSON.parse(data) as WireCompletion;
            if (chunk.usage) usage = chunk.usage;
            for (const c of chunk.choices ?? [])
              if (c.finish_reason) finish[c.index ?? 0] = finishReason(c.finish_reason);
            yield* chunkDeltas(chunk.choices ?? []);
          }
          if (!finish.length) throw new Error(`upstream ended the stream for ${name} before finishing`);
          yield { type: 'done', finishReasons: [...finish].map((f) => f ?? 'stop'), usage: usageOf(usage, name) };
        } finally {
          idle.clear();
        }
      },
      async embed(inputs, signal) {
        const res = await call<{ data?: { index: number; embedding: number[] }[]; usage?: WireUsage }>(
          opts,
          '/v1/embeddings',
          { model: name, input: inputs },
          signal,
        );
        const vectors: number[][] = [];
        for (const d of res.data ?? []) vectors[d.index] = d.embedding;
        if (vectors.length !== inputs.length || Array.from(vectors).some((v) => !Array.isArray(v)))
          throw new Error(`upstream answered ${res.data?.length ?? 0} embeddings for ${inputs.length} inputs`);
        return { vectors, usage: { promptTokens: res.usage?.prompt_tokens ?? 0 } };
      },
    };
  };
}

/** Usage as the upstream counted it; an upstream that does not count is a broken upstream, not a free call. */
function usageOf(u: WireUsage | null | undefined, name: string): Usage {
  if (typeof u?.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number')
    throw new Error(`upstream answered without token usage for ${name}`);
  return { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
}
