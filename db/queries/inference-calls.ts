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
  }));
  await tx`
    insert into inference_calls (id, model_name, version, api_key_id, payer, fee, attribution, settlement_id)
    select i, m, v, k, p, f, a, ${settlementId}
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as u(i text, m text, v int, k text, p text, f numeric, a jsonb)`;
}
