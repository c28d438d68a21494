import { describe, expect, it } from 'vitest';
import { bar, lifecycleFraction, renderStatusLine, stageDetail, type StatusView } from './progress-bar.js';

const training = (step: number, attempt = 1): StatusView => ({
  stage: 'training',
  status: 'running',
  progress: {
    activities: [
      {
        activity: 'trainModel',
        attempt,
        details: { phase: 'train', step, totalSteps: 400, loss: 0.41234567, epoch: 1 },
      },
    ],
  },
});

describe('progress bar rendering', () => {
  it('draws a bar of the given width, clamped to 0..1', () => {
    expect(bar(0, 10)).toBe('░'.repeat(10));
    expect(bar(0.5, 10)).toBe('█'.repeat(5) + '░'.repeat(5));
    expect(bar(2, 4, true)).toBe('####');
    expect(bar(Number.NaN, 4, true)).toBe('----');
  });

  it('advances by stage, and within training by the heartbeat step', () => {
    const proposed = lifecycleFraction({ stage: 'proposed', status: 'running' });
    const governance = lifecycleFraction({ stage: 'governance', status: 'running' });
    const early = lifecycleFraction(training(40));
    const late = lifecycleFraction(training(360));
    const rlhf = lifecycleFraction({ stage: 'rlhf', status: 'running' });
    expect(proposed).toBe(0);
    expect(governance).toBeGreaterThan(proposed);
    expect(early).toBeGreaterThan(governance);
    expect(late).toBeGreaterThan(early);
    expect(rlhf).toBeGreaterThan(late);
    expect(lifecycleFraction({ stage: 'serving', status: 'serving' })).toBe(1);
    expect(lifecycleFraction({ stage: 'nonsense', status: 'running' })).toBe(0);
  });

  it('shows the step, total steps and loss from the training heartbeat, and retries', () => {
    const line = renderStatusLine(training(120), { barWidth: 10, ascii: true });
    expect(line).toMatch(/^\[#+-+\] +\d+% training \(4\/7\) running · step 120\/400 loss 0\.4123$/);
    expect(stageDetail(training(5, 3))).toBe('step 5/400 loss 0.4123 (attempt 3)');
  });

  it('shows the governance tally, Datanet counts and review answers in their stages', () => {
    expect(
      stageDetail({
        stage: 'governance',
        status: 'running',
        lifecycle: { governance: { tally: { yes: '10', no: '0', abstain: '0', veto: '5', total: '100' } } },
      }),
    ).toBe('yes 10 no 0 abstain 0 veto 5 of 100');
    const collecting: StatusView = {
      stage: 'data-collection',
      status: 'running',
      progress: { collection: { phase: 'window', received: 50, scored: 0, accepted: 0, targetCount: 100 } },
    };
    expect(stageDetail(collecting)).toBe('window: 50/100 received, 0 scored, 0 passing');
    const base = lifecycleFraction({ stage: 'data-collection', status: 'running' });
    expect(lifecycleFraction(collecting)).toBeGreaterThan(base);
    const review: StatusView = {
      stage: 'rlhf',
      status: 'running',
      progress: {
        round: {
          round: 2,
          tasks: [
            { answers: 3, required: 3 },
            { answers: 1, required: 3 },
          ],
        },
      },
    };
    expect(stageDetail(review)).toBe('round 2: 1/2 tasks answered');
  });

  it('shows the reason of a finished lifecycle and fits the terminal width', () => {
    const done = renderStatusLine(
      { stage: 'governance', status: 'expired', reason: 'quorum not reached' },
      { ascii: true },
    );
    expect(done).toContain('governance (2/7) expired (quorum not reached)');
    const narrow = renderStatusLine(training(120), { width: 30 });
    expect(narrow).toHaveLength(30);
    expect(narrow.endsWith('…')).toBe(true);
  });
});
