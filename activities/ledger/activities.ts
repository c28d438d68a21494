import { refundHeldDeposits } from '../../db/queries/curation.js';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../deps.js';
import { InsufficientFundsError } from '../../db/ledger.js';
import { accountsOf } from '../../contracts/accounts.js';
import { payFromBudget, releaseBudget, reserveBudget, type BudgetPayment } from '../../db/budgets.js';
import { findTransferByKey } from '../../db/queries/transfers.js';
import { cancelDatanetOf, datanetIdsOfProposal } from '../../db/queries/datanets.js';
import { cancelOpenReviewTasks } from '../../db/queries/reviews.js';
import { abandonCandidateVersions } from '../../db/queries/models.js';

/** Escrow moves for a proposal's stake and its budget. Keys are per proposal, so every retry moves money once. */
export function createLedgerActivities({ ledger, sql }: Pick<ActivityDeps, 'ledger' | 'sql'>) {
  const escrowKey = (id: string) => `proposal:${id}:escrow`;
  const closeKey = (id: string) => `proposal:${id}:escrow-close`;

  /** Moves whatever was escrowed out of escrow, once: refund, release and slash share one key. */
  async function closeEscrow(proposalId: string, to: string, reason: string) {
    const escrowed = await findTransferByKey(sql, escrowKey(proposalId));
    if (!escrowed) return { moved: '0' };
    const r = await ledger.transfer({
      idempotencyKey: closeKey(proposalId),
      asset: 'OPEN',
      from: accountsOf.escrow(proposalId),
      to: to === 'proposer' ? escrowed.from : to,
      amount: String(escrowed.amount),
      reason,
      proposalId,
    });
    return { moved: String(escrowed.amount), applied: r.applied };
  }

  /**
   * Every deposit the proposal's Datanet still holds goes back to its contributor: each ending
   * (serving, a failed gate, a failure, a cancellation) runs this, once or more; each record has
   * one settlement key, so its deposit moves once whichever ending or retry gets there first.
   */
  async function refundDepositsAtEnd(proposalId: string): Promise<number> {
    let refunded = 0;
    for (const id of await datanetIdsOfProposal(sql, proposalId))
      refunded += await sql.begin((tx) => refundHeldDeposits(tx, id, proposalId));
    return refunded;
  }

  return {
    async escrowStake(a: { proposalId: string; proposer: string; amount: string }) {
      try {
        await ledger.transfer({
          idempotencyKey: escrowKey(a.proposalId),
          asset: 'OPEN',
          from: a.proposer,
          to: accountsOf.escrow(a.proposalId),
          amount: a.amount,
          reason: 'proposal stake',
          proposalId: a.proposalId,
        });
      } catch (err) {
        if (err instanceof InsufficientFundsError)
          throw ApplicationFailure.nonRetryable(err.message, 'InsufficientFundsError');
        throw err;
      }
    },
    refundStake: (a: { proposalId: string; reason: string }) =>
      closeEscrow(a.proposalId, 'proposer', `stake refunded: ${a.reason}`),
    releaseStake: (a: { proposalId: string }) =>
      closeEscrow(a.proposalId, 'proposer', 'stake returned after deployment'),
    slashStake: (a: { proposalId: string; reason: string }) =>
      closeEscrow(a.proposalId, accountsOf.treasury, `stake slashed: ${a.reason}`),
    /**
     * Reserves the budget the governors approved by passing the proposal (treasury →
     * budget:proposal:<id>). A treasury that cannot cover it fails the stage (not retried), and
     * the lifecycle compensates: stake refunded, nothing reserved.
     */
    async reserveBudget(a: { proposalId: string; amount: string }) {
      try {
        return await reserveBudget(sql, a);
      } catch (err) {
        if (err instanceof InsufficientFundsError)
          throw ApplicationFailure.nonRetryable(
            `the treasury cannot reserve the approved budget of ${a.amount} OPEN: ${err.message}`,
            'InsufficientFundsError',
          );
        throw err;
      }
    },
    /**
     * The lifecycle has ended (serving or a failed gate): what is left of the proposal's budget goes
     * back to the treasury, and the deposits of records nobody decided back to their contributors
     * (a curator's decision from now on moves no money).
     */
    async closeBudget(a: { proposalId: string }) {
      await refundDepositsAtEnd(a.proposalId);
      return releaseBudget(ledger, a.proposalId);
    },
    /**
     * Pays for a proposal from its reserved budget, at most what is left (see db/budgets.ts); the
     * activity review rounds and reward settlements call to pay anyone for a proposal's work.
     */
    payFromBudget: (a: BudgetPayment) => payFromBudget(ledger, a),
    /**
     * Ends a lifecycle that will not serve (cancelled or a stage failed): the escrow is refunded
     * (or slashed, if the rule says so) if still held, the Datanet and open review tasks are
     * closed, and a version the lifecycle staged but never made production is marked abandoned.
     * Every step is idempotent, so the activity may be retried or run twice.
     */
    async compensate(a: { proposalId: string; reason: string; escrow?: 'refund' | 'slash' }) {
      const moved =
        a.escrow === 'slash'
          ? await closeEscrow(a.proposalId, accountsOf.treasury, `stake slashed: ${a.reason}`)
          : await closeEscrow(a.proposalId, 'proposer', `stake refunded: ${a.reason}`);
      // Cancelled first: contributions in flight finish before it, later ones are refused, so the
      // refund below sees every deposit the Datanet will ever hold.
      await cancelDatanetOf(sql, a.proposalId);
      await refundDepositsAtEnd(a.proposalId);
      await cancelOpenReviewTasks(sql, a.proposalId);
      await abandonCandidateVersions(sql, a.proposalId);
      await releaseBudget(ledger, a.proposalId); // nothing reserved: nothing moves
      return moved;
    },
  };
}
