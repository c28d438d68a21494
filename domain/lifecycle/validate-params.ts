import type { LifecycleParams } from './types.js';

/** Reasons a merged parameter set is unusable (empty when fine): a 400 before any workflow starts. */
export function validateParams(p: LifecycleParams): string[] {
  const errs: string[] = [];
  const pos = (v: number, name: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) errs.push(`${name} must be a positive number`);
  };
  const frac = (v: number, name: string) => {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) errs.push(`${name} must be between 0 and 1`);
  };
  const int = (v: string, name: string) => {
    if (typeof v !== 'string' || !/^\d+$/.test(v)) errs.push(`${name} must be an integer amount as a string`);
  };
  int(p.stake, 'stake');
  pos(p.governance.votingPeriodMs, 'governance.votingPeriodMs');
  frac(p.governance.quorum, 'governance.quorum');
  frac(p.governance.vetoThreshold, 'governance.vetoThreshold');
  frac(p.governance.passThreshold, 'governance.passThreshold');
  pos(p.collection.windowMs, 'collection.windowMs');
  pos(p.collection.targetCount, 'collection.targetCount');
  pos(p.collection.pollIntervalMs, 'collection.pollIntervalMs');
  pos(p.collection.batchSize, 'collection.batchSize');
  pos(p.collection.parallelism, 'collection.parallelism');
  pos(p.collection.batchesPerRun, 'collection.batchesPerRun');
  if (p.collection.batchSize > 5000) errs.push('collection.batchSize must be at most 5000');
  if (p.collection.parallelism > 64) errs.push('collection.parallelism must be at most 64');
  pos(p.training.hyperparams.epochs, 'training.hyperparams.epochs');
  pos(p.training.hyperparams.learningRate, 'training.hyperparams.learningRate');
  pos(p.training.hyperparams.batchSize, 'training.hyperparams.batchSize');
  pos(p.training.hyperparams.checkpointEvery, 'training.hyperparams.checkpointEvery');
  frac(p.training.evalFraction, 'training.evalFraction');
  pos(p.training.heartbeatTimeoutMs, 'training.heartbeatTimeoutMs');
  if (!Number.isInteger(p.training.maxAttempts) || p.training.maxAttempts < 1 || p.training.maxAttempts > 100)
    errs.push('training.maxAttempts must be an integer from 1 to 100');
  if (!Number.isInteger(p.rlhf.rounds) || p.rlhf.rounds < 0 || p.rlhf.rounds > 20)
    errs.push('rlhf.rounds must be an integer from 0 to 20');
  pos(p.rlhf.promptsPerRound, 'rlhf.promptsPerRound');
  pos(p.rlhf.answersPerItem, 'rlhf.answersPerItem');
  pos(p.rlhf.roundDeadlineMs, 'rlhf.roundDeadlineMs');
  if (!(p.rlhf.candidatesPerPrompt >= 2)) errs.push('rlhf.candidatesPerPrompt must be at least 2');
  pos(p.rlhf.learningRate, 'rlhf.learningRate');
  pos(p.rlhf.epochs, 'rlhf.epochs');
  pos(p.rlhf.beta, 'rlhf.beta');
  if (!(p.rlhf.maxEvalDrop >= 0)) errs.push('rlhf.maxEvalDrop must be a non-negative number');
  int(p.rlhf.agreementReward, 'rlhf.agreementReward');
  int(p.rlhf.disagreementPenalty, 'rlhf.disagreementPenalty');
  const count = (v: number, name: string, max: number) => {
    if (!(Number.isInteger(v) && v >= 0 && v <= max)) errs.push(`${name} must be an integer from 0 to ${max}`);
  };
  count(p.rlhf.maxTasksPerReviewer, 'rlhf.maxTasksPerReviewer', 10_000);
  if (p.rlhf.maxTasksPerReviewer === 0) errs.push('rlhf.maxTasksPerReviewer must be at least 1');
  count(p.rlhf.goldPerRound, 'rlhf.goldPerRound', 1000);
  count(p.rlhf.extraReviewers, 'rlhf.extraReviewers', 100);
  frac(p.rlhf.lowAgreementSupport, 'rlhf.lowAgreementSupport');
  pos(p.rlhf.extensionMs, 'rlhf.extensionMs');
  int(p.serving.feePerCall, 'serving.feePerCall');
  int(p.serving.rewardPool, 'serving.rewardPool');
  pos(p.serving.settlementPeriodMs, 'serving.settlementPeriodMs');
  const s = p.serving.shares;
  const sum = s.developer + s.contributors + s.reviewers + s.governors + s.treasury;
  if (Object.values(s).some((v) => !(v >= 0)) || Math.abs(sum - 1) > 1e-9)
    errs.push(`serving.shares must be non-negative and sum to 1 (got ${sum})`);
  return errs;
}
