import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../storage/s3-store.js';
import { loadConfig } from '../../infra/config.js';
import { parseManifest, splitManifest } from '../embedded/embedded-trainer.js';
import type { DpoJob, ManifestRecord, TrainerContext, TrainingJob, TrainingProgress } from '../trainer.js';
import { ExternalCommandTrainer, artifactExtension } from './external-trainer.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

const fake = fileURLToPath(new URL('./test-fixtures/fake-trainer.mjs', import.meta.url));
const store = S3ArtifactStore.fromConfig(loadConfig().s3);
const run = `${process.pid}-${Date.now().toString(36)}`;
const base = `test/external/${run}`;
const scratch = mkdtempSync(join(tmpdir(), 'external-trainer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const records: ManifestRecord[] = Array.from({ length: 40 }, (_, i) => ({
  hash: sha(Buffer.from(`record ${i}`)),
  contributor: `c${i % 3}`,
  text: `message number ${i}`,
  label: i % 2 ? 'spam' : 'ham',
}));
const manifest = records.map((r) => JSON.stringify(r)).join('\n') + '\n';

function trainJob(name: string, epochs = 3, checkpointEvery = 5): TrainingJob {
  return {
    jobId: `${name}-${run}`,
    modelName: 'm',
    task: 'classification',
    labels: ['spam', 'ham'],
    datasetManifestKey: `${base}/dataset.jsonl`,
    evalFraction: 0.25,
    hyperparams: { epochs, learningRate: 1, l2: 0, batchSize: 8, seed: 1, checkpointEvery },
    outputPrefix: `${base}/${name}`,
  };
}

function context(extra: Partial<TrainerContext> = {}): TrainerContext & { events: TrainingProgress[] } {
  const events: TrainingProgress[] = [];
  return { store, progress: (p) => events.push(p), signal: new AbortController().signal, events, ...extra };
}

/** A trainer running the fake script in its own work root, collecting its log lines. */
function fakeTrainer(env: Record<string, string> = {}, killGraceMs = 5_000) {
  const workRoot = mkdtempSync(join(scratch, 'work-'));
  const logs: string[] = [];
  const trainer = new ExternalCommandTrainer({
    command: process.execPath,
    args: [fake],
    workRoot,
    killGraceMs,
    env,
    onLog: (l) => logs.push(l),
  });
  return { trainer, workRoot, logs };
}

/** Alive = present in /proc and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.charAt(stat.lastIndexOf(')') + 2)); // the one-letter state field
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('external-command trainer (fake trainer process, real S3)', () => {
  it('forwards progress, uploads checkpoints and the artifact with its SHA-256, and cleans up', async () => {
    await store.put(`${base}/dataset.jsonl`, manifest);
    const { trainer, workRoot } = fakeTrainer();
    const ctx = context();
    const r = await trainer.train(trainJob('full'), ctx);

    const steps = ctx.events.filter((e) => !e.checkpointKey).map((e) => e.step);
    expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(ctx.events.every((e) => e.phase === 'train' && e.totalSteps === 30)).toBe(true);
    expect(ctx.events.find((e) => e.step === 12 && !e.checkpointKey)).toMatchObject({ epoch: 2, loss: 1 / 12 });

    const checkpoints = ctx.events.filter((e) => e.checkpointKey);
    expect(checkpoints.map((e) => [e.step, e.checkpointKey])).toEqual(
      [5, 10, 15, 20, 25].map((s) => [s, `${base}/full/checkpoints/step-${s}.bin`]),
    );
    for (const c of checkpoints)
      expect(JSON.parse((await store.get(c.checkpointKey!)).toString())).toEqual({
        jobId: `full-${run}`,
        step: c.step,
      });

    expect(r.artifactKey).toBe(`${base}/full/model.bin`);
    const bytes = await store.get(r.artifactKey);
    expect(r.sha256).toBe(sha(bytes));
    expect((await store.head(r.artifactKey))?.metadata.sha256).toBe(r.sha256);
    // The process got the embedded trainer's split of the manifest and the job's labels.
    const split = splitManifest(parseManifest(manifest), 0.25);
    expect(split.eval.length).toBeGreaterThan(0);
    expect(JSON.parse(bytes.toString())).toMatchObject({
      task: 'sft',
      startedAt: 0,
      steps: 30,
      labels: ['spam', 'ham'],
      trainRecords: split.train.length,
      evalRecords: split.eval.length,
    });
    expect(r).toMatchObject({
      steps: 30,
      resumedFromStep: 0,
      metrics: { accuracy: 0.9, macroF1: 0.88, examples: split.eval.length },
    });
    expect(readdirSync(workRoot)).toEqual([]);
  });

  it('fails with the exit code and output tail, then resumes from the last uploaded checkpoint', async () => {
    const crashing = fakeTrainer({ FAKE_TRAINER_FAIL_AT_STEP: '13' });
    const first = context();
    const err = await crashing.trainer.train(trainJob('resume'), first).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited with code 3/);
    expect((err as Error).message).toContain('simulated crash at step 13'); // stderr
    expect((err as Error).message).toContain('plain log line: not protocol'); // non-JSON stdout
    expect(readdirSync(crashing.workRoot)).toEqual([]);

    const last = first.events.filter((e) => e.checkpointKey).at(-1)!;
    expect(last).toMatchObject({ step: 10, checkpointKey: `${base}/resume/checkpoints/step-10.bin` });

    const retry = fakeTrainer();
    const second = context({ resumeFrom: { step: last.step, checkpointKey: last.checkpointKey! } });
    const r = await retry.trainer.train(trainJob('resume'), second);
    expect(retry.logs).toContain('starting sft at step 10 of 30');
    expect(at(second.events, 0).step).toBe(11);
    expect(r).toMatchObject({ resumedFromStep: 10, steps: 30 });
    expect(JSON.parse((await store.get(r.artifactKey)).toString())).toMatchObject({ startedAt: 10 });

    // The checkpoint file itself reaches the process: a mismatched one is refused by the script.
    const wrong = context({ resumeFrom: { step: 5, checkpointKey: last.checkpointKey! } });
    await expect(fakeTrainer().trainer.train(trainJob('resume'), wrong)).rejects.toThrow(
      /exited with code 4[\s\S]*not resume-[\w-]+ step 5/,
    );
  });

  it('on cancellation SIGTERMs the process group and rejects with the abort reason', async () => {
    const pidFile = join(scratch, 'cancel.pid');
    const { trainer, workRoot } = fakeTrainer({
      FAKE_TRAINER_STEP_MS: '100',
      FAKE_TRAINER_SPAWN_CHILD: '1',
      FAKE_TRAINER_PID_FILE: pidFile,
    });
    const ac = new AbortController();
    const ctx = context({ signal: ac.signal });
    const pending = trainer.train(trainJob('cancel', 100), ctx);
    await waitFor(() => ctx.events.length >= 2);
    const { pid, childPid } = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; childPid: number };
    expect(alive(pid) && alive(childPid)).toBe(true);

    const started = Date.now();
    ac.abort(new Error('cancelled by test'));
    await expect(pending).rejects.toThrow('cancelled by test');
    expect(Date.now() - started).toBeLessThan(4_000); // SIGTERM sufficed; no wait for the 5 s grace
    expect(alive(pid)).toBe(false);
    expect(alive(childPid)).toBe(false); // the helper in its group too
    expect(readdirSync(workRoot)).toEqual([]);
  });

  it('SIGKILLs a process group that ignores SIGTERM after the grace period', async () => {
    const pidFile = join(scratch, 'stubborn.pid');
    const { trainer } = fakeTrainer(
      {
        FAKE_TRAINER_STEP_MS: '100',
        FAKE_TRAINER_SPAWN_CHILD: '1',
        FAKE_TRAINER_IGNORE_SIGTERM: '1',
        FAKE_TRAINER_PID_FILE: pidFile,
      },
      600,
    );
    const ac = new AbortController();
    const ctx = context({ signal: ac.signal });
    const pending = trainer.train(trainJob('stubborn', 100), ctx);
    await waitFor(() => ctx.events.length >= 1);
    const { pid, childPid } = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; childPid: number };

    const started = Date.now();
    ac.abort();
    const err = (await pending.catch((e: Error) => e)) as Error;
    expect(err.name).toBe('AbortError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(alive(pid)).toBe(false);
    expect(alive(childPid)).toBe(false);
  });

  it('does not start the process when already cancelled, and reports a missing command', async () => {
    const pidFile = join(scratch, 'never.pid');
    const ac = new AbortController();
    ac.abort(new Error('cancelled before start'));
    await expect(
      fakeTrainer({ FAKE_TRAINER_PID_FILE: pidFile }).trainer.train(trainJob('never'), context({ signal: ac.signal })),
    ).rejects.toThrow('cancelled before start');
    expect(existsSync(pidFile)).toBe(false);

    const missing = new ExternalCommandTrainer({ command: join(scratch, 'no-such-trainer'), workRoot: scratch });
    await expect(missing.train(trainJob('missing'), context())).rejects.toThrow(/ENOENT/);
  });

  it('answers a generate job with ranked outputs from the downloaded model', async () => {
    await store.put(`${base}/gen-model.bin`, JSON.stringify({ labels: ['spam', 'ham', 'phish'] }));
    const { trainer } = fakeTrainer();
    const prompts = [
      { id: 'p1', text: 'free money' },
      { id: 'p2', text: 'lunch?' },
    ];
    const out = await trainer.generate(
      { artifactKey: `${base}/gen-model.bin`, prompts, candidatesPerPrompt: 2 },
      context(),
    );
    const ranked = [
      { output: 'spam', score: 1 },
      { output: 'ham', score: 1 - 1 / 3 },
    ];
    expect(out).toEqual([
      { promptId: 'p1', outputs: ranked },
      { promptId: 'p2', outputs: ranked },
    ]);
  });

  it('reads an event whose text holds U+2028, U+2029 or U+0085 as one line (events are split on \\n only)', async () => {
    // The fake trainer answers with the model's labels, written raw by JSON.stringify.
    const labels = ['spam\u2028now', 'ham\u2029', 'phish\u0085\r'];
    await store.put(`${base}/gen-breaks.bin`, JSON.stringify({ labels }));
    const { trainer } = fakeTrainer();
    const out = await trainer.generate(
      {
        artifactKey: `${base}/gen-breaks.bin`,
        prompts: [{ id: 'p1', text: 'free\u2028money' }],
        candidatesPerPrompt: 3,
      },
      context(),
    );
    expect(out[0]?.outputs.map((o) => o.output)).toEqual(labels);
  });

  it('runs DPO on preferences in TRL format and keeps the artifact extension', async () => {
    await store.put(`${base}/policy.bin`, JSON.stringify({ labels: ['spam', 'ham'] }));
    await store.put(`${base}/eval.jsonl`, manifest);
    const job: DpoJob = {
      jobId: `dpo-${run}`,
      modelName: 'm',
      policyArtifactKey: `${base}/policy.bin`,
      referenceArtifactKey: `${base}/policy.bin`,
      preferences: [{ prompt: 'win a prize now', chosen: 'spam', rejected: 'ham', weight: 0.8 }],
      evalManifestKey: `${base}/eval.jsonl`,
      beta: 0.2,
      hyperparams: { epochs: 1, learningRate: 0.1, l2: 0, batchSize: 4, seed: 1, checkpointEvery: 4 },
      outputPrefix: `${base}/dpo`,
    };
    const ctx = context();
    const r = await fakeTrainer({ FAKE_TRAINER_ARTIFACT: 'adapter.tar' }).trainer.dpo(job, ctx);
    expect(r.artifactKey).toBe(`${base}/dpo/model.tar`);
    const bytes = await store.get(r.artifactKey);
    expect(r.sha256).toBe(sha(bytes));
    expect(JSON.parse(bytes.toString())).toMatchObject({
      task: 'dpo',
      labels: ['ham', 'spam'],
      preferences: [{ prompt: 'win a prize now', chosen: 'spam', rejected: 'ham', weight: 0.8 }],
      beta: 0.2,
      evalRecords: records.length,
    });
    expect(ctx.events.filter((e) => e.checkpointKey).map((e) => e.checkpointKey)).toEqual([
      `${base}/dpo/checkpoints/step-4.bin`,
      `${base}/dpo/checkpoints/step-8.bin`,
    ]);
    expect(ctx.events.every((e) => e.phase === 'dpo')).toBe(true);
    expect(r.metrics.examples).toBe(records.length);
  });

  it('names artifacts by their extension', () => {
    expect(artifactExtension('model.tar')).toBe('.tar');
    expect(artifactExtension('sub/adapter.tar.gz')).toBe('.tar.gz');
    expect(artifactExtension('weights')).toBe('.bin');
  });
});
