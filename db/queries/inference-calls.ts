import type postgres from 'postgres';

/** Paid inference calls, recorded by the fee group commit in the same transaction as their charge. */

export interface NewInferenceCall {
  callId: string;
  modelName: string;
  version: number;
  apiKeyId: string;
  payer: string;
  fee: bigint;
  attribution: unknown;
  /** The attributed records (hash, contributor, influence). */
  records?: unknown;
  /** The call's fee split as recorded on its receipt: each part with the ledger transfer that paid it (null: kept by the payer). */
  splits: ReceiptSplit[];
  inputHash?: string;
  endUser?: string;
}

export interface ReceiptSplit {
  to: string;
  part: string;
  amount: string;
  /** Idempotency key of the batch's transfer that carries this part, or null when the payer kept it. */
  transfer: string | null;
}

/**
 * Records the calls of one batch, inside the transaction that moves their fees, so a row exists
 * exactly when its charge does. The rows go
 * as one JSON document (one native JSON.stringify, read by jsonb_to_recordset) rather than one
 * Postgres array per column: the client no longer escapes every attribution string element by
 * element on the API's one JS thread (docs/design.md, "Inference fees"). The document goes as text: a
 * parameter Postgres describes as jsonb would be JSON-encoded a second time by postgres.js.
 */
export async function insertInferenceCalls(
  tx: postgres.TransactionSql | postgres.ReservedSql,
  settlementId: string,
  calls: NewInferenceCall[],
): Promise<void> {
  const rows = calls.map((c) => ({
    i: c.callId,
    m: c.modelName,
    v: c.version,
    k: c.apiKeyId,
    p: c.payer,
    f: c.fee.toString(),
    a: c.attribution,
    r: c.records ?? [],
    s: c.splits,
    h: c.inputHash ?? null,
    u: c.endUser ?? null,
  }));
  await tx`
    insert into inference_calls (id, model_name, version, api_key_id, payer, fee, attribution, settlement_id, records, splits, input_hash, end_user)
    select i, m, v, k, p, f, a, ${settlementId}, r, s, h, u
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as r(i text, m text, v int, k text, p text, f numeric, a jsonb, r jsonb, s jsonb, h text, u text)`;
}
