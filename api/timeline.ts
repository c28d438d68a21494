import type { Stage } from '../domain/lifecycle/types.js';

export interface StageSpan {
  stage: string;
  enteredAt: string;
  endedAt: string | null;
  durationMs: number;
  current: boolean;
}

/**
 * The stages a lifecycle entered with how long each lasted: until the next stage, or until the
 * lifecycle ended in it (`endedAt`, when the read model last changed), or until `now` while it is
 * still there (a serving model stays in `serving`).
 */
export function stageSpans(
  history: readonly { stage: Stage; at: number }[],
  o: { status: string; endedAt?: Date; now: Date },
): StageSpan[] {
  return history.map((h, i) => {
    const next = history[i + 1];
    const last = !next;
    const current = last && (o.status === 'running' || o.status === 'serving');
    const end = next ? next.at : current ? undefined : (o.endedAt?.getTime() ?? h.at);
    const until = end ?? o.now.getTime();
    return {
      stage: h.stage,
      enteredAt: new Date(h.at).toISOString(),
      endedAt: end === undefined ? null : new Date(end).toISOString(),
      durationMs: Math.max(0, Math.round(until - h.at)),
      current,
    };
  });
}
