import { describe, expect, it } from 'vitest';
import { endingFor } from './compensation.js';

describe('how a lifecycle that does not serve ends', () => {
  it('refunds on cancellation', () => {
    expect(endingFor({ stage: 'rlhf', cancelled: true, message: 'cancelled' })).toMatchObject({
      status: 'cancelled',
      escrow: 'refund',
    });
  });

  it('refunds on every stage failure and names the stage and the cause', () => {
    for (const [stage, type] of [
      ['training', 'UnknownTrainer'],
      ['training', undefined],
      ['rlhf', 'InsufficientFundsError'],
      ['deployment', 'IntegrityError'],
    ] as const) {
      const e = endingFor({ stage, cancelled: false, type, message: 'boom' });
      expect(e.status).toBe('failed');
      expect(e.escrow).toBe('refund');
      expect(e.reason).toContain(`${stage} failed (${type ? `${type}: ` : ''}boom)`);
      expect(e.reason).toContain('stake refunded');
    }
  });
});
