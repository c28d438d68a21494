/**
 * Serving for models trained by the external trainer: the promoted LoRA adapter is answered by an
 * OpenAI-compatible upstream (vLLM with runtime LoRA loading on a GPU fleet, or the reference
 * ml/external/reference/serve.py on a CPU). The Commons API stays in front: API keys, fees and
 * attribution are Commons'. Attribution is by retrieval over the version's training records (the
 * records most similar to the request, weighted by similarity): the upstream knows nothing of
 * contributors, and gradient influence through a transformer per call is out of reach.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseManifest } from '../embedded/embedded-trainer.js';
import type { Attribution } from '../embedded/influence.js';
import { ExactCosineIndex } from '../generative/retrieval.js';
import type { ManifestRecord } from '../trainer.js';
import { promptOf, type PredictorFactory } from './predictor.js';

const exec = promisify(execFile);

export interface UpstreamOptions {
  /** The upstream's base URL, e.g. http://vllm:8000 (without /v1). */
  baseUrl: string;
  /** A directory the upstream can read: adapters are unpacked here and loaded by path. */
  adapterDir: string;
  /** Bearer token for the upstream, when it wants one. */
  apiKey?: string;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
  maxTokens?: number;
}

interface UpstreamChoice {
  message?: { content?: string };
  label_probabilities?: Record<string, number>;
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

async function call<T>(opts: UpstreamOptions, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  const res = await fetch(`${opts.baseUrl.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
    },
    body: JSON.stringify(body),
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`upstream ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
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

export function upstreamPredictor(opts: UpstreamOptions): PredictorFactory {
  return async (src, artifact, store) => {
    const name = adapterName(src.modelName, src.version);
    const sha = createHash('sha256').update(artifact).digest('hex');
    const dir = await materialise(opts, name, sha, artifact);
    await call(opts, '/v1/load_lora_adapter', { lora_name: name, lora_path: dir });
    const records = parseManifest(await store.get(src.manifestKey));
    const { task } = src;
    const index = new ExactCosineIndex(
      records.map((r) => (task === 'generation' ? `${r.text}\n${r.response ?? ''}` : r.text)),
    );
    return {
      kind: `upstream-${task}`,
      task,
      async predict(req) {
        const res = await call<{ choices?: UpstreamChoice[] }>(
          opts,
          '/v1/chat/completions',
          { model: name, messages: req.messages, max_tokens: opts.maxTokens ?? 64, temperature: 0 },
          req.signal,
        );
        const choice = res.choices?.[0];
        const output = choice?.message?.content;
        if (typeof output !== 'string') throw new Error(`upstream answered without a message for ${name}`);
        return {
          output,
          ...(choice?.label_probabilities ? { probabilities: choice.label_probabilities } : {}),
          attribution: retrievalAttribution(index, records, promptOf(req.messages), req.topK),
        };
      },
    };
  };
}
