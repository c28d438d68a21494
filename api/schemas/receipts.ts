// A paid call's receipt: the model version that answered, a hash of the input, the attribution and
// the fee split with the ledger transfers that paid each part.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp, Units } from './common.js';
import { nextCursorField, pageQuery } from '../pagination.js';

export const ReceiptParams = Type.Object({
  id: Type.String({
    minLength: 1,
    maxLength: 100,
    description: 'the receipt id (the `x-commons-receipt` header), or the id of the chat completion or response',
  }),
});

export const ReceiptResponse = Type.Object({
  id: Type.String(),
  model: Type.String(),
  version: Type.Integer(),
  proposalId: Nullable(Type.String()),
  payer: Type.String(),
  fee: Units,
  createdAt: Timestamp,
  inputHash: Nullable(Type.String({ description: 'SHA-256 of the input (the conversation as JSON)' })),
  endUser: Nullable(Type.String({ description: "the caller's end-user id (OpenAI's `user`)" })),
  attribution: Type.Object({
    contributors: Type.Array(Type.Object({ contributor: Type.String(), weight: Type.Number() })),
    records: Type.Array(Type.Object({ hash: Type.String(), contributor: Type.String(), influence: Type.Number() })),
  }),
  settlement: Type.String({
    description: 'the group commit that charged the call (transfers carry it in memo.settlement)',
  }),
  splits: Type.Array(
    Type.Object({
      to: Type.String(),
      part: Type.String(),
      amount: Units,
      transfer: Nullable(
        Type.Object(
          {
            id: Type.Integer(),
            idempotencyKey: Type.String(),
            amount: Units,
            calls: Type.Integer({ description: 'calls of the batch this transfer pays for' }),
          },
          { description: 'the ledger transfer carrying this part (null: the payer kept its own part)' },
        ),
      ),
    }),
  ),
});
export type ReceiptResponse = Static<typeof ReceiptResponse>;

// Verifiable receipts (docs/receipts.md): the canonical receipt a leaf hashes, its inclusion proof,
// and the settlement epoch whose published Merkle root commits it.
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const ModelName = Type.String({ minLength: 1, maxLength: 200 });

export const ReceiptEpoch = Type.Object({
  model: Type.String(),
  epoch: Type.Integer(),
  root: Type.String({ description: "Merkle root over the epoch's receipt leaves (RFC 6962-style, as dataset proofs)" }),
  size: Type.Integer({ description: 'receipts the epoch commits' }),
  closedAt: Timestamp,
});
export type ReceiptEpochView = Static<typeof ReceiptEpoch>;

export const CanonicalReceipt = Type.Object(
  {
    format: Type.Literal('commons-receipt/1'),
    id: Type.String(),
    model: Type.String(),
    version: Type.Integer(),
    proposalId: Nullable(Type.String()),
    payer: Type.String(),
    fee: Units,
    inputHash: Nullable(Type.String()),
    createdAt: Type.String(),
    settlement: Type.String(),
    epoch: Type.Integer(),
    contributors: Type.Array(Type.Object({ contributor: Type.String(), weightPpm: Type.Integer() })),
    records: Type.Array(Type.Object({ hash: Type.String(), contributor: Type.String(), influencePpm: Type.Integer() })),
    splits: Type.Array(
      Type.Object({
        to: Type.String(),
        part: Type.String(),
        amount: Units,
        transfer: Nullable(
          Type.Object({
            id: Type.Integer(),
            idempotencyKey: Type.String(),
            from: Type.String(),
            to: Type.String(),
            amount: Units,
            calls: Type.Integer(),
          }),
        ),
      }),
    ),
  },
  { description: 'the receipt exactly as its leaf hashes it (SHA-256 of its canonical JSON)' },
);

export const ReceiptBundle = Type.Object({
  receipt: CanonicalReceipt,
  proof: Type.Object({
    leaf: Hex64,
    index: Type.Integer(),
    siblings: Type.Array(
      Type.Object({ hash: Hex64, position: Type.Union([Type.Literal('left'), Type.Literal('right')]) }),
    ),
    root: Hex64,
  }),
  epoch: ReceiptEpoch,
});
export type ReceiptBundleView = Static<typeof ReceiptBundle>;

export const EpochParams = Type.Object({ name: ModelName, epoch: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }) });
export const EpochsParams = Type.Object({ name: ModelName });
export const EpochsQuery = pageQuery({});
export const EpochsResponse = Type.Object({ epochs: Type.Array(ReceiptEpoch), ...nextCursorField });
export type EpochsResponse = Static<typeof EpochsResponse>;

export const ContributorReceiptsParams = Type.Object({ address: Type.String({ minLength: 1, maxLength: 200 }) });
export const ContributorReceiptsQuery = pageQuery({}, 100);
export const ContributorReceiptsResponse = Type.Object({ receipts: Type.Array(ReceiptBundle), ...nextCursorField });
export type ContributorReceiptsResponse = Static<typeof ContributorReceiptsResponse>;
