// A paid call's receipt: the model version that answered, a hash of the input, the attribution and
// the fee split with the ledger transfers that paid each part.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp, Units } from './common.js';

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
