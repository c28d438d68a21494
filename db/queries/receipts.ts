import type postgres from 'postgres';
import type { ReceiptSplit } from './inference-calls.js';

/** A paid call's receipt: what was answered, for whom, attributed to whom, and the ledger transfers that paid it. */
export interface ReceiptRow {
  id: string;
  modelName: string;
  version: number;
  proposalId: string | null;
  payer: string;
  fee: string;
  attribution: {
    contributors: { contributor: string; weight: number }[];
    records: { hash: string; contributor: string; influence: number }[];
  };
  settlementId: string;
  inputHash: string | null;
  endUser: string | null;
  createdAt: Date;
  splits: (ReceiptSplit & {
    /** The batch's transfer (it aggregates every call of the batch to this recipient and part). */
    ledger: { id: number; amount: string; calls: number } | null;
  })[];
}

/** The call and the transfers its fee split went into (found by their idempotency keys), or undefined. */
export async function findReceipt(sql: postgres.Sql, id: string): Promise<ReceiptRow | undefined> {
  const [c] = await sql<
    {
      id: string;
      model_name: string;
      version: number;
      proposal_id: string | null;
      payer: string;
      fee: string;
      attribution: ReceiptRow['attribution']['contributors'];
      records: ReceiptRow['attribution']['records'];
      settlement_id: string;
      input_hash: string | null;
      end_user: string | null;
      created_at: Date;
      splits: ReceiptSplit[];
    }[]
  >`
    select c.id, c.model_name, c.version, v.proposal_id, c.payer, c.fee::text as fee, c.attribution, c.records,
           c.settlement_id, c.input_hash, c.end_user, c.created_at, c.splits
    from inference_calls c
    left join model_versions v on v.model_name = c.model_name and v.version = c.version
    where c.id = ${id}`;
  if (!c) return undefined;
  const keys = c.splits.map((s) => s.transfer).filter((k): k is string => k !== null);
  const transfers = keys.length
    ? await sql<{ id: string; idempotency_key: string; amount: string; memo: { calls?: number } | null }[]>`
        select id, idempotency_key, amount::text as amount, memo from transfers where idempotency_key = any(${keys})`
    : [];
  const byKey = new Map(transfers.map((t) => [t.idempotency_key, t]));
  return {
    id: c.id,
    modelName: c.model_name,
    version: c.version,
    proposalId: c.proposal_id,
    payer: c.payer,
    fee: c.fee,
    attribution: { contributors: c.attribution, records: c.records },
    settlementId: c.settlement_id,
    inputHash: c.input_hash,
    endUser: c.end_user,
    createdAt: c.created_at,
    splits: c.splits.map((s) => {
      const t = s.transfer ? byKey.get(s.transfer) : undefined;
      return { ...s, ledger: t ? { id: Number(t.id), amount: t.amount, calls: t.memo?.calls ?? 1 } : null };
    }),
  };
}
