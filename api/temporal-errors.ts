import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { HttpError } from './errors.js';

/**
 * Runs a workflow Update and turns the workflow's refusal (validator or handler) into a 409 with
 * its reason; a workflow that no longer runs is a 409 too ("closed").
 */
export async function runUpdate<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = err.cause?.message ?? err.message;
      throw new HttpError(409, `${what} refused: ${reason}`);
    }
    // Callers check the proposal exists first, so a workflow that cannot be found has completed.
    if (err instanceof WorkflowNotFoundError)
      throw new HttpError(409, `${what} refused: the workflow is no longer running`);
    const msg = (err as Error).message ?? '';
    if (/already completed|workflow execution already completed|not found/i.test(msg))
      throw new HttpError(409, `${what} refused: the workflow is closed`);
    throw err;
  }
}
