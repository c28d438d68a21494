import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type {
  DpoJob,
  GeneratedCandidates,
  GenerationJob,
  Trainer,
  TrainerContext,
  TrainingJob,
  TrainingProgress,
  TrainingResult,
} from '../trainer.js';
import { checkpointKey, parseManifest, splitManifest } from '../embedded/embedded-trainer.js';
import { jsonLines, readLines } from '../../storage/jsonl.js';
import { parseEvent, type ExternalEvent, type ExternalJobSpec } from './protocol.js';
import { buildSpanIndex, promoteSpanIndex, uploadSpanIndex } from '../spans/span-store.js';

export interface ExternalTrainerOptions {
  command: string;
  args?: string[];
  /** Parent of the per-job work directories (default: the OS temp directory). */
  workRoot?: string;
  /** Grace period between SIGTERM and SIGKILL on cancellation (default 10 s). */
  killGraceMs?: number;
  /** Extra environment for the process, over the worker's own (e.g. CUDA_VISIBLE_DEVICES). */
  env?: NodeJS.ProcessEnv;
  /** Receives every log line of the process (non-protocol stdout, log events, stderr). */
  onLog?: (line: string) => void;
}

type ResultEvent = Extract<ExternalEvent, { type: 'result' }>;
type Phase = TrainingProgress['phase'];

/** Lines of output kept for the error message of a failed run. */
const TAIL_LINES = 50;

interface RunOutcome {
  result: ResultEvent;
  /** Last step the process reported (or the resume step when it reported none). */
  steps: number;
}

/**
 * Runs training as an external process (a PyTorch LoRA script on a GPU node, say): downloads the
 * inputs from S3 into a work directory, passes a JSON job spec, forwards the process's JSON-lines
 * progress as heartbeats, uploads its checkpoints and artifact, and kills its process group when
 * the activity is cancelled. The protocol is in ./protocol.ts.
 */
export class ExternalCommandTrainer implements Trainer {
  readonly kind = 'external';
  constructor(private readonly opts: ExternalTrainerOptions) {}

  async train(job: TrainingJob, ctx: TrainerContext): Promise<TrainingResult> {
    return this.inWorkDir('sft', async (dir) => {
      const manifest = await ctx.store.get(job.datasetManifestKey);
      // The split is the embedded trainer's, done here once, so no script has to reimplement the hash rule.
      const split = splitManifest(parseManifest(manifest), job.evalFraction);
      const inputs: ExternalJobSpec['inputs'] = {
        dataset: await save(join(dir, 'dataset.jsonl'), manifest),
        train: await save(join(dir, 'train.jsonl'), jsonLines(split.train)),
        eval: await save(join(dir, 'eval.jsonl'), jsonLines(split.eval)),
      };
      if (job.baseArtifactKey) inputs.base = await this.download(ctx, job.baseArtifactKey, join(dir, 'base.bin'));
      const resume = await this.resumeInput(ctx, dir);
      const spec: ExternalJobSpec = {
        task: 'sft',
        taskType: job.task,
        jobId: job.jobId,
        inputs,
        labels: job.labels,
        hyperparams: { ...job.hyperparams },
        evalFraction: job.evalFraction,
        resume,
        outputDir: join(dir, 'out'),
      };
      const outcome = await this.run(dir, spec, ctx, job.outputPrefix, 'train');
      const result = await this.uploadArtifact(ctx, spec.outputDir, job.outputPrefix, outcome, resume?.step ?? 0);
      // A generation model's answers are attributed by the spans they share with its training
      // text (ml/spans): the index is built here, beside the artifact, and promoted with it.
      if (job.task === 'generation') await uploadSpanIndex(ctx.store, result.artifactKey, buildSpanIndex(split.train));
      return result;
    });
  }

  async generate(job: GenerationJob, ctx: TrainerContext): Promise<GeneratedCandidates[]> {
    return this.inWorkDir('generate', async (dir) => {
      const model = await this.download(ctx, job.artifactKey, join(dir, 'model.bin'));
      const spec: ExternalJobSpec = {
        task: 'generate',
        inputs: { model },
        hyperparams: {},
        prompts: job.prompts,
        candidatesPerPrompt: job.candidatesPerPrompt,
        resume: null,
        outputDir: join(dir, 'out'),
      };
      const { result } = await this.run(dir, spec, ctx, undefined, 'eval');
      if (!Array.isArray(result.outputs)) throw new Error(`the trainer finished a generate job without outputs`);
      return result.outputs;
    });
  }

  async dpo(job: DpoJob, ctx: TrainerContext): Promise<TrainingResult> {
    return this.inWorkDir('dpo', async (dir) => {
      const evalManifest = await ctx.store.get(job.evalManifestKey);
      const held = parseManifest(evalManifest);
      const inputs: ExternalJobSpec['inputs'] = {
        policy: await this.download(ctx, job.policyArtifactKey, join(dir, 'policy.bin')),
        reference: await this.download(ctx, job.referenceArtifactKey, join(dir, 'reference.bin')),
        eval: await save(join(dir, 'eval.jsonl'), evalManifest),
      };
      const resume = await this.resumeInput(ctx, dir);
      const spec: ExternalJobSpec = {
        task: 'dpo',
        jobId: job.jobId,
        inputs,
        labels: [...new Set(held.map((r) => r.label))].sort(),
        hyperparams: { ...job.hyperparams },
        preferences: job.preferences.map((p) => ({
          prompt: p.prompt,
          chosen: p.chosen,
          rejected: p.rejected,
          weight: p.weight,
        })),
        beta: job.beta,
        resume,
        outputDir: join(dir, 'out'),
      };
      const outcome = await this.run(dir, spec, ctx, job.outputPrefix, 'dpo');
      const result = await this.uploadArtifact(ctx, spec.outputDir, job.outputPrefix, outcome, resume?.step ?? 0);
      // The preference update keeps the policy's training records: its span index goes with it.
      await promoteSpanIndex(ctx.store, job.policyArtifactKey, result.artifactKey);
      return result;
    });
  }

  private async inWorkDir<T>(task: string, fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.opts.workRoot ?? tmpdir(), `commons-${task}-`));
    try {
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async download(ctx: TrainerContext, key: string, path: string): Promise<string> {
    return save(path, await ctx.store.get(key));
  }

  private async resumeInput(ctx: TrainerContext, dir: string): Promise<ExternalJobSpec['resume']> {
    if (!ctx.resumeFrom) return null;
    const checkpointPath = await this.download(
      ctx,
      ctx.resumeFrom.checkpointKey,
      join(dir, `resume-step-${ctx.resumeFrom.step}.bin`),
    );
    return { step: ctx.resumeFrom.step, checkpointPath };
  }

  private async run(
    dir: string,
    spec: ExternalJobSpec,
    ctx: TrainerContext,
    outputPrefix: string | undefined,
    phase: Phase,
  ): Promise<RunOutcome> {
    await mkdir(spec.outputDir, { recursive: true });
    const jobPath = join(dir, 'job.json');
    await writeFile(jobPath, JSON.stringify(spec, null, 2));
    throwIfAborted(ctx.signal);

    // Its own process group (detached), so cancellation also stops whatever the script spawned
    // (data-loader workers, torchrun ranks); no shell, so arguments are never interpreted.
    const child = spawn(this.opts.command, [...(this.opts.args ?? []), jobPath], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Handed on, not read: the script inherits the worker's environment (CUDA_VISIBLE_DEVICES, caches).
      // eslint-disable-next-line no-restricted-syntax
      env: { ...process.env, ...this.opts.env },
    });
    const pid = child.pid;
    const tail: string[] = [];
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      this.opts.onLog?.(line);
    };

    let result: ResultEvent | undefined;
    let failure: Error | undefined;
    let uploads: Promise<void> = Promise.resolve();
    let last = { step: spec.resume?.step ?? 0, totalSteps: 0, epoch: 0, loss: NaN };
    let killTimer: NodeJS.Timeout | undefined;
    let terminating = false;

    const signalGroup = (sig: NodeJS.Signals | 0): boolean => {
      if (pid === undefined) return false;
      try {
        process.kill(-pid, sig);
        return true;
      } catch {
        return false; // ESRCH: the whole group is gone
      }
    };
    const terminate = () => {
      if (terminating) return;
      terminating = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), this.opts.killGraceMs ?? 10_000);
    };
    ctx.signal.addEventListener('abort', terminate, { once: true });

    const onLine = (line: string) => {
      const e = parseEvent(line);
      if (!e) return keep(line);
      switch (e.type) {
        case 'progress':
          last = { step: e.step, totalSteps: e.totalSteps, epoch: e.epoch ?? last.epoch, loss: e.loss };
          ctx.progress({ phase, ...last });
          break;
        case 'checkpoint': {
          if (!outputPrefix) return keep(`ignored checkpoint of a ${spec.task} job: ${line}`);
          // Uploads run in order, so a heartbeat naming a checkpoint always follows its upload.
          const key = checkpointKey(outputPrefix, e.step);
          uploads = uploads
            .then(async () => {
              if (failure) return;
              await ctx.store.put(key, await readFile(inside(spec.outputDir, e.path)), {
                contentType: 'application/octet-stream',
              });
              ctx.progress({ phase, ...last, step: e.step, checkpointKey: key });
            })
            .catch((err: unknown) => {
              // A checkpoint that cannot be saved makes the run unresumable: stop rather than burn GPU time.
              failure ??= new Error(`uploading checkpoint of step ${e.step} failed: ${(err as Error).message}`, {
                cause: err,
              });
              terminate();
            });
          break;
        }
        case 'log':
          keep(e.message);
          break;
        case 'result':
          result = e;
          break;
      }
    };
    // Split on "\n" only (storage/jsonl.ts): readline would also end a line at U+2028 inside an
    // event's text (a generated output, a log message) and lose the event.
    const events = (async () => {
      for await (const line of readLines(child.stdout)) onLine(line);
    })();
    createInterface({ input: child.stderr }).on('line', keep);

    let code: number | null;
    let signal: NodeJS.Signals | null;
    try {
      [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
        child.once('error', rej);
        child.once('close', (c, s) => res([c, s]));
      });
    } finally {
      ctx.signal.removeEventListener('abort', terminate);
    }
    await events;
    await uploads;
    if (terminating) {
      // The leader is gone; wait for the rest of its group (SIGKILL comes at the grace deadline).
      await waitUntil(async () => !(await groupHasLiveMembers(pid)), (this.opts.killGraceMs ?? 10_000) + 2_000);
    } else {
      // Stragglers of a finished job would keep holding GPU memory.
      signalGroup('SIGKILL');
    }
    clearTimeout(killTimer);

    if (ctx.signal.aborted) throw abortError(ctx.signal);
    if (failure) throw failure;
    const output = tail.length ? `:\n${tail.join('\n')}` : ' (no output)';
    if (code !== 0)
      throw new Error(
        `trainer ${this.opts.command} exited with ${code === null ? `signal ${signal}` : `code ${code}`}${output}`,
      );
    if (!result) throw new Error(`trainer ${this.opts.command} exited without a result line${output}`);
    return { result, steps: Math.max(last.step, spec.resume?.step ?? 0) };
  }

  private async uploadArtifact(
    ctx: TrainerContext,
    outputDir: string,
    outputPrefix: string,
    outcome: RunOutcome,
    resumedFromStep: number,
  ): Promise<TrainingResult> {
    const { result } = outcome;
    if (typeof result.artifact !== 'string' || !result.metrics)
      throw new Error('the trainer result has no artifact or metrics');
    const bytes = await readFile(inside(outputDir, result.artifact));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const artifactKey = `${outputPrefix}/model${artifactExtension(result.artifact)}`;
    await ctx.store.put(artifactKey, bytes, { contentType: 'application/octet-stream', metadata: { sha256 } });
    const { accuracy, macroF1, loss, examples } = result.metrics;
    return {
      artifactKey,
      sha256,
      metrics: { accuracy, macroF1, loss, examples },
      steps: outcome.steps,
      resumedFromStep,
    };
  }
}

async function save(path: string, body: Buffer | string): Promise<string> {
  await writeFile(path, body);
  return path;
}

/** Files the process names must stay inside its output directory. */
function inside(outputDir: string, file: string): string {
  const p = resolve(outputDir, file);
  const rel = relative(outputDir, p);
  if (!rel || rel.startsWith('..') || isAbsolute(rel))
    throw new Error(`trainer named a file outside its output directory: ${file}`);
  return p;
}

/** `model.tar` → `.tar`, `adapter.tar.gz` → `.tar.gz`, `weights` → `.bin`. */
export function artifactExtension(file: string): string {
  return /(\.[A-Za-z0-9]{1,10}){1,2}$/.exec(basename(file))?.[0] ?? '.bin';
}

function abortError(signal: AbortSignal): Error {
  // The activity's own cancellation reason (Temporal's CancelledFailure) when there is one.
  if (signal.reason instanceof Error) return signal.reason;
  const e = new Error(`training cancelled${signal.reason === undefined ? '' : `: ${String(signal.reason)}`}`);
  e.name = 'AbortError';
  return e;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

/**
 * True while some process of the group is alive. On Linux it reads /proc so that zombies (killed,
 * waiting for a reaper that a container's PID 1 may never be) do not count; elsewhere kill(0).
 */
async function groupHasLiveMembers(pgid: number | undefined): Promise<boolean> {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after "(comm)": state ppid pgrp ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

async function waitUntil(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done()) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
