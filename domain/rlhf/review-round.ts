// Pure steps of a staked review round that the round workflow runs (deterministic: no I/O, no
// Math.random; the seed is the round's committed seed, round-seed.ts). The settlement rules are in
// stake-consensus.ts, the draw in assignment.ts.
import { assignTasks, seedOf, type AssignableReviewer, type Assignment } from './assignment.js';
import { itemWeights, stakeConsensus, DEFAULT_REVIEW_RULES } from './stake-consensus.js';
import { mulberry32 } from '../prng.js';

/**
 * The tasks in a seeded order, so gold items sit among the others rather than at the end (the
 * order is also the draw order of assignTasks, so it must not reveal which items are gold).
 */
export function shuffleTasks<T>(items: readonly T[], seed: string): T[] {
  const out = [...items];
  const rand = mulberry32(seedOf(`${seed}:order`));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface RoundAnswer {
  reviewer: string;
  choice: string;
}

/**
 * Items whose answers lack a clear stake majority: the best candidate's share of the answering
 * stake is below `minSupport` (or no staked answer at all). Gold items are never extended (their
 * answer is known). With `assigned` (the weighted reviewers of each item), each answer weighs what
 * settlement will weigh it: its stake bounded by the others on the item (itemWeights).
 */
export function lowAgreementItems(a: {
  items: readonly { id: string; candidates: readonly string[]; gold: boolean }[];
  answers: ReadonlyMap<string, readonly RoundAnswer[]>;
  stakes: ReadonlyMap<string, bigint>;
  minSupport: number;
  kappa?: number;
  assigned?: ReadonlyMap<string, Iterable<string>>;
}): string[] {
  const low: string[] = [];
  for (const item of a.items) {
    if (item.gold) continue;
    const on = a.assigned?.get(item.id);
    const weights = on ? itemWeights(new Map([...on].map((r) => [r, a.stakes.get(r) ?? 0n]))) : a.stakes;
    const answers = (a.answers.get(item.id) ?? []).map((x) => ({ ...x, stake: weights.get(x.reviewer) ?? 0n }));
    const c = stakeConsensus(item.candidates, answers, a.kappa ?? DEFAULT_REVIEW_RULES.kappa);
    if (!c.resolved || c.support < a.minSupport) low.push(item.id);
  }
  return low;
}

/**
 * The bounded extension: up to `extra` more reviewers per low-agreement item, drawn by stake among
 * eligible reviewers not already assigned to it, none taking more than `cap` tasks in the round in
 * all. Returns only the new assignments.
 */
export function extendAssignments(a: {
  itemIds: readonly string[];
  assignments: readonly Assignment[];
  reviewers: readonly AssignableReviewer[];
  extra: number;
  cap: number;
  seed: string;
}): Assignment[] {
  const load = new Map<string, number>();
  const onItem = new Map<string, Set<string>>();
  for (const x of a.assignments) {
    onItem.set(x.taskId, new Set(x.reviewers));
    for (const r of x.reviewers) load.set(r, (load.get(r) ?? 0) + 1);
  }
  const out: Assignment[] = [];
  for (const id of a.itemIds) {
    const taken = onItem.get(id) ?? new Set<string>();
    const pool = a.reviewers.filter((r) => !taken.has(r.reviewer) && (load.get(r.reviewer) ?? 0) < a.cap);
    const [drawn] = assignTasks({
      taskIds: [id],
      reviewers: pool,
      perTask: a.extra,
      capPerReviewer: 1,
      seed: `${a.seed}:extend:${id}`,
    });
    const reviewers = drawn?.reviewers ?? [];
    for (const r of reviewers) load.set(r, (load.get(r) ?? 0) + 1);
    if (reviewers.length > 0) out.push({ taskId: id, reviewers });
  }
  return out;
}
