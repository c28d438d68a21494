import type postgres from 'postgres';
import { MEMBER_STATUSES } from '../../domain/data/payload-access.js';

/** The records sealed reads open (domain/data/payload-access.ts): a record of a Datanet, and its members. */

export interface DatanetRecord {
  hash: string;
  contributor: string;
  status: string;
  /** Where its ciphertext is (storage/packs.ts RecordRef). */
  key: string;
  offset: number;
  length: number;
}

export async function findDatanetRecord(
  sql: postgres.Sql,
  datanetId: string,
  hash: string,
): Promise<DatanetRecord | undefined> {
  const [r] = await sql<
    { contributor: string; status: string; s3_key: string; pack_offset: string; pack_length: number }[]
  >`select contributor, status, s3_key, pack_offset, pack_length from contributions
    where datanet_id = ${datanetId} and hash = ${hash}`;
  return (
    r && {
      hash,
      contributor: r.contributor,
      status: r.status,
      key: r.s3_key,
      offset: Number(r.pack_offset),
      length: r.pack_length,
    }
  );
}

/** Whether `address` holds a record the Datanet took (accepted or awaiting approval): a member. */
export async function isDatanetMember(sql: postgres.Sql, datanetId: string, address: string): Promise<boolean> {
  const [r] = await sql<{ member: boolean }[]>`
    select exists(select 1 from contributions where datanet_id = ${datanetId} and contributor = ${address}
      and status = any(${MEMBER_STATUSES as string[]}::text[])) as member`;
  return r?.member ?? false;
}
