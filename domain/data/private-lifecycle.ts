import type { LifecycleParams } from '../lifecycle/types.js';
import { isEncryptedSpec, visibilityOf } from './datanet-spec.js';

/**
 * What a lifecycle on an encrypted Datanet may not ask for, because it would carry record text out
 * of the workers: a review round shows held-out records (prompts, and for generation the records'
 * responses) to reviewers who are not the Datanet's members, and an external model may reproduce
 * its training text when served. Returns [] when the proposal keeps its records compute-only.
 */
export function privateLifecycleErrors(spec: unknown, params: LifecycleParams): string[] {
  if (!isEncryptedSpec(spec)) return [];
  const errors: string[] = [];
  if (params.rlhf.rounds !== 0)
    errors.push(
      `rlhf.rounds must be 0 on a ${visibilityOf(spec)} Datanet: review items would show its records to reviewers (got ${params.rlhf.rounds})`,
    );
  if (params.training.trainer !== 'embedded')
    errors.push(
      `training.trainer must be "embedded" on a ${visibilityOf(spec)} Datanet: its serving artifacts keep no record text (got "${params.training.trainer}")`,
    );
  return errors;
}
