import client from 'prom-client';

/** What a paid inference call came to, as PaidCalls sees it. */
export type PaidCallResult = 'paid' | 'free' | 'refused' | 'failed';

/** Where PaidCalls reports each call: counted in this API process. */
export interface PaidCallMeter {
  /** A call answered: its fee (0 for a free model) is committed. */
  charged(model: string, fee: bigint): void;
  /** 402: the payer could not cover the fee (nothing charged). */
  refused(model: string): void;
  /** 503: the fee could not be committed (nothing answered). */
  failed(model: string): void;
}

/**
 * Paid calls and fees by model, counted where the call happens. Per replica: dashboards `sum`
 * them across API pods (rates survive a pod's restart). The model label is bounded: a call is
 * counted only once its model was found, and every model is named by a passed proposal.
 */
export function paidCallMeter(registry: client.Registry): PaidCallMeter {
  const calls = new client.Counter({
    name: 'commons_paid_calls_total',
    help: 'Paid inference calls by model and result: paid, free (fee 0), refused (402, cannot pay), failed (503, fee not committed)',
    labelNames: ['model', 'result'],
    registers: [registry],
  });
  const fees = new client.Counter({
    name: 'commons_paid_call_fee_units_total',
    help: 'Fees committed for paid inference calls, by model (OPEN base units)',
    labelNames: ['model'],
    registers: [registry],
  });
  // Labelled children kept per model: the paid path skips prom-client's label hashing per call.
  const children = new Map<
    string,
    { byResult: Record<PaidCallResult, client.Counter.Internal>; fee: client.Counter.Internal }
  >();
  const of = (model: string) => {
    let c = children.get(model);
    if (!c) {
      c = {
        byResult: {
          paid: calls.labels({ model, result: 'paid' }),
          free: calls.labels({ model, result: 'free' }),
          refused: calls.labels({ model, result: 'refused' }),
          failed: calls.labels({ model, result: 'failed' }),
        },
        fee: fees.labels({ model }),
      };
      // Every result starts at 0, so a ratio of failed to all calls exists before the first failure.
      for (const child of [...Object.values(c.byResult), c.fee]) child.inc(0);
      children.set(model, c);
    }
    return c;
  };
  return {
    charged(model, fee) {
      const c = of(model);
      if (fee > 0n) {
        c.byResult.paid.inc();
        c.fee.inc(Number(fee));
      } else c.byResult.free.inc();
    },
    refused: (model) => of(model).byResult.refused.inc(),
    failed: (model) => of(model).byResult.failed.inc(),
  };
}
