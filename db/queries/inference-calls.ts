import type postgres from 'postgres';

/** Paid inference calls, recorded in batches by the fee batcher. */

export interface NewInferenceCall {
  callId: string;
  modelName: string;
  version: number;
  apiKeyId: string;
  payer: string;
  fee: bigint;
  attribution: unknown;
}

/** Records the calls of one settlement; a call id already recorded is left as it is. */
export async function insertInferenceCalls(
  sql: postgres.Sql,
  settlementId: string,
  calls: NewInferenceCall[],
): Promise<void> {
  await sql`
    insert into inference_calls (id, model_name, version, api_key_id, payer, fee, attribution, settlement_id)
    select i, m, v, k, p, f, a::jsonb, ${settlementId} from unnest(${calls.map((c) => c.callId)}::text[], ${calls.map((c) => c.modelName)}::text[], ${calls.map((c) => c.version)}::int[],
      ${calls.map((c) => c.apiKeyId)}::text[], ${calls.map((c) => c.payer)}::text[], ${calls.map((c) => c.fee.toString())}::numeric[], ${calls.map((c) => JSON.stringify(c.attribution))}::text[])
      as u(i, m, v, k, p, f, a)
    on conflict (id) do nothing`;
}

export async function markCallsSettled(sql: postgres.Sql, callIds: string[]): Promise<void> {
  await sql`update inference_calls set settled = true where id = any(${callIds}::text[])`;
}
