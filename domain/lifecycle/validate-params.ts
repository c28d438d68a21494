import { PARAM_BOUNDS, boundViolation } from './param-bounds.js';
import type { LifecycleParams } from './types.js';

function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Reasons a merged parameter set is unusable (empty when fine): a 400 before any workflow starts. */
export function validateParams(p: LifecycleParams): string[] {
  const errs: string[] = [];
  for (const [path, bound] of Object.entries(PARAM_BOUNDS)) {
    const v = at(p, path);
    if (v === undefined && bound.kind === 'integer' && bound.optional) continue;
    const why = boundViolation(path, v, bound);
    if (why) errs.push(why);
  }
  if (!Array.isArray(p.collection.keywords) || p.collection.keywords.some((k) => typeof k !== 'string'))
    errs.push('collection.keywords must be a list of strings');
  if (typeof p.training.trainer !== 'string') errs.push('training.trainer must be a string');
  const s = p.serving.shares;
  const parts = [s.developer, s.contributors, s.reviewers, s.governors, s.treasury];
  // Only numbers are summed: a string share would turn the sum into text or NaN and slip past the check.
  if (parts.every((v) => typeof v === 'number' && v >= 0)) {
    const sum = parts.reduce((a, v) => a + v, 0);
    if (Math.abs(sum - 1) > 1e-9) errs.push(`serving.shares must sum to 1 (got ${sum})`);
  }
  return errs;
}
