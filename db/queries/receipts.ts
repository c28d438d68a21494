import type postgres from 'postgres';
import type { ReceiptSplit } from './inference-calls.js';
import { MerkleRootBuilder } from '../../domain/data/merkle.js';
import { receiptLeaf, receiptOf, receiptParties, type RecordedCall } from '../../domain/serving/receipts.js';

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
  const rows = await sql<CallRow[]>`${CALLS(sql)} where c.id = ${id}`;
  const [c] = await withTransfers(sql, rows);
  if (!c) return undefined;
  return {
    id: c.id,
    modelName: c.modelName,
    version: c.version,
    proposalId: c.proposalId,
    payer: c.payer,
    fee: c.fee,
    attribution: {
      contributors: c.attribution as ReceiptRow['attribution']['contributors'],
      records: c.records as ReceiptRow['attribution']['records'],
    },
    settlementId: c.settlementId,
    inputHash: c.inputHash,
    endUser: rows[0]!.end_user,
    createdAt: c.createdAt,
    splits: c.splits.map((s) => {
      const t = s.transfer ? c.transfers.get(s.transfer) : undefined;
      return { ...s, ledger: t ? { id: t.id, amount: t.amount, calls: t.calls } : null };
    }),
  };
}

/** A closed settlement epoch's receipt root. */
export interface ReceiptEpochRow {
  modelName: string;
  epoch: number;
  root: string;
  size: number;
  closedAt: Date;
}

interface CallRow {
  id: string;
  model_name: string;
  version: number;
  proposal_id: string | null;
  payer: string;
  fee: string;
  input_hash: string | null;
  end_user: string | null;
  created_at: Date;
  settlement_id: string;
  attribution: unknown;
  records: unknown;
  splits: ReceiptSplit[];
  epoch: number | null;
  leaf?: string | null;
}

/** A receipt_epochs row as selected. */
type EpochDbRow = { model_name: string; epoch: number; root: string; size: number; closed_at: Date };

const epochOf = (r: EpochDbRow) => ({
  modelName: r.model_name,
  epoch: r.epoch,
  root: r.root,
  size: r.size,
  closedAt: r.closed_at,
});

/** Each call with the ledger transfers its splits name (one query for all of them). */
async function withTransfers(
  sql: postgres.Sql | postgres.TransactionSql,
  rows: CallRow[],
): Promise<(RecordedCall & { epoch: number | null; leaf: string | null })[]> {
  const keys = [
    ...new Set(rows.flatMap((c) => c.splits.map((s) => s.transfer).filter((k): k is string => k !== null))),
  ];
  const found = keys.length
    ? await sql<
        {
          id: string;
          idempotency_key: string;
          from_account: string;
          to_account: string;
          amount: string;
          memo: { calls?: number } | null;
        }[]
      >`select id, idempotency_key, from_account, to_account, amount::text as amount, memo
        from transfers where idempotency_key = any(${keys})`
    : [];
  const transfers = new Map(
    found.map((t) => [
      t.idempotency_key,
      { id: Number(t.id), from: t.from_account, to: t.to_account, amount: t.amount, calls: t.memo?.calls ?? 1 },
    ]),
  );
  return rows.map((c) => ({
    id: c.id,
    modelName: c.model_name,
    version: c.version,
    proposalId: c.proposal_id,
    payer: c.payer,
    fee: c.fee,
    inputHash: c.input_hash,
    createdAt: c.created_at,
    settlementId: c.settlement_id,
    attribution: c.attribution,
    records: c.records,
    splits: c.splits,
    transfers,
    epoch: c.epoch,
    leaf: c.leaf ?? null,
  }));
}

/** The call's epoch has its root stored: it is closed (a call is given its epoch before the root). */
const SEALED = (sql: postgres.Sql) =>
  sql`exists (select 1 from receipt_epochs e where e.model_name = c.model_name and e.epoch = c.epoch)`;

/** A call row with its version's proposal: what a receipt is built from. */
const CALLS = (sql: postgres.Sql | postgres.TransactionSql) => sql`
  select c.id, c.model_name, c.version, v.proposal_id, c.payer, c.fee::text as fee, c.input_hash, c.end_user, c.created_at,
         c.settlement_id, c.attribution, c.records, c.splits, c.epoch, c.leaf
  from inference_calls c
  left join model_versions v on v.model_name = c.model_name and v.version = c.version`;

/** Calls given their epoch and leaf per transaction while an epoch closes (bounds the memory a close takes). */
export const RECEIPT_PAGE = 1000;

/**
 * Closes a model's receipt epoch: every call of the model committed before the close started and
 * in no epoch yet joins this one, page by page (`assignReceiptPage`), then the root over their
 * leaves is stored (`sealReceiptEpoch`). Memory stays at one page of calls, however many calls the
 * epoch holds. A retry (or a second close running at once) continues where the first stopped and
 * finds the same root once it is stored; a call committed after the close started waits for the
 * next epoch.
 */
export async function closeReceiptEpoch(
  sql: postgres.Sql,
  modelName: string,
  epoch: number,
  pageSize = RECEIPT_PAGE,
): Promise<ReceiptEpochRow> {
  const [started] = await sql<{ now: Date }[]>`select now()`;
  const now = started!.now;
  for (;;) {
    const page = await assignReceiptPage(sql, modelName, epoch, { before: now, limit: pageSize });
    if (typeof page !== 'number') return page;
    if (page < pageSize) return sealReceiptEpoch(sql, modelName, epoch);
  }
}

/**
 * Gives up to `limit` calls of the model committed before `before` and in no epoch yet this epoch,
 * their receipts' leaves, and a row in receipt_parties per account each receipt names, in one
 * transaction under the model's epoch lock; returns how many, or the epoch's row if its root is
 * already stored (then no call may join it). A call given an epoch never changes again (a trigger
 * refuses it), but counts as closed only once its epoch's root is stored.
 */
export async function assignReceiptPage(
  sql: postgres.Sql,
  modelName: string,
  epoch: number,
  page: { before: Date; limit: number },
): Promise<number | ReceiptEpochRow> {
  return sql.begin(async (tx) => {
    const sealed = await lockEpoch(tx, modelName, epoch);
    if (sealed) return sealed;
    const rows = await tx<CallRow[]>`${CALLS(tx)}
      where c.model_name = ${modelName} and c.epoch is null and c.created_at < ${page.before}
      limit ${page.limit} for update of c`;
    const receipts = (await withTransfers(tx, rows)).map((c) => receiptOf(c, epoch));
    if (receipts.length === 0) return 0;
    await tx`
      update inference_calls c set epoch = ${epoch}, leaf = x.l
      from jsonb_to_recordset(${JSON.stringify(receipts.map((r) => ({ i: r.id, l: receiptLeaf(r) })))}::text::jsonb) as x(i text, l text)
      where c.id = x.i`;
    const parties = receipts.flatMap((r) => receiptParties(r).map((a) => ({ a, i: r.id })));
    if (parties.length > 0)
      await tx`
        insert into receipt_parties (account, call_id)
        select x.a, x.i from jsonb_to_recordset(${JSON.stringify(parties)}::text::jsonb) as x(a text, i text)
        on conflict do nothing`;
    return receipts.length;
  });
}

/**
 * Stores the root over every leaf given this epoch, streamed from Postgres in ascending order
 * (O(log n) memory), under the epoch lock so that no page joins the epoch after its root; a
 * second call returns the stored row.
 */
export async function sealReceiptEpoch(sql: postgres.Sql, modelName: string, epoch: number): Promise<ReceiptEpochRow> {
  return sql.begin(async (tx) => {
    const sealed = await lockEpoch(tx, modelName, epoch);
    if (sealed) return sealed;
    const root = new MerkleRootBuilder();
    await eachEpochLeaf(tx, modelName, epoch, (leaf) => root.add(leaf));
    const [row] = await tx<EpochDbRow[]>`
      insert into receipt_epochs (model_name, epoch, root, size) values (${modelName}, ${epoch}, ${root.root()}, ${root.size})
      returning model_name, epoch, root, size, closed_at`;
    return epochOf(row!);
  });
}

/** Takes the model's epoch lock for the transaction; the epoch's row if its root is stored. */
async function lockEpoch(tx: postgres.TransactionSql, modelName: string, epoch: number) {
  await tx`select pg_advisory_xact_lock(hashtext(${`receipt-epoch:${modelName}`}))`;
  return findReceiptEpoch(tx, modelName, epoch);
}

export async function findReceiptEpoch(
  sql: postgres.Sql | postgres.TransactionSql,
  modelName: string,
  epoch: number,
): Promise<ReceiptEpochRow | undefined> {
  const [r] = await sql<EpochDbRow[]>`
    select model_name, epoch, root, size, closed_at from receipt_epochs where model_name = ${modelName} and epoch = ${epoch}`;
  return r ? epochOf(r) : undefined;
}

/** A model's closed epochs, newest first, after the cursor's epoch. */
export async function listReceiptEpochs(
  sql: postgres.Sql,
  modelName: string,
  page: { limit: number; before?: number },
): Promise<ReceiptEpochRow[]> {
  const rows = await sql<EpochDbRow[]>`
    select model_name, epoch, root, size, closed_at from receipt_epochs
    where model_name = ${modelName} ${page.before === undefined ? sql`` : sql`and epoch < ${page.before}`}
    order by epoch desc limit ${page.limit}`;
  return rows.map(epochOf);
}

/**
 * Every leaf of a closed epoch of `size` receipts, sorted and packed as raw 32-byte hashes (the
 * tree is rebuilt from them to prove one receipt): streamed, 32 bytes per receipt in memory.
 */
export async function epochLeaves(sql: postgres.Sql, modelName: string, epoch: number, size: number): Promise<Buffer> {
  const packed = Buffer.alloc(size * 32);
  let n = 0;
  await eachEpochLeaf(sql, modelName, epoch, (leaf) => {
    if (n === size) throw new Error(`epoch ${epoch} of ${modelName} holds more leaves than its root's ${size}`);
    packed.write(leaf, 32 * n++, 32, 'hex');
  });
  if (n !== size) throw new Error(`epoch ${epoch} of ${modelName} holds ${n} leaves, its root ${size}`);
  return packed;
}

/** The leaves given an epoch, in ascending order, a batch of rows at a time (never all in memory). */
async function eachEpochLeaf(
  sql: postgres.Sql | postgres.TransactionSql,
  modelName: string,
  epoch: number,
  onLeaf: (leaf: string) => void,
): Promise<void> {
  await sql<{ leaf: string }[]>`
    select leaf from inference_calls where model_name = ${modelName} and epoch = ${epoch} order by leaf`.cursor(
    5000,
    (rows) => {
      for (const r of rows) onLeaf(r.leaf);
    },
  );
}

/** A call of a closed epoch: its epoch and the leaf stored when the epoch closed. */
export type ClosedCall = RecordedCall & { epoch: number; leaf: string };

/** A call whose epoch has closed, as recorded, with its epoch; undefined while its epoch is open. */
export async function findClosedCall(sql: postgres.Sql, id: string): Promise<ClosedCall | undefined> {
  const rows = await sql<CallRow[]>`${CALLS(sql)} where c.id = ${id} and ${SEALED(sql)}`;
  const [c] = await withTransfers(sql, rows);
  return c ? { ...c, epoch: c.epoch ?? 0, leaf: c.leaf ?? '' } : undefined;
}

/**
 * The closed receipts that name an account (attributed, or paid a part), by call id after the
 * cursor: a range of receipt_parties' primary key, written as each call joined its epoch (an index
 * on the attribution documents instead would slow every paid call's insert).
 */
export async function listContributorClosedCalls(
  sql: postgres.Sql,
  address: string,
  page: { limit: number; after?: string },
): Promise<ClosedCall[]> {
  const rows = await sql<CallRow[]>`${CALLS(sql)}
    join receipt_parties p on p.call_id = c.id and p.account = ${address}
    where ${SEALED(sql)} ${page.after === undefined ? sql`` : sql`and p.call_id > ${page.after}`}
    order by p.call_id limit ${page.limit}`;
  return (await withTransfers(sql, rows)).map((c) => ({ ...c, epoch: c.epoch ?? 0, leaf: c.leaf ?? '' }));
}
