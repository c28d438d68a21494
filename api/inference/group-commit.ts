import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import {
  lockBalances,
  postTransfersOnLockedBalances,
  reservedTransaction,
  type TransferInput,
} from '../../db/ledger.js';
import { insertInferenceCalls } from '../../db/queries/inference-calls.js';
import { chargeOf } from '../../domain/serving/fee-split.js';

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
  /** The attributed records, named on the receipt. */
  records?: unknown;
  /** SHA-256 of the request's input, named on the receipt. */
  inputHash?: string;
  /** The caller's end-user id (OpenAI's `user`), kept on the receipt. */
  endUser?: string;
}

/** The payer's balance, read under lock in the batch's transaction, does not cover this call. */
export class PaymentRefusedError extends Error {
  override readonly name = 'PaymentRefusedError';
  constructor(
    readonly payer: string,
    readonly charge: bigint,
    readonly available: bigint,
  ) {
    super(
      `the API key's owner ${payer} has ${available} OPEN available, less than the ${charge} OPEN this call costs (nothing was charged)`,
    );
  }
}

interface Pending {
  call: PaidCall;
  /** What the payer pays: the fee less any part that would go to the payer itself. */
  charge: bigint;
  transfers: { to: string; amount: bigint; part: string }[];
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface GroupCommitOptions {
  /** A batch is committed as soon as it holds this many calls… */
  maxBatch?: number;
  /** …or this long after its first call arrived, whichever comes first. */
  maxDelayMs?: number;
  /**
   * Batches committing at the same time (each is one transaction on its own connection). 1 by
   * default: a batch costs the API about 0.8 ms of CPU whatever its size (its statements, socket
   * writes and answers), so under load the calls that queue behind the batch in flight make one
   * larger batch instead of two half-size ones (docs/design.md, "Inference fees").
   */
  maxInFlight?: number;
  onError?: (err: unknown) => void;
}

/**
 * Group commit of paid inference calls: a call is answered only once its charge is durable. Calls
 * join a batch; each batch is ONE Postgres transaction that locks the balance rows it touches (in
 * the ledger's lock order), admits each call against the payer's real balance in arrival order,
 * inserts the admitted calls' rows with their attribution, and moves the money as one transfer per
 * (payer, recipient, part) keyed by the batch. A call its payer cannot cover is refused on its own;
 * the rest of the batch commits. Nothing is held in memory between batches, so the limit holds across
 * API replicas, and a crash loses only calls that were never answered.
 */
export class FeeGroupCommit {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private closed = false;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly opts: GroupCommitOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 256;
    this.maxDelayMs = opts.maxDelayMs ?? 2;
    this.maxInFlight = opts.maxInFlight ?? 1;
  }

  /**
   * Resolves once the call's row and its fee transfers are committed; rejects with
   * PaymentRefusedError when the payer cannot cover it, or with the database error when the batch
   * could not be committed (then nothing of it was written, unless the commit itself was cut off).
   */
  charge(call: PaidCall): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the API is shutting down'));
    const { transfers, charge } = chargeOf(call.payer, call.splits);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ call, charge, transfers, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.maxDelayMs);
    });
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.inFlight.size < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      const p: Promise<void> = this.commit(batch).finally(() => {
        this.inFlight.delete(p);
        // Calls that queued while this batch committed have waited long enough: go now.
        if (this.queue.length > 0) this.kick();
      });
      this.inFlight.add(p);
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const batchId = randomUUID().replace(/-/g, '');
    try {
      const { admitted, refused } = await this.commitBatch(batchId, batch);
      for (const p of admitted) p.resolve();
      for (const r of refused) r.p.reject(new PaymentRefusedError(r.p.call.payer, r.p.charge, r.available));
    } catch (err) {
      this.opts.onError?.(err);
      for (const p of batch) p.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * The batch's transaction in three round trips on a reserved connection (pipelined statements
   * run in order, each with its own sync): BEGIN with the balance locks; the call rows with the
   * transfers and their balance changes; COMMIT, sent only once both writes succeeded (else
   * ROLLBACK), so nothing of a failed batch is ever written.
   */
  private async commitBatch(
    batchId: string,
    batch: Pending[],
  ): Promise<{ admitted: Pending[]; refused: { p: Pending; available: bigint }[] }> {
    const accounts = new Set<string>();
    for (const p of batch) {
      accounts.add(p.call.payer);
      for (const t of p.transfers) accounts.add(t.to);
    }
    const tx = await this.sql.reserve();
    let open = false;
    try {
      const [, balances] = await Promise.all([
        reservedTransaction.begin(tx).then(() => (open = true)),
        lockBalances(tx, 'OPEN', [...accounts]),
      ]);
      const available = new Map<string, bigint>();
      const admitted: Pending[] = [];
      const refused: { p: Pending; available: bigint }[] = [];
      for (const p of batch) {
        const left = available.get(p.call.payer) ?? balances.get(p.call.payer) ?? 0n;
        if (p.charge <= left) {
          available.set(p.call.payer, left - p.charge);
          admitted.push(p);
        } else refused.push({ p, available: left });
      }
      if (admitted.length > 0) {
        const written = await Promise.allSettled([
          insertInferenceCalls(
            tx,
            batchId,
            admitted.map(({ call: c }) => ({
              ...c,
              splits: c.splits.map((s) => ({
                to: s.to,
                part: s.part,
                amount: s.amount.toString(),
                transfer: s.to === c.payer || s.amount === 0n ? null : transferKey(batchId, c, s),
              })),
            })),
          ),
          postTransfersOnLockedBalances(tx, aggregate(batchId, admitted)),
        ]);
        for (const w of written)
          if (w.status === 'rejected') throw w.reason instanceof Error ? w.reason : new Error(String(w.reason));
      }
      await reservedTransaction.commit(tx);
      open = false;
      return { admitted, refused };
    } finally {
      // Rolls back whatever is still open (a failed BEGIN or lock); the connection goes back clean.
      if (open) await reservedTransaction.rollback(tx).catch(() => undefined);
      tx.release();
    }
  }

  /** Calls waiting for their batch to commit. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Commits what is queued and waits for every batch in flight; new calls are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.inFlight.size > 0) {
      this.kick();
      await Promise.allSettled([...this.inFlight]);
    }
  }
}

/** The batch's transfer that carries a (payer, recipient, part, proposal): receipts name it. */
function transferKey(
  batchId: string,
  c: { payer: string; proposalId: string },
  s: { to: string; part: string },
): string {
  return `infer:${batchId}:${c.payer}:${s.to}:${s.part}:${c.proposalId}`;
}

/** One transfer per (payer, recipient, part, proposal) summed over the batch, keyed by the batch. */
function aggregate(batchId: string, admitted: Pending[]): TransferInput[] {
  const sums = new Map<
    string,
    { payer: string; to: string; part: string; proposalId: string; model: string; amount: bigint; calls: number }
  >();
  for (const { call: c, transfers } of admitted) {
    for (const s of transfers) {
      const key = `${c.payer}|${s.to}|${s.part}|${c.proposalId}`;
      let e = sums.get(key);
      if (!e) {
        e = {
          payer: c.payer,
          to: s.to,
          part: s.part,
          proposalId: c.proposalId,
          model: `${c.modelName}@${c.version}`,
          amount: 0n,
          calls: 0,
        };
        sums.set(key, e);
      }
      e.amount += s.amount;
      e.calls++;
    }
  }
  return [...sums.values()]
    .filter((e) => e.amount > 0n)
    .map((e) => ({
      idempotencyKey: transferKey(batchId, e, e),
      asset: 'OPEN',
      from: e.payer,
      to: e.to,
      amount: e.amount.toString(),
      reason: `inference fee (${e.part})`,
      proposalId: e.proposalId,
      memo: { settlement: batchId, calls: e.calls, model: e.model },
    }));
}
