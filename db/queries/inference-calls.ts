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
 * exactly when its charge does (`settled` is always true for rows written this way).
 */
export async function insertInferenceCalls(
  tx: postgres.TransactionSql | postgres.ReservedSql,
  settlementId: string,
  calls: NewInferenceCall[],
): Promise<void> {
  await tx`
    insert into inference_calls (id, model_name, version, api_key_id, payer, fee, attribution, settlement_id, settled)
    select i, m, v, k, p, f, a::jsonb, ${settlementId}, true from unnest(${calls.map((c) => c.callId)}::text[], ${calls.map((c) => c.modelName)}::text[], ${calls.map((c) => c.version)}::int[],
      ${calls.map((c) => c.apiKeyId)}::text[], ${calls.map((c) => c.payer)}::text[], ${calls.map((c) => c.fee.toString())}::numeric[], ${calls.map((c) => JSON.stringify(c.attribution))}::text[])
      as u(i, m, v, k, p, f, a)`;
}

/**
 * Rows left unsettled by the old in-memory fee batcher (rows, transfers and the flag were three
 * transactions): a row whose settlement did move its payer's money is flagged settled; the rest
 * (answered, never charged) are counted so the API can report them. Run on start.
 */
export async function reconcileLegacyUnsettledCalls(sql: postgres.Sql): Promise<{ settled: number; unpaid: number }> {
  const settled = await sql`
    update inference_calls c set settled = true
    where not c.settled and c.settlement_id is not null and exists (
      select 1 from transfers t where t.memo->>'settlement' = c.settlement_id and t.from_account = c.payer)`;
  const [left] = await sql<{ n: number }[]>`select count(*)::int as n from inference_calls where not settled`;
  return { settled: settled.count, unpaid: left?.n ?? 0 };
}
