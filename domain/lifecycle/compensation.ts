import type { LifecycleStatus, Stage } from './types.js';

/**
 * What ends a lifecycle that did not reach `serving`: the final status, what happens to the stake
 * in escrow, and the reason recorded on the proposal.
 *
 * The rule: the stake is slashed only by a governance veto (decided in the governance stage).
 * Every other ending after the stake was escrowed refunds it: cancellation (by the proposer or by
 * ops), and any failure of a stage: a trainer that keeps failing, a trainer no worker offers, a
 * ledger transfer that runs short, a lost promotion race, or a bug. After a passed vote the
 * parameters (trainer name included) are what the governors approved, and a failure cannot be
 * told apart from an operator's or a worker's fault, so it never costs the proposer the stake.
 */
export interface Ending {
  status: Extract<LifecycleStatus, 'cancelled' | 'failed'>;
  escrow: 'refund' | 'slash';
  reason: string;
}

export interface FailureFacts {
  stage: Stage;
  cancelled: boolean;
  /** The innermost failure's ApplicationFailure type (or error name), when known. */
  type?: string;
  /** The innermost failure's message. */
  message: string;
}

export function endingFor(f: FailureFacts): Ending {
  if (f.cancelled)
    return {
      status: 'cancelled',
      escrow: 'refund',
      reason: 'cancelled: escrow refunded, open Datanet and review tasks closed',
    };
  const cause = f.type ? `${f.type}: ${f.message}` : f.message;
  return {
    status: 'failed',
    escrow: 'refund',
    reason: `${f.stage} failed (${cause}): stake refunded, open Datanet and review tasks closed`,
  };
}
