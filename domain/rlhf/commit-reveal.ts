// Commit–reveal for review answers: during the answer window a reviewer submits only
// commitment = SHA-256("commons-review-v1" ‖ 0x00 ‖ taskId ‖ 0x00 ‖ reviewer ‖ 0x00 ‖ choice ‖ 0x00 ‖ salt)
// (hex); after the window closes they reveal (choice, salt). Nobody, including the coordinator,
// sees an answer before every answer is fixed, so copying others' answers is impossible. A reveal
// counts only if it matches its commitment; a commitment never revealed counts as an assigned but
// unanswered item (no reward, and the API may treat repeated non-reveals as disagreement).
// The task id and reviewer are bound into the hash so a commitment cannot be replayed elsewhere.
// Uses node:crypto: call it from activities or the API, not from workflow code.
import { createHash } from 'node:crypto';

const DOMAIN_TAG = 'commons-review-v1';

export function reviewCommitment(a: { taskId: string; reviewer: string; choice: string; salt: string }): string {
  if (a.salt.length < 16) throw new Error('commit-reveal: salt must be at least 16 characters');
  return createHash('sha256')
    .update([DOMAIN_TAG, a.taskId, a.reviewer, a.choice, a.salt].join('\u0000'), 'utf8')
    .digest('hex');
}

/** True when (choice, salt) opens the commitment for this task and reviewer. */
export function verifyReveal(
  commitment: string,
  a: { taskId: string; reviewer: string; choice: string; salt: string },
): boolean {
  if (a.salt.length < 16 || !/^[0-9a-f]{64}$/.test(commitment)) return false;
  return reviewCommitment(a) === commitment;
}
