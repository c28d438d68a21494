import type { DatanetAccess } from '../data/datanet-access.js';
/**
 * The lifecycle's contract: inputs, parameters (every duration is a parameter so tests run in
 * seconds), stages and the status the query returns. Imported by workflows, activities and the API,
 * so it holds types and pure constants only.
 */
import type { GovernanceParams, Outcome, TallyResult, VoteOption } from '../governance/tally.js';
import type { ProtocolSettings } from '../protocol/settings.js';

export const STAGES = [
  'proposed',
  'governance',
  'data-collection',
  'training',
  'rlhf',
  'deployment',
  'serving',
] as const;
export type Stage = (typeof STAGES)[number];

/**
 * What a proposed model does: `classification` (text → one of the labels) or `generation`
 * (prompt or chat → response).
 */
export const TASK_TYPES = ['classification', 'generation'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** Terminal and running statuses a lifecycle reports. */
export type LifecycleStatus =
  'running' | 'expired' | 'rejected' | 'vetoed' | 'withdrawn' | 'cancelled' | 'failed-gate' | 'failed' | 'serving';

export interface DatanetField {
  name: string;
  type: 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'messages';
  required?: boolean;
  maxLength?: number;
  minLength?: number;
  min?: number;
  max?: number;
  values?: string[];
}

export interface DatanetSpecInput {
  fields: DatanetField[];
  textField: string;
  labelField?: string;
  /** Generation: the string field with the reference response. */
  responseField?: string;
  maxRecordBytes?: number;
  /** Credentials, assessment, curation and deposit (domain/data/datanet-access.ts). */
  access?: DatanetAccess;
}

/** Hyperparameters shared by every trainer. */
export interface Hyperparams {
  epochs: number;
  learningRate: number;
  l2: number;
  batchSize: number;
  seed: number;
  /** Write a checkpoint to S3 every N optimizer steps. */
  checkpointEvery: number;
}

export interface FeeShares {
  developer: number;
  contributors: number;
  reviewers: number;
  governors: number;
  treasury: number;
}

export interface LifecycleParams {
  /** OPEN base units escrowed with the proposal. */
  stake: string;
  governance: GovernanceParams & { votingPeriodMs: number };
  collection: {
    windowMs: number;
    targetCount: number;
    /** How often the window checks the contribution count. */
    pollIntervalMs: number;
    batchSize: number;
    parallelism: number;
    /** Scoring batches per run before continue-as-new keeps history small. */
    batchesPerRun: number;
    /** History events at which the window phase continues as new (default 1500; tests use a few). */
    windowRunMaxEvents?: number;
    minQuality: number;
    minRelevance: number;
    /** Accepted records below this: the lifecycle fails the stage and refunds. */
    minAcceptedRecords: number;
    keywords: string[];
  };
  training: {
    trainer: string;
    hyperparams: Hyperparams;
    evalFraction: number;
    baseArtifactKey?: string;
    heartbeatTimeoutMs: number;
    /** Attempts of a training or RLHF job before the stage fails (and the lifecycle compensates). */
    maxAttempts: number;
  };
  rlhf: {
    rounds: number;
    promptsPerRound: number;
    candidatesPerPrompt: number;
    answersPerItem: number;
    roundDeadlineMs: number;
    beta: number;
    /** DPO optimiser settings: small steps, since a round yields few preference pairs. */
    learningRate: number;
    epochs: number;
    /** A round's update is kept only if held-out accuracy drops by at most this much. */
    maxEvalDrop: number;
    /** OPEN paid per answer that agrees with consensus, from the model's reward pool. */
    agreementReward: string;
    /** OPEN slashed from a validator's stake after persistent disagreement. */
    disagreementPenalty: string;
    /** A reviewer is penalised when their disagreement rate over a round is above this share. */
    disagreementTolerance: number;
    /** Most tasks one reviewer is assigned in a round (the extension included). */
    maxTasksPerReviewer: number;
    /** Gold items (known answers from the held-out set) mixed into each round. */
    goldPerRound: number;
    /** An item whose best candidate has less than this share of the answering stake gets extra reviewers. */
    lowAgreementSupport: number;
    /** Extra reviewers drawn per low-agreement item, once per round. */
    extraReviewers: number;
    /** How long the extension stays open for the extra reviewers. */
    extensionMs: number;
  };
  deployment: {
    minAccuracy: number;
    minMacroF1: number;
    /** The candidate may be at most this much worse than the current production version. */
    maxRegression: number;
  };
  serving: {
    feePerCall: string;
    shares: FeeShares;
    /** OPEN moved from the treasury into the model's reward pool at deployment, split by attribution. */
    rewardPool: string;
    /** Period (ms) of the served model's reward-settlement epochs (its entity workflow `model-<name>`). */
    settlementPeriodMs: number;
  };
}

export interface LifecycleInput {
  proposalId: string;
  proposer: string;
  modelName: string;
  title: string;
  description: string;
  domain: string;
  labels: string[];
  datanetSpec: DatanetSpecInput;
  params: LifecycleParams;
  /**
   * OPEN the proposal asks the treasury for; passing the vote approves it and reserves it into
   * budget:proposal:<id>.
   */
  budget: string;
  /** The protocol settings in force when the proposal was made (params already carry their values). */
  protocol?: ProtocolSettings;
  task: TaskType;
}

export interface GovernanceState {
  opensAt?: number;
  closesAt?: number;
  snapshotTotal?: string;
  voters?: number;
  tally?: TallyResult;
  outcome?: Outcome;
  closedEarly?: boolean;
}

export interface CollectionState {
  datanetId?: string;
  closesAt?: number;
  received?: number;
  scored?: number;
  accepted?: number;
  datasetVersionId?: string;
  merkleRoot?: string;
  manifestKey?: string;
}

export interface TrainingState {
  runId?: string;
  artifactKey?: string;
  sha256?: string;
  metrics?: EvalMetrics;
  resumedFromStep?: number;
}

/**
 * Held-out metrics. Generation maps its metrics onto the same fields so the RLHF keep/discard rule
 * and the deployment gate work unchanged: `accuracy` is the mean token-F1 of the answers against
 * the reference responses, `macroF1` the mean ROUGE-L F1 and `loss` 1 − accuracy.
 */
export interface EvalMetrics {
  accuracy: number;
  macroF1: number;
  loss: number;
  examples: number;
}

export interface RlhfRoundSummary {
  round: number;
  tasks: number;
  answers: number;
  artifactKey: string;
  metrics: EvalMetrics;
  rewarded: number;
  penalised: string[];
  /** False when the update lowered held-out accuracy beyond maxEvalDrop and the policy was kept. */
  applied: boolean;
}

export interface DeploymentState {
  version?: number;
  /** The entity workflow that owns the served model after promotion. */
  modelWorkflowId?: string;
  prefix?: string;
  gate?: { passed: boolean; reason: string };
}

export interface LifecycleStatusView {
  proposalId: string;
  modelName: string;
  stage: Stage;
  status: LifecycleStatus;
  reason?: string;
  governance: GovernanceState;
  collection: CollectionState;
  training: TrainingState;
  rlhf: { round: number; rounds: RlhfRoundSummary[] };
  deployment: DeploymentState;
  history: { stage: Stage; at: number }[];
  /** The treasury budget: asked by the proposal, reserved when it passed. */
  budget: { asked: string; reserved?: string };
}

export interface VoteInput {
  voter: string;
  option: VoteOption;
}

export interface ReviewAnswerInput {
  taskId: string;
  reviewer: string;
  choice: string;
}
