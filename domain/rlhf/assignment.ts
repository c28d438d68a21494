// Seeded, stake-weighted random assignment of review tasks with a per-reviewer cap.
// Pure and deterministic given the seed (no Node built-ins, no Math.random), so workflow code may
// call it: the same (tasks, reviewers, seed) always yields the same assignment.
//
// Rule: eligible reviewers have bonded stake > 0 and are not paused by the gold gate. Tasks are
// filled in the order given; each task draws `perTask` distinct reviewers without replacement,
// each draw choosing among eligible reviewers below `capPerReviewer` with probability
// proportional to stake. A task gets fewer reviewers only when too few are below the cap.
// Stake, not account count, decides who reviews: an account with no stake is never assigned, and
// splitting stake over k accounts leaves the expected share of slots unchanged.
//
// Paused reviewers (below the gold gate) are drawn by assignPausedReviewers: the same rule over the
// same task order, among paused reviewers only, on a seed of their own. Their tasks are an ordinary
// mix (the draw never sees which items are gold, so a paused account learns nothing about gold items
// that an active one would not), and they come on top of the active draw: a paused reviewer never
// takes one of the `perTask` slots of active reviewers, so an item's weighted coverage is the same
// whether or not anyone is paused. Only their gold answers count (stake-consensus.ts).
import { fmix32 } from '../hash32.js';
import { mulberry32 } from '../prng.js';

export interface AssignableReviewer {
  reviewer: string;
  stake: bigint;
  paused?: boolean;
}

export interface Assignment {
  taskId: string;
  reviewers: string[];
}

/** 32-bit seed from a string (FNV-1a, then fmix32) or a number. */
export function seedOf(seed: string | number): number {
  if (typeof seed === 'number') return fmix32(seed >>> 0);
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h >>> 0);
}

/** A draw: tasks in order, the reviewers to draw from, slots per task, tasks per reviewer, the seed. */
export interface DrawInput {
  taskIds: readonly string[];
  reviewers: readonly AssignableReviewer[];
  perTask: number;
  capPerReviewer: number;
  seed: string | number;
}

export function assignTasks(a: DrawInput): Assignment[] {
  const rand = mulberry32(seedOf(a.seed));
  const pool = a.reviewers
    .filter((r) => r.stake > 0n && !r.paused)
    .map((r) => ({ reviewer: r.reviewer, weight: Number(r.stake), load: 0 }))
    .sort((x, y) => (x.reviewer < y.reviewer ? -1 : x.reviewer > y.reviewer ? 1 : 0));
  const out: Assignment[] = [];
  for (const taskId of a.taskIds) {
    const chosen: string[] = [];
    const taken = new Set<number>();
    for (let slot = 0; slot < a.perTask; slot++) {
      let total = 0;
      pool.forEach((p, i) => {
        if (!taken.has(i) && p.load < a.capPerReviewer) total += p.weight;
      });
      if (total <= 0) break;
      let u = rand() * total;
      let pick = -1;
      for (const [i, p] of pool.entries()) {
        if (taken.has(i) || p.load >= a.capPerReviewer) continue;
        pick = i;
        u -= p.weight;
        if (u < 0) break;
      }
      const p = pool[pick];
      if (!p) break;
      taken.add(pick);
      p.load++;
      chosen.push(p.reviewer);
    }
    out.push({ taskId, reviewers: chosen });
  }
  return out;
}

/**
 * The draw of paused reviewers (see the header): assignTasks among the paused reviewers with stake,
 * `perTask` of them per task at most, each within `capPerReviewer`, seeded apart from the active
 * draw (`<seed>:paused`) so adding or removing a paused reviewer leaves the active draw unchanged.
 */
export function assignPausedReviewers(a: DrawInput): Assignment[] {
  return assignTasks({
    ...a,
    reviewers: a.reviewers.filter((r) => r.paused === true).map((r) => ({ reviewer: r.reviewer, stake: r.stake })),
    seed: `${a.seed}:paused`,
  }).filter((x) => x.reviewers.length > 0);
}
