import { describe, expect, it } from 'vitest';
import { watchStatus } from './watch.js';
import type { StatusView } from './progress-bar.js';

function sequence(states: StatusView[]) {
  let i = 0;
  return () => {
    const s = states[Math.min(i++, states.length - 1)];
    return s ? Promise.resolve(s) : Promise.reject(new Error('no states'));
  };
}
const noSleep = () => Promise.resolve();
const t = (step: number): StatusView => ({
  stage: 'training',
  status: 'running',
  progress: { activities: [{ activity: 'trainModel', details: { step, totalSteps: 10, loss: 1 / step } }] },
});
const states: StatusView[] = [
  { stage: 'governance', status: 'running' },
  { stage: 'governance', status: 'running' },
  t(1),
  t(5),
  { stage: 'rlhf', status: 'failed-gate', reason: 'accuracy too low' },
];

describe('watchStatus', () => {
  it('redraws in place on a terminal, keeping one line per finished stage', async () => {
    let written = '';
    const final = await watchStatus(
      sequence(states),
      { write: (s: string) => (written += s), isTTY: true, columns: 200 },
      { sleep: noSleep },
    );
    expect(final.status).toBe('failed-gate');
    // Three stages → three lines; within training, the step is redrawn with \r and an erase.
    const [, training = '', last] = written.split('\n').filter(Boolean);
    expect(written.split('\n').filter(Boolean)).toHaveLength(3);
    expect(training).toContain('\r\x1b[2K');
    expect(
      training
        .split('\r\x1b[2K')
        .filter(Boolean)
        .map((l) => l.match(/step \d+/)?.[0]),
    ).toEqual(['step 1', 'step 5']);
    expect(last).toContain('rlhf (5/7) failed-gate (accuracy too low)');
    expect(written.endsWith('\n')).toBe(true);
  });

  it('prints a plain line per change otherwise', async () => {
    let written = '';
    await watchStatus(sequence(states), { write: (s: string) => (written += s) }, { sleep: noSleep });
    expect(written).not.toContain('\r');
    const lines = written.trimEnd().split('\n');
    expect(lines).toHaveLength(4); // the repeated governance poll prints nothing
    expect(lines.map((l) => l.split(' ').find((w) => ['governance', 'training', 'rlhf'].includes(w)))).toEqual([
      'governance',
      'training',
      'training',
      'rlhf',
    ]);
  });
});
