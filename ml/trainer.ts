import type { ArtifactStore } from '../storage/artifact-store.js';
import type { EvalMetrics, Hyperparams, TaskType } from '../domain/lifecycle/types.js';

// Hyperparameters and metrics are part of the lifecycle's contract (workflows/types.ts); every
// trainer receives the hyperparameters verbatim.
export type { EvalMetrics, Hyperparams, TaskType };

/**
 * One line of a dataset manifest (JSONL in S3). Classification: `text` → `label`. Generation:
 * `text` is the prompt (a chat transcript rendered one turn per line), `response` the reference
 * answer and `label` is ''.
 */
export interface ManifestRecord {
  hash: string;
  contributor: string;
  text: string;
  label: string;
  response?: string;
}

export interface TrainingJob {
  jobId: string;
  modelName: string;
  task: TaskType;
  labels: string[];
  /** S3 key of the artifact to warm-start from; absent = train from scratch. */
  baseArtifactKey?: string;
  /** S3 key of the JSONL dataset manifest. */
  datasetManifestKey: string;
  /** Fraction of the manifest held out for evaluation (deterministic by record hash). */
  evalFraction: number;
  hyperparams: Hyperparams;
  /** Staging prefix where checkpoints and the final artifact are written. */
  outputPrefix: string;
}

/** A preference pair: for `prompt`, reviewers preferred `chosen` over `rejected`. */
export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
  /** Consensus strength in (0, 1]; scales the pair's weight in the DPO loss. */
  weight: number;
}

export interface DpoJob {
  jobId: string;
  modelName: string;
  /** The policy to update and the frozen reference (usually the fine-tuned model). */
  policyArtifactKey: string;
  referenceArtifactKey: string;
  preferences: PreferencePair[];
  /** Held-out evaluation set key (JSONL manifest) to report metrics after the update. */
  evalManifestKey: string;
  beta: number;
  hyperparams: Hyperparams;
  outputPrefix: string;
}

export interface TrainingProgress {
  phase: 'train' | 'dpo' | 'eval' | 'index';
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  /** Present when this step wrote a checkpoint: a retry resumes from it. */
  checkpointKey?: string;
}

export interface TrainingResult {
  artifactKey: string;
  sha256: string;
  metrics: EvalMetrics;
  steps: number;
  /** The step a retry resumed from (0 = from scratch). */
  resumedFromStep: number;
}

export interface TrainerContext {
  store: ArtifactStore;
  /** Called on every progress event; the activity forwards it as a heartbeat. */
  progress(p: TrainingProgress): void;
  /** Last checkpoint reported before a crash (from the previous attempt's heartbeat). */
  resumeFrom?: { step: number; checkpointKey: string };
  /** Aborted when the activity is cancelled. */
  signal: AbortSignal;
  /**
   * Downloads a dataset or held-out manifest to a local file with every record in the clear. The
   * training activity opens an encrypted Datanet's sealed lines here, in the worker, logging each
   * read; `sealed` says the records were private, so nothing the trainer writes may hold their
   * text. Absent, the manifest is copied as stored, and a sealed line in it is refused.
   */
  fetchManifest?(key: string, path: string): Promise<{ sealed: boolean }>;
}

export interface GenerationJob {
  artifactKey: string;
  prompts: { id: string; text: string }[];
  /** How many ranked outputs to propose per prompt (reviewers pick the best). */
  candidatesPerPrompt: number;
}

export interface GeneratedCandidates {
  promptId: string;
  outputs: { output: string; score: number }[];
}

export interface Trainer {
  readonly kind: string;
  train(job: TrainingJob, ctx: TrainerContext): Promise<TrainingResult>;
  /** RLHF candidate generation: ranked outputs for held-out prompts. */
  generate(job: GenerationJob, ctx: TrainerContext): Promise<GeneratedCandidates[]>;
  dpo(job: DpoJob, ctx: TrainerContext): Promise<TrainingResult>;
}
