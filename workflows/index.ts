// The workflow bundle the lifecycle worker loads: deterministic code only.
export { lifecycleWorkflow } from './lifecycle.js';
export { collectionWorkflow } from './collection.js';
export { rlhfRoundWorkflow } from './rlhf-round.js';
export { modelWorkflow } from './model.js';
export { recordReadWorkflow } from './record-read.js';
