import { Context, ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../deps.js';
import { ERROR_TYPES } from '../../contracts/error-types.js';
import type {
  DpoJob,
  PreferencePair,
  Trainer,
  TrainerContext,
  TrainingJob,
  TrainingProgress,
  Hyperparams,
} from '../../ml/trainer.js';
import { parseManifest, writeEvalManifest } from '../../ml/embedded/embedded-trainer.js';
import type { CandidateItem } from '../rlhf/activities.js';
import { recordedHeartbeats } from '../progress.js';
import { finishTrainingRun, recordTrainingEpoch, startTrainingRun } from '../../db/queries/training.js';
import { openManifestToFile } from '../sealed-manifests.js';
import { isSealedManifest } from '../../domain/data/sealed-lines.js';

/** Last heartbeat of a previous attempt: where a retry resumes. */
interface HeartbeatDetails extends TrainingProgress {
  lastCheckpoint?: { step: number; checkpointKey: string };
}

const HEARTBEAT_EVERY_MS = 1000;

/**
 * Builds the TrainerContext for the current activity: progress becomes throttled heartbeats that
 * carry the last checkpoint, so an attempt after a crash starts where the previous one stopped.
 * With `series`, each finished training epoch's mean loss is kept too (heartbeats keep only the
 * latest step), so the loss curve can be read after the run.
 */
function trainerContext(
  deps: ActivityDeps,
  series?: { runId: string; proposalId: string },
): TrainerContext & { done(): Promise<void> } {
  const ctx = Context.current();
  const beats = recordedHeartbeats(deps.sql);
  const epochs = series && epochSeries(deps, series);
  const previous = ctx.info.heartbeatDetails as HeartbeatDetails | undefined;
  let lastCheckpoint = previous?.lastCheckpoint;
  let lastBeat = 0;
  return {
    store: deps.store,
    resumeFrom: lastCheckpoint,
    signal: ctx.cancellationSignal,
    fetchManifest: (key, path) => openManifestToFile(deps, key, path, 'training'),
    progress(p) {
      if (p.phase === 'train') epochs?.step(p);
      if (p.checkpointKey) lastCheckpoint = { step: p.step, checkpointKey: p.checkpointKey };
      const now = Date.now();
      if (p.checkpointKey || now - lastBeat >= HEARTBEAT_EVERY_MS || p.step === p.totalSteps) {
        lastBeat = now;
        beats.heartbeat({ ...p, lastCheckpoint } satisfies HeartbeatDetails);
      }
    },
    done: async () => {
      await epochs?.done();
      await beats.done();
    },
  };
}

/**
 * The mean loss of each training epoch, written when the next epoch starts or the last step is
 * reported. Writes are chained in order and, like heartbeats, never fail the activity. An epoch a
 * retry resumes in the middle of is averaged over the steps this attempt ran.
 */
function epochSeries(deps: ActivityDeps, s: { runId: string; proposalId: string }) {
  const ctx = Context.current();
  let current: { epoch: number; step: number; sum: number; n: number } | undefined;
  let chain: Promise<void> = Promise.resolve();
  const flush = () => {
    if (!current) return;
    const e = { ...s, epoch: current.epoch + 1, step: current.step, loss: current.sum / current.n };
    chain = chain
      .then(() => recordTrainingEpoch(deps.sql, e))
      .catch((err: unknown) => {
        ctx.log.warn('training epoch not recorded', { err: String(err) });
      });
    current = undefined;
  };
  return {
    step(p: TrainingProgress) {
      if (current && current.epoch !== p.epoch) flush();
      current ??= { epoch: p.epoch, step: p.step, sum: 0, n: 0 };
      current.step = p.step;
      current.sum += p.loss;
      current.n += 1;
      if (p.step === p.totalSteps) flush();
    },
    async done() {
      flush();
      await chain;
    },
  };
}

function trainerFor(deps: ActivityDeps, kind: string): Trainer {
  const t = deps.trainers[kind];
  if (!t)
    throw ApplicationFailure.nonRetryable(
      `no trainer "${kind}" on this worker (have: ${Object.keys(deps.trainers).join(', ')})`,
      ERROR_TYPES.unknownTrainer,
    );
  return t;
}

export function createTrainingActivities(deps: ActivityDeps) {
  const { sql, store } = deps;
  return {
    /** Fine-tunes on the dataset manifest (gpu-training queue). Resumes from the last heartbeat's checkpoint. */
    async trainModel(a: { proposalId: string; trainer: string; job: TrainingJob }) {
      const runId = a.job.jobId;
      await startTrainingRun(sql, { id: runId, proposalId: a.proposalId, trainer: a.trainer });
      // The held-out split is written once so RLHF prompts and every later evaluation use the same records.
      const evalManifestKey = `${a.job.outputPrefix}/eval.jsonl`;
      if (!(await store.head(evalManifestKey)))
        await writeEvalManifest(store, a.job.datasetManifestKey, a.job.evalFraction, evalManifestKey);
      const tc = trainerContext(deps, { runId, proposalId: a.proposalId });
      const result = await trainerFor(deps, a.trainer).train(a.job, tc);
      await tc.done();
      await finishTrainingRun(sql, runId, result);
      return { runId, evalManifestKey, ...result };
    },

    /** RLHF candidates for held-out prompts (gpu-rlhf queue): the prompt set is chosen by seed. */
    async generateCandidates(a: {
      artifactKey: string;
      evalManifestKey: string;
      count: number;
      candidatesPerPrompt: number;
      seed: number;
      trainer: string;
    }): Promise<CandidateItem[]> {
      const body = await store.get(a.evalManifestKey);
      // A review item shows its prompt to reviewers who are not the Datanet's members: a private
      // record's text would leave the workers through it.
      if (isSealedManifest(body))
        throw ApplicationFailure.nonRetryable(
          'review rounds show held-out records to reviewers: a lifecycle on an encrypted Datanet has none (rlhf.rounds 0)',
          ERROR_TYPES.privateRecords,
        );
      const held = parseManifest(body);
      const picked = pickPrompts(
        held.map((r) => ({ id: r.hash.slice(0, 16), text: r.text })),
        a.count,
        a.seed,
      );
      const tc = trainerContext(deps);
      const generated = await trainerFor(deps, a.trainer).generate(
        { artifactKey: a.artifactKey, prompts: picked, candidatesPerPrompt: a.candidatesPerPrompt },
        tc,
      );
      await tc.done();
      const byId = new Map(picked.map((p) => [p.id, p.text]));
      return generated.map((g) => ({ promptId: g.promptId, prompt: byId.get(g.promptId)!, outputs: g.outputs }));
    },

    /** The DPO step on consensus preferences (gpu-rlhf queue), evaluated on the held-out set. */
    async preferenceUpdate(a: Omit<DpoJob, 'preferences'> & { preferences: PreferencePair[]; trainer: string }) {
      const { trainer, ...job } = a;
      const tc = trainerContext(deps);
      const updated = await trainerFor(deps, trainer).dpo(job, tc);
      await tc.done();
      return updated;
    },
  };
}

/** Deterministic choice of `count` prompts by seed (round number), so a retry asks the same questions. */
export function pickPrompts<T extends { id: string }>(items: T[], count: number, seed: number): T[] {
  const keyed = items.map((it) => ({ it, k: hash32(`${seed}:${it.id}`) }));
  keyed.sort((x, y) => x.k - y.k || x.it.id.localeCompare(y.it.id));
  return keyed.slice(0, count).map((x) => x.it);
}

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export type TrainingActivities = ReturnType<typeof createTrainingActivities>;
export type { Hyperparams };
