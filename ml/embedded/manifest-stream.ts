/**
 * Streaming a dataset manifest with bounded memory. The manifest is downloaded to a local file,
 * read line by line, and split once into shard files of at most `shardSize` training records (in
 * manifest order) plus held-out shards. Training then visits, per epoch, the shards in a seeded
 * order and each shard's records in a seeded order, holding at most two featurised shards at once.
 * With a single shard the order is exactly epochPermutation(n, seed, epoch), as in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { epochPermutation } from '../../domain/prng.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { jsonLine, readLines, splitLines } from '../../storage/jsonl.js';
import { asSealedLine } from '../../domain/data/sealed-lines.js';
import type { ManifestRecord, TrainerContext } from '../trainer.js';
import type { BatchSource, Example, LinearSoftmaxModel } from './linear-softmax.js';

/** Training records per shard by default: ~50k featurised records are tens of MiB. */
export const DEFAULT_SHARD_SIZE = 50_000;

export async function downloadToFile(store: ArtifactStore, key: string, path: string): Promise<void> {
  if (store.getFile) await store.getFile(key, path);
  else await writeFile(path, await store.get(key));
}

/** A manifest as a local file of clear records: through the context's opener when it has one. */
export async function fetchManifest(
  ctx: Pick<TrainerContext, 'store' | 'fetchManifest'>,
  key: string,
  path: string,
): Promise<{ sealed: boolean }> {
  if (ctx.fetchManifest) return ctx.fetchManifest(key, path);
  await downloadToFile(ctx.store, key, path);
  return { sealed: false };
}

/** A manifest's records in memory, read through fetchManifest (small manifests: RAG, held-out sets). */
export async function fetchManifestRecords(
  ctx: Pick<TrainerContext, 'store' | 'fetchManifest'>,
  key: string,
  workDir: string,
): Promise<{ records: ManifestRecord[]; sealed: boolean }> {
  const path = join(workDir, `manifest-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.jsonl`);
  const { sealed } = await fetchManifest(ctx, key, path);
  try {
    const records: ManifestRecord[] = [];
    for await (const r of readManifestFile(path)) records.push(r);
    return { records, sealed };
  } finally {
    await rm(path, { force: true });
  }
}

/**
 * Parses one manifest line; `where` names it in errors. Lines are storage/jsonl.ts's: a record's
 * text never holds a raw line break, and a reader splits on "\n" only.
 */
export function parseManifestLine(raw: string, where: string): ManifestRecord | undefined {
  const line = raw.trim();
  if (!line) return undefined;
  let r: Partial<ManifestRecord>;
  try {
    r = JSON.parse(line) as Partial<ManifestRecord>;
  } catch {
    throw new Error(`${where} is not valid JSON`);
  }
  if (asSealedLine(r))
    throw new Error(`${where} is sealed (a record of an encrypted Datanet): only the worker's opener reads it`);
  if (
    typeof r.hash !== 'string' ||
    typeof r.text !== 'string' ||
    typeof r.label !== 'string' ||
    typeof r.contributor !== 'string'
  )
    throw new Error(`${where} lacks hash/contributor/text/label`);
  if (r.response !== undefined && typeof r.response !== 'string')
    throw new Error(`${where}: response must be a string`);
  return {
    hash: r.hash,
    contributor: r.contributor,
    text: r.text,
    label: r.label,
    ...(r.response !== undefined ? { response: r.response } : {}),
  };
}

/** Records of a local JSONL file, one at a time. */
export async function* readManifestFile(path: string): AsyncGenerator<ManifestRecord> {
  let i = 0;
  for await (const raw of readLines(createReadStream(path))) {
    i++;
    const r = parseManifestLine(raw, `manifest line ${i}`);
    if (r) yield r;
  }
}

export interface Shard {
  path: string;
  count: number;
}

export interface ShardedManifest {
  train: Shard[];
  eval: Shard[];
  trainCount: number;
  evalCount: number;
  labels: Set<string>;
}

class ShardWriter {
  readonly shards: Shard[] = [];
  private out: WriteStream | undefined;
  private count = 0;

  constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly shardSize: number,
  ) {}

  async write(r: ManifestRecord): Promise<void> {
    if (!this.out || this.count === this.shardSize) {
      await this.close();
      const path = join(this.dir, `${this.name}-${String(this.shards.length).padStart(5, '0')}.jsonl`);
      this.out = createWriteStream(path);
      this.shards.push({ path, count: 0 });
      this.count = 0;
    }
    this.count++;
    this.shards[this.shards.length - 1]!.count++; // a shard was pushed above
    if (!this.out.write(jsonLine(r) + '\n')) await new Promise<void>((res) => this.out!.once('drain', () => res()));
  }

  async close(): Promise<void> {
    const out = this.out;
    this.out = undefined;
    if (out) await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  }
}

/** Splits a local manifest file into train and held-out shards in `dir` (one pass, O(shard) memory). */
export async function shardManifest(
  manifestPath: string,
  dir: string,
  isEval: (hash: string) => boolean,
  shardSize = DEFAULT_SHARD_SIZE,
): Promise<ShardedManifest> {
  await mkdir(dir, { recursive: true });
  const train = new ShardWriter(dir, 'train', shardSize);
  const held = new ShardWriter(dir, 'eval', shardSize);
  const labels = new Set<string>();
  let trainCount = 0;
  let evalCount = 0;
  for await (const r of readManifestFile(manifestPath)) {
    labels.add(r.label);
    if (isEval(r.hash)) {
      evalCount++;
      await held.write(r);
    } else {
      trainCount++;
      await train.write(r);
    }
  }
  await train.close();
  await held.close();
  return { train: train.shards, eval: held.shards, trainCount, evalCount, labels };
}

export async function readShard(shard: Shard): Promise<ManifestRecord[]> {
  const body = await readFile(shard.path);
  const out: ManifestRecord[] = [];
  for (const [i, line] of splitLines(body).entries()) {
    const r = parseManifestLine(line, `${shard.path} line ${i + 1}`);
    if (r) out.push(r);
  }
  return out;
}

/** Shard s's seed: shard 0 keeps the run's seed, so one shard reproduces the in-memory order. */
function shardSeed(seed: number, s: number): number {
  return (seed ^ Math.imul(s, 0x27d4eb2d)) >>> 0;
}

/**
 * Batches streamed from shards. Epoch e's order: shards in epochPermutation(S, seed', e) order,
 * each shard's records in epochPermutation(count, shardSeed(seed, s), e) order. Any position of
 * any epoch can be answered directly, so a resumed run continues at its step.
 */
export class ShardedBatches implements BatchSource {
  readonly size: number;
  private order: { epoch: number; shards: number[]; starts: number[] } | undefined;
  private readonly loaded = new Map<string, Example[]>();
  /**
   * The last shard read, featurised, in file order: a training set of one shard (every set up to
   * DEFAULT_SHARD_SIZE records) is read and featurised once, not once per epoch. Examples are never
   * written to, so epochs share them; each epoch still draws its own permutation.
   */
  private featurised: { shard: number; examples: Example[] } | undefined;

  constructor(
    private readonly shards: Shard[],
    private readonly model: LinearSoftmaxModel,
    private readonly seed: number,
  ) {
    this.size = shards.reduce((s, x) => s + x.count, 0);
  }

  private orderOf(epoch: number) {
    if (this.order?.epoch === epoch) return this.order;
    const S = this.shards.length;
    const perm = S > 1 ? epochPermutation(S, (this.seed ^ 0x5bd1e995) >>> 0, epoch) : Uint32Array.of(0);
    const shards = [...perm];
    const starts: number[] = [];
    let at = 0;
    for (const s of shards) {
      starts.push(at);
      at += this.shards[s]!.count; // s < S
    }
    this.order = { epoch, shards, starts };
    return this.order;
  }

  /** Featurised, shuffled records of shard s for `epoch`; keeps only the two most recent shards. */
  private async shardExamples(s: number, epoch: number): Promise<Example[]> {
    const key = `${epoch}:${s}`;
    const hit = this.loaded.get(key);
    if (hit) return hit;
    let base = this.featurised?.shard === s ? this.featurised.examples : undefined;
    if (!base) {
      const records = await readShard(this.shards[s]!); // s < S
      base = records.map((r) => ({ x: this.model.featurize(r.text), y: this.model.labelIndex(r.label) }));
      this.featurised = { shard: s, examples: base };
    }
    const perm = epochPermutation(base.length, shardSeed(this.seed, s), epoch);
    const examples: Example[] = [];
    // perm is a permutation of [0, base.length).
    for (const i of perm) examples.push(base[i]!);
    this.loaded.set(key, examples);
    while (this.loaded.size > 2) this.loaded.delete(this.loaded.keys().next().value!);
    return examples;
  }

  async batch(epoch: number, from: number, to: number): Promise<Example[]> {
    const { shards, starts } = this.orderOf(epoch);
    const out: Example[] = [];
    let pos = from;
    // Find the shard holding `from` (starts is ascending), then walk forward.
    let j = 0;
    while (j + 1 < starts.length && starts[j + 1]! <= pos) j++;
    while (pos < to && j < shards.length) {
      const s = shards[j]!;
      const ex = await this.shardExamples(s, epoch);
      const start = starts[j]!;
      const end = Math.min(to, start + ex.length);
      for (; pos < end; pos++) out.push(ex[pos - start]!);
      j++;
    }
    return out;
  }
}
