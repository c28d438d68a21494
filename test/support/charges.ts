import type postgres from 'postgres';

/** What a payer has been charged: its call rows and the OPEN it paid in inference fees. */
export async function chargesOf(
  sql: postgres.Sql,
  payer: string,
): Promise<{ rows: { id: string; fee: string }[]; paid: bigint }> {
  const rows = await sql<{ id: string; fee: string }[]>`
    select id, fee::text from inference_calls where payer = ${payer}`;
  const [paid] = await sql<{ amount: string | null }[]>`
    select sum(amount)::text as amount from transfers where from_account = ${payer} and reason like 'inference fee%'`;
  return { rows: [...rows], paid: BigInt(paid?.amount ?? '0') };
}
