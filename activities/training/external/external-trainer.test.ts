import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../artifacts/s3-store.js';
import { loadConfig } from '../../../infra/config.js';
import type { TrainerContext, TrainingJob, TrainingProgress } from '../trainer.js';
import { ExternalCommandTrainer } from './external-trainer.js';

const fake = fileURLToPath(new URL('./test-fixtures/fake-trainer.mjs', import.meta.url));
const store = () => S3ArtifactStore.fromConfig(loadConfig().s3);
const run = Date.now().toString(36);

function job(name: string, epochs = 3, checkpointEvery = 5): TrainingJob {
  return {
    jobId: `${name}-${run}`,
    modelName: 'm',
    labels: ['spam', 'ham'],
    datasetManifestKey: `test/external/${run}/dataset.jsonl`,
    evalFraction: 0.2,
    hyperparams: { epochs, learningRate: 1, l2: 0, batchSize: 8, seed: 1, checkpointEvery },
    outputPrefix: `test/external/${run}/${name}`,
  };
}

function context(extra: Partial<TrainerContext> = {}): TrainerContext & { events: TrainingProgress[] } {
  const events: TrainingProgress[] = [];
  return { store: store(), progress: (p) => events.push(p), signal: new AbortController().signal, events, ...extra };
}

describe('external-command trainer (a stand-in process, real S3)', () => {
  const trainer = (env: Record<string, string> = {}) => {
    Object.assign(process.env, { FAKE_TRAINER_STEP_MS: '0', FAKE_TRAINER_FAIL_AT_STEP: '0' }, env);
    return new ExternalCommandTrainer({ command: process.execPath, args: [fake], killGraceMs: 500 });
  };

  it('forwards progress, uploads checkpoints and the artifact with its SHA-256', async () => {
    await store().put(`test/external/${run}/dataset.jsonl`, '{"hash":"a","contributor":"c","text":"t","label":"spam"}\n');
    const ctx = context();
    const r = await trainer().train(job('full'), ctx);
    const steps = ctx.events.filter((e) => !e.checkpointKey).map((e) => e.step);
    expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const checkpoints = ctx.events.filter((e) => e.checkpointKey).map((e) => e.checkpointKey);
    expect(checkpoints).toEqual([5, 10, 15, 20, 25].map((s) => `test/external/${run}/full/checkpoints/step-${s}.bin`));
    for (const k of checkpoints) expect(await store().head(k!)).toBeDefined();
    const bytes = await store().get(r.artifactKey);
    expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(JSON.parse(bytes.toString())).toMatchObject({ task: 'sft', startedAt: 0, steps: 30 });
    expect(r.metrics.accuracy).toBe(0.9);
    expect(r.steps).toBe(30);
  });

  it('resumes from the checkpoint a previous attempt reported', async () => {
    const first = context();
    await expect(trainer({ FAKE_TRAINER_FAIL_AT_STEP: '13' }).train(job('resume'), first)).rejects.toThrow(/exited with code 3[\s\S]*simulated crash at step 13/);
    const last = first.events.filter((e) => e.checkpointKey).at(-1)!;
    expect(last.step).toBe(10);
    const second = context({ resumeFrom: { step: last.step, checkpointKey: last.checkpointKey! } });
    const r = await trainer().train(job('resume'), second);
    expect(second.events[0].step).toBe(11);
    expect(r.resumedFromStep).toBe(10);
    expect(JSON.parse((await store().get(r.artifactKey)).toString()).startedAt).toBe(10);
  });

  it('kills the process group when the activity is cancelled', async () => {
    const ac = new AbortController();
    const ctx = context({ signal: ac.signal });
    const pending = trainer({ FAKE_TRAINER_STEP_MS: '200' }).train(job('cancel', 100), ctx);
    while (ctx.events.length < 2) await new Promise((r) => setTimeout(r, 50));
    const { execFileSync } = await import('node:child_process');
    const pids = () => execFileSync('pgrep', ['-f', 'fake-trainer.mjs']).toString().trim().split('\n').filter(Boolean);
    expect(pids().length).toBeGreaterThan(0);
    ac.abort(new Error('cancelled by test'));
    await expect(pending).rejects.toThrow('cancelled by test');
    let left: string[] = [];
    try {
      left = pids();
    } catch {
      left = []; // pgrep exits 1 when nothing matches
    }
    expect(left).toEqual([]);
  });

  it('answers a generate job with ranked outputs per prompt', async () => {
    await store().put(`test/external/${run}/model.bin`, 'x');
    const out = await trainer().generate({ artifactKey: `test/external/${run}/model.bin`, prompts: [{ id: 'p1', text: 'free money' }], candidatesPerPrompt: 2 }, context());
    expect(out).toEqual([{ promptId: 'p1', outputs: [{ output: 'spam', score: 1 }, { output: 'ham', score: 0.6 }] }]);
  });
});
