import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { Ledger, TransferInput } from '../../db/ledger.js';
import { insertInferenceCalls, markCallsSettled } from '../../db/queries/inference-calls.js';

export interface PaidCall {
  callId: string;
  modelName: string;
  version: number;
  proposalId: string;
  apiKeyId: string;
  payer: string;
  fee: bigint;
  splits: { to: string; amount: bigint; part: string }[];
  attribution: unknown;
}

/**
 * Paid calls are answered at once and settled in the ledger in batches (one transaction per flush),
 * so the endpoint does not wait on a Postgres round trip per call. Until a call is flushed its fee
 * is held against the payer's balance here, so a payer cannot spend the same OPEN twice.
 */
export class FeeBatcher {
  private queue: PaidCall[] = [];
  private held = new Map<string, bigint>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private balances = new Map<string, { amount: bigint; at: number }>();

  constructor(
    private readonly sql: postgres.Sql,
    private readonly ledger: Ledger,
    private readonly opts: {
      maxBatch?: number;
      maxDelayMs?: number;
      maxBacklog?: number;
      onError?: (err: unknown) => void;
    } = {},
  ) {}

  /** True if the payer can cover `fee` on top of what is already held for unflushed calls. */
  async canPay(payer: string, fee: bigint): Promise<boolean> {
    const cached = this.balances.get(payer);
    let balance = cached && Date.now() - cached.at < 1000 ? cached.amount : undefined;
    if (balance === undefined) {
      balance = BigInt(await this.ledger.balance(payer, 'OPEN'));
      this.balances.set(payer, { amount: balance, at: Date.now() });
    }
    return balance - (this.held.get(payer) ?? 0n) >= fee;
  }

  enqueue(call: PaidCall): void {
    this.queue.push(call);
    this.held.set(call.payer, (this.held.get(call.payer) ?? 0n) + call.fee);
    if (this.queue.length >= (this.opts.maxBatch ?? 2000)) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.opts.maxDelayMs ?? 100);
  }

  /** Writes every queued call: the inference_calls rows and their fee transfers, idempotent by call id. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(batch)).catch((err) => this.opts.onError?.(err));
    return this.flushing;
  }

  /**
   * One settlement per flush: the calls are recorded one by one (with their attribution), and the
   * money moves as one transfer per (payer, recipient, part) summed over the batch, keyed by the
   * settlement id, so a flush of thousands of calls is a handful of ledger rows and a retry moves
   * nothing twice. A payer whose transfers fail leaves its calls unsettled.
   */
  private async write(batch: PaidCall[]): Promise<void> {
    const settlementId = createHash('sha256')
      .update(
        batch
          .map((c) => c.callId)
          .sort()
          .join(','),
      )
      .digest('hex')
      .slice(0, 32);
    try {
      await insertInferenceCalls(this.sql, settlementId, batch);
      const sums = new Map<
        string,
        { payer: string; to: string; part: string; proposalId: string; model: string; amount: bigint; calls: number }
      >();
      for (const c of batch) {
        for (const s of c.splits) {
          const key = `${c.payer}|${s.to}|${s.part}|${c.proposalId}`;
          const e = sums.get(key) ?? {
            payer: c.payer,
            to: s.to,
            part: s.part,
            proposalId: c.proposalId,
            model: `${c.modelName}@${c.version}`,
            amount: 0n,
            calls: 0,
          };
          e.amount += s.amount;
          e.calls++;
          sums.set(key, e);
        }
      }
      const transfers: TransferInput[] = [...sums.values()]
        .filter((e) => e.amount > 0n)
        .map((e) => ({
          idempotencyKey: `infer:${settlementId}:${e.payer}:${e.to}:${e.part}:${e.proposalId}`,
          asset: 'OPEN',
          from: e.payer,
          to: e.to,
          amount: e.amount.toString(),
          reason: `inference fee (${e.part})`,
          proposalId: e.proposalId,
          memo: { settlement: settlementId, calls: e.calls, model: e.model },
        }));
      const r = await this.ledger.transferMany(transfers);
      const failedPayers = new Set(r.failed.map((f) => f.transfer.from));
      const settled = batch.filter((c) => !failedPayers.has(c.payer)).map((c) => c.callId);
      if (settled.length) await markCallsSettled(this.sql, settled);
      if (r.failed.length)
        this.opts.onError?.(
          new Error(`${r.failed.length} fee transfers failed (payer short of funds); their calls are left unsettled`),
        );
    } finally {
      for (const c of batch) {
        const left = (this.held.get(c.payer) ?? 0n) - c.fee;
        if (left > 0n) this.held.set(c.payer, left);
        else this.held.delete(c.payer);
        this.balances.delete(c.payer);
      }
    }
  }

  /** Calls answered but not yet written; the endpoint waits for a flush when this grows too large. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Bounded memory: past `maxBacklog` queued calls, callers wait for the flush in progress. */
  async drainIfBacklogged(): Promise<void> {
    if (this.queue.length >= (this.opts.maxBacklog ?? 20_000)) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
