import type { CommonsClient } from '../client/commons-client.js';
import type { ReviewTask } from '../api/schemas/reviews.js';

/**
 * The steps every simulated lifecycle takes through the public API, whatever the model: waiting
 * for voting to open, governors handing back their power, waiting for the Datanet, and reviewers
 * answering their assigned tasks until the review stage ends. The scenarios differ only in who
 * takes part and how a reviewer picks an answer.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the power snapshot is taken and voting is open (a vote before that is refused).
 * Throws after `timeoutMs`, saying where the lifecycle is, rather than letting the votes fail.
 */
export async function waitForVotingOpen(
  developer: CommonsClient,
  proposalId: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const t = await developer.tally(proposalId).catch(() => undefined);
    if (t?.open) return;
    await sleep(200);
  }
  const s = await developer.proposal(proposalId).catch(() => undefined);
  throw new Error(
    `voting on ${proposalId} did not open within ${timeoutMs / 1000} s (stage ${s?.stage ?? '?'}, status ${s?.status ?? '?'}); are the lifecycle workers running?`,
  );
}

/**
 * Simulated governors exist for one proposal: once the vote is closed they hand their gOPEN to the
 * treasury, so the power of finished simulations never dilutes the next one's quorum.
 */
export async function retireGovernors(governors: CommonsClient[]): Promise<void> {
  for (const g of governors) {
    const { balances } = await g.account();
    if (balances.gOPEN !== '0') await g.transfer('treasury', 'gOPEN', balances.gOPEN);
  }
}

/** The collection child opens the Datanet as its first step. */
export async function waitForDatanetOpen(developer: CommonsClient, proposalId: string): Promise<void> {
  for (let i = 0; ; i++) {
    const d = await developer.datanet(proposalId).catch(() => undefined);
    if (d?.status === 'open') return;
    if (i > 200) throw new Error('the Datanet did not open');
    await sleep(100);
  }
}

/**
 * Each reviewer answers each task assigned to it, once, with `choose`'s pick, until the lifecycle
 * leaves the review stage. Returns how many answers were given.
 */
export async function answerReviews(
  developer: CommonsClient,
  proposalId: string,
  reviewers: CommonsClient[],
  choose: (reviewer: CommonsClient, task: ReviewTask) => string | undefined,
  pollMs: number,
): Promise<number> {
  const answered = new Set<string>();
  for (;;) {
    const s = await developer.proposal(proposalId);
    if (s.stage !== 'rlhf' || s.status !== 'running') return answered.size;
    for (const r of reviewers) {
      for (const t of (await r.reviews(r.address)).tasks) {
        if (answered.has(`${t.id}:${r.address}`)) continue;
        const choice = choose(r, t);
        if (choice === undefined) continue; // a task without candidates cannot be answered
        try {
          await r.answerReview(t.id, choice);
          answered.add(`${t.id}:${r.address}`);
        } catch (err) {
          // Closed or already full: nothing more to do for this task. Anything else is retried.
          if ((err as { status?: number }).status === 409) answered.add(`${t.id}:${r.address}`);
        }
      }
    }
    await sleep(pollMs);
  }
}
