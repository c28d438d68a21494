/**
 * The default, CPU-only trainer: a hashed-n-gram linear softmax classifier trained in-process.
 * Artifacts and checkpoints go through the ArtifactStore; progress is reported on every step (the
 * activity throttles heartbeats) and a retry resumes from the last reported checkpoint.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { jsonLine, readLines, splitLines } from '../../storage/jsonl.js';
import { asSealedLine } from '../../domain/data/sealed-lines.js';
import type {
  DpoJob,
  EvalMetrics,
  GeneratedCandidates,
  GenerationJob,
  ManifestRecord,
  Trainer,
  TrainerContext,
  TrainingJob,
  TrainingResult,
} from '../trainer.js';
import { fnv1a } from './features.js';
import { dpoEpochs, type DpoPair } from './dpo.js';
import { EvalAccumulator, LinearSoftmaxModel, throwIfAborted, trainEpochs, type Example } from './linear-softmax.js';
import { deserializeModel, serializeModel } from './serialize.js';
import {
  DEFAULT_SHARD_SIZE,
  ShardedBatches,
  downloadToFile,
  fetchManifest,
  parseManifestLine,
  readManifestFile,
  readShard,
  shardManifest,
  type Shard,
} from './manifest-stream.js';
import { AttributionIndexBuilder, uploadAttributionIndex, type AttributionIndexOptions } from './attribution-index.js';
import { attributionIndexPrefix } from '../../storage/keys.js';

export async function loadModel(store: ArtifactStore, key: string): Promise<LinearSoftmaxModel> {
  return deserializeModel(await store.get(key));
}

/** The records of a manifest held in memory (a Buffer is split without decoding it whole). */
export function parseManifest(body: Buffer | string): ManifestRecord[] {
  const out: ManifestRecord[] = [];
  for (const [i, line] of splitLines(body).entries()) {
    const r = parseManifestLine(line, `manifest line ${i + 1}`);
    if (r) out.push(r);
  }
  return out;
}

/** Deterministic eval membership: a record is held out iff its hash maps below evalFraction. */
export function isEvalRecord(hash: string, evalFraction: number): boolean {
  return fnv1a(hash) / 2 ** 32 < evalFraction;
}

export function splitManifest(
  records: ManifestRecord[],
  evalFraction: number,
): { train: ManifestRecord[]; eval: ManifestRecord[] } {
  const train: ManifestRecord[] = [];
  const evalSet: ManifestRecord[] = [];
  for (const r of records) (isEvalRecord(r.hash, evalFraction) ? evalSet : train).push(r);
  return { train, eval: evalSet };
}

export function checkpointKey(outputPrefix: string, step: number): string {
  return `${outputPrefix}/checkpoints/step-${step}.bin`;
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

function toExamples(model: LinearSoftmaxModel, records: ManifestRecord[]): Example[] {
  return records.map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
}

/**
 * A warm-start base with a different label set: copy rows for shared labels, zero the rest, so a
 * community model can start from a generic checkpoint.
 */
function alignLabels(base: LinearSoftmaxModel, labels: string[]): LinearSoftmaxModel {
  base.foldScale();
  if (base.labels.join('\u0000') === labels.join('\u0000')) return base;
  const m = new LinearSoftmaxModel([...labels], base.features);
  const dim = base.dim;
  labels.forEach((label, k) => {
    const from = base.labels.indexOf(label);
    if (from < 0) return;
    m.weights.set(base.weights.subarray(from * dim, (from + 1) * dim), k * dim);
    m.bias[k] = base.bias[from]!; // from is an index of base.labels, one bias each
  });
  return m;
}

/**
 * Writes the held-out records of a manifest (by isEvalRecord) to `evalKey`, streaming: the
 * manifest is read line by line from a local copy and the held-out file uploaded from disk. Lines
 * are chosen by their hash alone, so an encrypted Datanet's sealed lines are copied sealed, never
 * opened.
 */
export async function writeEvalManifest(
  store: ArtifactStore,
  manifestKey: string,
  evalFraction: number,
  evalKey: string,
): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'commons-split-'));
  try {
    const path = join(work, 'manifest.jsonl');
    await downloadToFile(store, manifestKey, path);
    const outPath = join(work, 'eval.jsonl');
    const out = createWriteStream(outPath);
    let n = 0;
    let i = 0;
    for await (const raw of readLines(createReadStream(path))) {
      i++;
      const held = heldOutLine(raw, `manifest line ${i}`, evalFraction);
      if (held === undefined) continue;
      n++;
      if (!out.write(held + '\n')) await new Promise<void>((res) => out.once('drain', () => res()));
    }
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
    await store.putFile(evalKey, outPath, { contentType: 'application/x-ndjson' });
    return n;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The line a held-out set keeps for a manifest line (undefined: a training record or a blank line). */
function heldOutLine(raw: string, where: string, evalFraction: number): string | undefined {
  if (!raw.trim()) return undefined;
  const sealed = asSealedLine(JSON.parse(raw));
  if (sealed) return isEvalRecord(sealed.hash, evalFraction) ? jsonLine(sealed) : undefined;
  const r = parseManifestLine(raw, where)!; // not blank
  return isEvalRecord(r.hash, evalFraction) ? jsonLine(r) : undefined;
}

/** Metrics of `model` on a JSONL manifest, streamed from a local copy (opened by the context) in chunks. */
export async function evaluateManifest(
  ctx: Pick<TrainerContext, 'store' | 'fetchManifest'>,
  model: LinearSoftmaxModel,
  key: string,
) {
  const work = await mkdtemp(join(tmpdir(), 'commons-eval-'));
  try {
    const path = join(work, 'eval.jsonl');
    await fetchManifest(ctx, key, path);
    const acc = new EvalAccumulator(model);
    let chunk: ManifestRecord[] = [];
    for await (const r of readManifestFile(path)) {
      chunk.push(r);
      if (chunk.length === 10_000) {
        acc.add(toExamples(model, chunk));
        chunk = [];
      }
    }
    acc.add(toExamples(model, chunk));
    return acc.result();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface EmbeddedTrainerOptions {
  /** Feature space size for models trained from scratch (default 2^18). */
  dim?: number;
  /** Training records per on-disk shard (memory holds at most two featurised shards). */
  shardSize?: number;
  /** Options of the attribution index built after training; false skips the index. */
  attributionIndex?: Partial<AttributionIndexOptions> | false;
  /** Local scratch directory for manifest shards and the index build (default: the OS temp dir). */
  workDir?: string;
}

/**
 * What the trained model's meta says about its attribution index (promotion copies it). The
 * checksums live in the index's header.json, not here: the HNSW graph is built on all cores and so
 * is not byte-identical between runs, while the model artifact must be (a resumed run reproduces it).
 */
export interface AttributionIndexRef {
  prefix: string;
  size: number;
}

/**
 * Builds the attribution index of `model` over the training shards (manifest order), heartbeating
 * progress as phase 'index', and uploads it under `prefix`. Exposed for benchmarks and tools.
 */
export async function buildAttributionIndex(a: {
  store: ArtifactStore;
  model: LinearSoftmaxModel;
  shards: Shard[];
  prefix: string;
  workDir: string;
  options?: Partial<AttributionIndexOptions>;
  progress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}): Promise<AttributionIndexRef> {
  const builder = new AttributionIndexBuilder(a.model, a.options, a.workDir);
  const total = a.shards.reduce((s, x) => s + x.count, 0);
  // Projection counts as the first half of the work, the graph as the second.
  const report = a.progress ?? (() => {});
  for (const shard of a.shards) {
    throwIfAborted(a.signal);
    for (const r of await readShard(shard)) builder.add(r);
    report(builder.size, 2 * total);
  }
  const dir = join(a.workDir, 'attribution');
  const header = await builder.write(dir, (p) => {
    throwIfAborted(a.signal); // between graph batches: a cancelled job stops building
    if (p.phase === 'graph') report(total + p.done, 2 * total);
  });
  throwIfAborted(a.signal);
  await uploadAttributionIndex(a.store, dir, a.prefix);
  await rm(dir, { recursive: true, force: true });
  return { prefix: a.prefix, size: header.size };
}

export class EmbeddedTrainer implements Trainer {
  readonly kind = 'embedded';

  constructor(private readonly opts: EmbeddedTrainerOptions = {}) {}

  async train(job: TrainingJob, ctx: TrainerContext): Promise<TrainingResult> {
    const work = await mkdtemp(join(this.opts.workDir ?? tmpdir(), 'commons-train-'));
    try {
      return await this.trainIn(work, job, ctx);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * Streams the manifest: downloaded to `work`, split once into shards, then trained shard by
   * shard, so memory stays bounded by the shard size whatever the dataset's size.
   */
  private async trainIn(work: string, job: TrainingJob, ctx: TrainerContext): Promise<TrainingResult> {
    const { store, signal } = ctx;
    const hp = job.hyperparams;
    throwIfAborted(signal);
    const manifestPath = join(work, 'manifest.jsonl');
    const { sealed } = await fetchManifest(ctx, job.datasetManifestKey, manifestPath);
    const sharded = await shardManifest(
      manifestPath,
      join(work, 'shards'),
      (hash) => isEvalRecord(hash, job.evalFraction),
      this.opts.shardSize ?? DEFAULT_SHARD_SIZE,
    );
    await rm(manifestPath, { force: true });
    const unknown = [...sharded.labels].filter((l) => !job.labels.includes(l));
    if (unknown.length)
      throw new Error(
        `manifest ${job.datasetManifestKey} has labels outside the model's label set: ${unknown.join(', ')}`,
      );

    let model: LinearSoftmaxModel;
    let startStep = 0;
    if (ctx.resumeFrom) {
      model = await loadModel(store, ctx.resumeFrom.checkpointKey);
      const meta = model.meta;
      if (
        meta.jobId !== job.jobId ||
        meta.step !== ctx.resumeFrom.step ||
        meta.seed !== hp.seed ||
        meta.batchSize !== hp.batchSize
      ) {
        throw new Error(
          `checkpoint ${ctx.resumeFrom.checkpointKey} does not belong to job ${job.jobId} at step ${ctx.resumeFrom.step}`,
        );
      }
      startStep = ctx.resumeFrom.step;
    } else if (job.baseArtifactKey) {
      model = alignLabels(await loadModel(store, job.baseArtifactKey), job.labels);
    } else {
      model = LinearSoftmaxModel.create(job.labels, this.opts.dim ?? {});
    }
    if (model.labels.join('\u0000') !== job.labels.join('\u0000'))
      throw new Error('checkpoint labels differ from the job labels');
    throwIfAborted(signal);

    const checkpointEvery = Math.max(0, Math.floor(hp.checkpointEvery));
    const summary = await trainEpochs(model, new ShardedBatches(sharded.train, model, hp.seed), {
      epochs: hp.epochs,
      learningRate: hp.learningRate,
      l2: hp.l2,
      batchSize: hp.batchSize,
      seed: hp.seed,
      startStep,
      signal,
      onStep: async (step, totalSteps, epoch, loss) => {
        let key: string | undefined;
        if (checkpointEvery > 0 && step % checkpointEvery === 0 && step < totalSteps) {
          key = checkpointKey(job.outputPrefix, step);
          // The lazy scale is stored unfolded so a resumed run continues from the exact state.
          const meta = { jobId: job.jobId, step, seed: hp.seed, batchSize: hp.batchSize, checkpoint: true };
          await store.put(key, serializeModel(model, meta), { contentType: 'application/octet-stream' });
        }
        ctx.progress({ phase: 'train', step, totalSteps, epoch, loss, ...(key ? { checkpointKey: key } : {}) });
      },
    });

    const acc = new EvalAccumulator(model);
    for (const shard of sharded.eval) acc.add(toExamples(model, await readShard(shard)));
    const metrics = acc.result();
    ctx.progress({
      phase: 'eval',
      step: summary.steps,
      totalSteps: summary.totalSteps,
      epoch: hp.epochs,
      loss: metrics.loss,
    });

    let attributionIndex: AttributionIndexRef | undefined;
    if (this.opts.attributionIndex !== false) {
      attributionIndex = await buildAttributionIndex({
        store,
        model,
        shards: sharded.train,
        prefix: attributionIndexPrefix(`${job.outputPrefix}/model.bin`),
        workDir: work,
        options: this.opts.attributionIndex ?? {},
        signal,
        progress: (done, total) =>
          ctx.progress({ phase: 'index', step: done, totalSteps: total, epoch: hp.epochs, loss: metrics.loss }),
      });
    }
    model.meta = {
      jobId: job.jobId,
      modelName: job.modelName,
      kind: 'trained',
      datasetManifestKey: job.datasetManifestKey,
      baseArtifactKey: job.baseArtifactKey ?? null,
      hyperparams: hp,
      steps: summary.steps,
      trainExamples: sharded.trainCount,
      metrics,
      ...(attributionIndex ? { attributionIndex } : {}),
      // The API cannot open the manifest of private records: serving attributes from the index.
      ...(sealed ? { sealedRecords: true } : {}),
    };
    return this.writeArtifact(store, job.outputPrefix, model, metrics, summary.steps, startStep);
  }

  async generate(job: GenerationJob, ctx: TrainerContext): Promise<GeneratedCandidates[]> {
    const model = await loadModel(ctx.store, job.artifactKey);
    const n = Math.max(1, Math.min(model.labels.length, Math.floor(job.candidatesPerPrompt)));
    return job.prompts.map((prompt) => {
      throwIfAborted(ctx.signal);
      const p = model.predictProba(model.featurize(prompt.text));
      const ranked = model.labels
        .map((label, k) => ({ output: label, score: p[k]!, k })) // p has one entry per label
        .sort((a, b) => b.score - a.score || a.k - b.k);
      return { promptId: prompt.id, outputs: ranked.slice(0, n).map(({ output, score }) => ({ output, score })) };
    });
  }

  async dpo(job: DpoJob, ctx: TrainerContext): Promise<TrainingResult> {
    const { store, signal } = ctx;
    const hp = job.hyperparams;
    const [policy, reference] = await Promise.all([
      loadModel(store, job.policyArtifactKey),
      loadModel(store, job.referenceArtifactKey),
    ]);
    const pairs: DpoPair[] = job.preferences
      .filter((p) => p.chosen !== p.rejected && p.weight > 0)
      .map((p) => ({
        x: policy.featurize(p.prompt),
        chosen: policy.labelIndex(p.chosen),
        rejected: policy.labelIndex(p.rejected),
        weight: p.weight,
      }));
    const epochLosses = await dpoEpochs(policy, reference, pairs, {
      epochs: hp.epochs,
      learningRate: hp.learningRate,
      beta: job.beta,
      batchSize: hp.batchSize,
      seed: hp.seed,
      l2: hp.l2,
      signal,
      onStep: (step, totalSteps, epoch, loss) => ctx.progress({ phase: 'dpo', step, totalSteps, epoch, loss }),
    });
    const steps = Math.ceil(pairs.length / Math.max(1, Math.floor(hp.batchSize))) * hp.epochs;
    const metrics = await evaluateManifest(ctx, policy, job.evalManifestKey);
    ctx.progress({ phase: 'eval', step: steps, totalSteps: steps, epoch: hp.epochs, loss: metrics.loss });
    policy.meta = {
      jobId: job.jobId,
      modelName: job.modelName,
      kind: 'dpo',
      policyArtifactKey: job.policyArtifactKey,
      referenceArtifactKey: job.referenceArtifactKey,
      beta: job.beta,
      pairs: pairs.length,
      hyperparams: hp,
      epochLosses,
      metrics,
      // The index's record gradients are the fine-tuned checkpoint's (TracIn at that checkpoint);
      // the preference update does not train on records, so the served version keeps that index.
      ...(policy.meta.attributionIndex ? { attributionIndex: policy.meta.attributionIndex } : {}),
      ...(policy.meta.sealedRecords ? { sealedRecords: true } : {}),
    };
    return this.writeArtifact(store, job.outputPrefix, policy, metrics, steps, 0);
  }

  private async writeArtifact(
    store: ArtifactStore,
    outputPrefix: string,
    model: LinearSoftmaxModel,
    metrics: EvalMetrics,
    steps: number,
    resumedFromStep: number,
  ): Promise<TrainingResult> {
    const buf = serializeModel(model);
    const artifactKey = `${outputPrefix}/model.bin`;
    const sha = sha256(buf);
    await store.put(artifactKey, buf, { contentType: 'application/octet-stream', metadata: { sha256: sha } });
    return { artifactKey, sha256: sha, metrics, steps, resumedFromStep };
  }
}
