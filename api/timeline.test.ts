import { describe, expect, it } from 'vitest';
import { stageSpans } from './timeline.js';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const history = [
  { stage: 'proposed' as const, at: t0 },
  { stage: 'governance' as const, at: t0 + 1000 },
  { stage: 'data-collection' as const, at: t0 + 4000 },
];

describe('stageSpans', () => {
  it('times each stage to the next one and a running stage to now', () => {
    const spans = stageSpans(history, { status: 'running', now: new Date(t0 + 10_000) });
    expect(spans.map((s) => [s.stage, s.durationMs, s.current])).toEqual([
      ['proposed', 1000, false],
      ['governance', 3000, false],
      ['data-collection', 6000, true],
    ]);
    expect(spans[0]!.endedAt).toBe(new Date(t0 + 1000).toISOString());
    expect(spans[2]!.endedAt).toBeNull();
  });

  it('ends the last stage of a lifecycle that failed when it ended', () => {
    const spans = stageSpans(history, {
      status: 'failed-gate',
      endedAt: new Date(t0 + 5000),
      now: new Date(t0 + 60_000),
    });
    expect(spans[2]).toMatchObject({ durationMs: 1000, current: false, endedAt: new Date(t0 + 5000).toISOString() });
  });

  it('keeps a serving model in serving', () => {
    const spans = stageSpans([...history, { stage: 'serving', at: t0 + 8000 }], {
      status: 'serving',
      endedAt: new Date(t0 + 8000),
      now: new Date(t0 + 9000),
    });
    expect(spans.at(-1)).toMatchObject({ stage: 'serving', durationMs: 1000, current: true, endedAt: null });
  });

  it('has no stages before the lifecycle recorded one', () => {
    expect(stageSpans([], { status: 'running', now: new Date() })).toEqual([]);
  });
});
