import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, relative, isAbsolute } from 'node:path';
import { createInterface } from 'node:readline';
import type { DpoJob, GeneratedCandidates, GenerationJob, Trainer, TrainerContext, TrainingJob, TrainingResult } from '../trainer.js';
import { parseEvent, type ExternalEvent, type ExternalJobSpec } from './protocol.js';

export interface ExternalTrainerOptions {
  command: string;
  args?: string[];
  /** Parent of the per-job work directories. */
  workRoot?: string;
  /** Grace period between SIGTERM and SIGKILL on cancellation. */
  killGraceMs?: number;
}

type ResultEvent = Extract<ExternalEvent, { type: 'result' }>;

/**
 * Runs training as an external process (a PyTorch LoRA script on a GPU node, say): downloads the
 * inputs from S3, passes a JSON job spec, forwards the process's JSON-lines progress as heartbeats,
 * uploads its checkpoints and artifact, and kills it when the activity is cancelled.
 */
export class ExternalCommandTrainer implements Trainer {
  readonly kind = 'external';
  constructor(private readonly opts: ExternalTrainerOptions) {}

  async train(job: TrainingJob, ctx: TrainerContext): Promise<TrainingResult> {
    return this.inWorkDir(async (dir) => {
      const inputs: ExternalJobSpec['inputs'] = { dataset: await this.download(ctx, job.datasetManifestKey, join(dir, 'dataset.jsonl')) };
      if (job.baseArtifactKey) inputs.base = await this.download(ctx, job.baseArtifactKey, join(dir, 'base.bin'));
      const resume = ctx.resumeFrom ? { step: ctx.resumeFrom.step, checkpointPath: await this.download(ctx, ctx.resumeFrom.checkpointKey, join(dir, 'resume.bin')) } : null;
      const result = await this.run(dir, { task: 'sft', inputs, labels: job.labels, hyperparams: { ...job.hyperparams, evalFraction: job.evalFraction }, resume, outputDir: join(dir, 'out') }, ctx, job.outputPrefix, 'train');
      return this.uploadArtifact(ctx, dir, job.outputPrefix, result, resume?.step ?? 0);
    });
  }

  async generate(job: GenerationJob, ctx: TrainerContext): Promise<GeneratedCandidates[]> {
    return this.inWorkDir(async (dir) => {
      const model = await this.download(ctx, job.artifactKey, join(dir, 'model.bin'));
      const result = await this.run(dir, { task: 'generate', inputs: { model }, hyperparams: {}, prompts: job.prompts, candidatesPerPrompt: job.candidatesPerPrompt, resume: null, outputDir: join(dir, 'out') }, ctx, '', 'eval');
      if (!result.outputs) throw new Error('the trainer finished a generate job without outputs');
      return result.outputs;
    });
  }

  async dpo(job: DpoJob, ctx: TrainerContext): Promise<TrainingResult> {
    return this.inWorkDir(async (dir) => {
      const inputs = {
        policy: await this.download(ctx, job.policyArtifactKey, join(dir, 'policy.bin')),
        reference: await this.download(ctx, job.referenceArtifactKey, join(dir, 'reference.bin')),
        eval: await this.download(ctx, job.evalManifestKey, join(dir, 'eval.jsonl')),
      };
      const result = await this.run(dir, { task: 'dpo', inputs, hyperparams: { ...job.hyperparams }, preferences: job.preferences, beta: job.beta, resume: null, outputDir: join(dir, 'out') }, ctx, job.outputPrefix, 'dpo');
      return this.uploadArtifact(ctx, dir, job.outputPrefix, result, 0);
    });
  }

  private async inWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.opts.workRoot ?? tmpdir(), 'commons-trainer-'));
    try {
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async download(ctx: TrainerContext, key: string, path: string): Promise<string> {
    await writeFile(path, await ctx.store.get(key));
    return path;
  }

  /** Files the process names must stay inside its output directory. */
  private inside(outputDir: string, file: string): string {
    const p = resolve(outputDir, file);
    const rel = relative(outputDir, p);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`trainer named a file outside its output directory: ${file}`);
    return p;
  }

  private async run(dir: string, spec: ExternalJobSpec, ctx: TrainerContext, outputPrefix: string, phase: 'train' | 'dpo' | 'eval'): Promise<ResultEvent & { steps: number }> {
    await mkdir(spec.outputDir, { recursive: true });
    const jobPath = join(dir, 'job.json');
    await writeFile(jobPath, JSON.stringify(spec, null, 2));
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('cancelled');

    // Its own process group, so cancellation also stops whatever the script spawned.
    const child = spawn(this.opts.command, [...(this.opts.args ?? []), jobPath], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const keep = (l: string) => {
      tail.push(l);
      if (tail.length > 50) tail.shift();
    };
    let result: ResultEvent | undefined;
    let pending: Promise<void> = Promise.resolve();
    let failure: unknown;
    let lastProgress = { step: 0, totalSteps: 0, epoch: 0, loss: NaN };

    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), this.opts.killGraceMs ?? 5000).unref();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = parseEvent(line);
      if (!e) return keep(line);
      if (e.type === 'progress') {
        lastProgress = { step: e.step, totalSteps: e.totalSteps, epoch: e.epoch ?? 0, loss: e.loss };
        ctx.progress({ phase, ...lastProgress });
      } else if (e.type === 'checkpoint') {
        // Uploads run in order, so the checkpoint a heartbeat names is always already in S3.
        pending = pending.then(async () => {
          const key = `${outputPrefix}/checkpoints/step-${e.step}.bin`;
          await ctx.store.put(key, await readFile(this.inside(spec.outputDir, e.path)), { contentType: 'application/octet-stream' });
          ctx.progress({ phase, ...lastProgress, step: e.step, checkpointKey: key });
        }).catch((err) => {
          failure ??= err;
        });
      } else if (e.type === 'log') keep(e.message);
      else if (e.type === 'result') result = e;
    });
    createInterface({ input: child.stderr! }).on('line', keep);

    const code = await new Promise<number | null>((res, rej) => {
      child.on('error', rej);
      child.on('close', (c) => res(c));
    }).finally(() => ctx.signal.removeEventListener('abort', onAbort));
    await pending;
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('training cancelled');
    if (failure) throw failure;
    if (code !== 0) throw new Error(`trainer exited with code ${code}:\n${tail.join('\n')}`);
    if (!result) throw new Error(`trainer exited without a result line:\n${tail.join('\n')}`);
    return { ...result, steps: lastProgress.step };
  }

  private async uploadArtifact(ctx: TrainerContext, dir: string, outputPrefix: string, r: ResultEvent & { steps: number }, resumedFromStep: number): Promise<TrainingResult> {
    if (!r.artifact || !r.metrics) throw new Error('the trainer result has no artifact or metrics');
    const bytes = await readFile(this.inside(join(dir, 'out'), r.artifact));
    const artifactKey = `${outputPrefix}/model.bin`;
    await ctx.store.put(artifactKey, bytes, { contentType: 'application/octet-stream' });
    return { artifactKey, sha256: createHash('sha256').update(bytes).digest('hex'), metrics: r.metrics, steps: r.steps, resumedFromStep };
  }
}
