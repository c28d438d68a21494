/**
 * Pure rendering of a lifecycle's live status (GET /v1/proposals/:id) as one line with a progress
 * bar: the stage, and within it what is moving (governance tally, Datanet counts, training step and
 * loss from the activity heartbeat, review answers). No I/O, so it is unit-tested directly.
 */
import { STAGES } from '../domain/lifecycle/types.js';

export interface ActivityView {
  activity: string;
  attempt?: number;
  /** The activity's last heartbeat, as the worker sent it. */
  details?: unknown;
}

/** What a training (or DPO) step reports in its heartbeat. */
export interface TrainingHeartbeat {
  activity: string;
  attempt: number;
  step: number;
  totalSteps: number;
  loss?: number;
  phase?: string;
}

/** The parts of GET /v1/proposals/:id this rendering reads (ProposalResponse is one). */
export interface StatusView {
  stage: string;
  status: string;
  reason?: string | null;
  lifecycle?: {
    governance?: { tally?: { yes: string; no: string; abstain: string; veto: string; total: string } };
  } | null;
  progress?: {
    activities?: ActivityView[];
    collection?: { phase: string; received: number; scored: number; accepted: number; targetCount: number };
    round?: { round: number; tasks: { answers: number; required: number }[] };
  } | null;
}

/** The heartbeat of a running training (or DPO) step, if any. */
export function trainingHeartbeat(s: StatusView): TrainingHeartbeat | undefined {
  for (const a of s.progress?.activities ?? []) {
    const d = a.details;
    if (typeof d !== 'object' || d === null) continue;
    const { step, totalSteps, loss, phase } = d as Record<string, unknown>;
    if (typeof step !== 'number' || typeof totalSteps !== 'number') continue;
    return {
      activity: a.activity,
      attempt: a.attempt ?? 1,
      step,
      totalSteps,
      loss: typeof loss === 'number' ? loss : undefined,
      phase: typeof phase === 'string' ? phase : undefined,
    };
  }
  return undefined;
}

const clamp = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/** How far along the lifecycle is, 0..1: whole stages done plus the part of the current one. */
export function lifecycleFraction(s: StatusView): number {
  const i = STAGES.indexOf(s.stage as (typeof STAGES)[number]);
  if (i < 0) return 0;
  if (s.stage === 'serving') return 1;
  let within = 0;
  const hb = trainingHeartbeat(s);
  const c = s.progress?.collection;
  const round = s.progress?.round;
  if (hb) within = hb.step / Math.max(1, hb.totalSteps);
  else if (c)
    within =
      c.phase === 'window'
        ? 0.5 * (c.received / Math.max(1, c.targetCount))
        : 0.5 + 0.5 * (c.scored / Math.max(1, c.received));
  else if (round?.tasks.length) within = round.tasks.filter((t) => t.answers >= t.required).length / round.tasks.length;
  return clamp((i + clamp(within)) / (STAGES.length - 1));
}

export function bar(fraction: number, width: number, ascii = false): string {
  const f = clamp(fraction);
  const filled = Math.round(f * width);
  return ascii ? '#'.repeat(filled) + '-'.repeat(width - filled) : '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** What is moving inside the current stage, e.g. "step 120/400 loss 0.4123". */
export function stageDetail(s: StatusView): string {
  const parts: string[] = [];
  const g = s.lifecycle?.governance?.tally;
  if (s.stage === 'governance' && g)
    parts.push(`yes ${g.yes} no ${g.no} abstain ${g.abstain} veto ${g.veto} of ${g.total}`);
  const c = s.progress?.collection;
  if (c) parts.push(`${c.phase}: ${c.received}/${c.targetCount} received, ${c.scored} scored, ${c.accepted} passing`);
  const round = s.progress?.round;
  if (round)
    parts.push(
      `round ${round.round}: ${round.tasks.filter((t) => t.answers >= t.required).length}/${round.tasks.length} tasks answered`,
    );
  const hb = trainingHeartbeat(s);
  if (hb) {
    const loss = hb.loss !== undefined && Number.isFinite(hb.loss) ? ` loss ${hb.loss.toFixed(4)}` : '';
    parts.push(
      `${hb.phase && hb.phase !== 'train' ? `${hb.phase} ` : ''}step ${hb.step}/${hb.totalSteps}${loss}${hb.attempt > 1 ? ` (attempt ${hb.attempt})` : ''}`,
    );
  }
  return parts.join(' · ');
}

/**
 * One status line: `[██████░░░░] 43% training (4/7) running · step 120/400 loss 0.4123`.
 * `width` bounds the whole line (the terminal's columns) so an in-place redraw never wraps.
 */
export function renderStatusLine(
  s: StatusView,
  opts: { barWidth?: number; width?: number; ascii?: boolean } = {},
): string {
  const f = lifecycleFraction(s);
  const i = STAGES.indexOf(s.stage as (typeof STAGES)[number]);
  const pos = i >= 0 ? ` (${i + 1}/${STAGES.length})` : '';
  const detail = stageDetail(s);
  const reason = s.reason && s.status !== 'running' ? ` (${s.reason})` : '';
  const line = `[${bar(f, opts.barWidth ?? 24, opts.ascii)}] ${String(Math.round(f * 100)).padStart(3)}% ${s.stage}${pos} ${s.status}${reason}${detail ? ` · ${detail}` : ''}`;
  if (opts.width && line.length > opts.width) return line.slice(0, Math.max(0, opts.width - 1)) + '…';
  return line;
}
