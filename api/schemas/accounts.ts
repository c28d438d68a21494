import { Type, type Static } from '@sinclair/typebox';
import { ROLES } from '../auth.js';
import { Amount, Asset, IDEMPOTENCY_KEY_PATTERN, Nullable, Timestamp, Units } from './common.js';
import { nextCursorField, pageQuery } from '../pagination.js';

export const Balances = Type.Object({ OPEN: Units, gOPEN: Units });

export const RegisterBody = Type.Object({
  roles: Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), { minItems: 1, uniqueItems: true }),
  displayName: Type.Optional(Type.String({ maxLength: 80 })),
});
export type RegisterBody = Static<typeof RegisterBody>;
export const RegisterResponse = Type.Object({ address: Type.String(), roles: Type.Array(Type.String()) });
export type RegisterResponse = Static<typeof RegisterResponse>;

export const AddressParams = Type.Object({ address: Type.String({ minLength: 1, maxLength: 200 }) });

export const AccountResponse = Type.Object({
  address: Type.String(),
  roles: Type.Array(Type.String()),
  displayName: Nullable(Type.String()),
  balances: Balances,
  validatorStake: Units,
  delegatedTo: Nullable(Type.String()),
});
export type AccountResponse = Static<typeof AccountResponse>;

export const FaucetBody = Type.Object({
  address: Type.String({ minLength: 1, maxLength: 200 }),
  asset: Asset,
  amount: Amount,
  requestId: Type.Optional(
    Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description: 'makes the grant idempotent: a retry with the same terms grants once; other terms answer 409',
    }),
  ),
});
export type FaucetBody = Static<typeof FaucetBody>;
export const BalancesResponse = Type.Object({ balances: Balances });
export type BalancesResponse = Static<typeof BalancesResponse>;

/** A client-chosen key: a retry with it moves money once and answers with the original transfer. */
const IdempotencyKey = Type.String({
  pattern: IDEMPOTENCY_KEY_PATTERN,
  description:
    'client-chosen; a retry with the same key and body returns the original transfer (also: Idempotency-Key header)',
});
/** Which ledger transfer a request made, and whether this answer is a retry of an earlier one. */
const Moved = {
  transferId: Type.String(),
  replayed: Type.Boolean({ description: 'true when the idempotency key had been used: nothing moved this time' }),
};

export const StakeBody = Type.Object({ amount: Amount, idempotencyKey: Type.Optional(IdempotencyKey) });
export const StakeResponse = Type.Object({ validatorStake: Units, ...Moved });
export type StakeResponse = Static<typeof StakeResponse>;

export const TransferBody = Type.Object({
  to: Type.String(),
  asset: Asset,
  amount: Amount,
  memo: Type.Optional(Type.String({ maxLength: 200 })),
  idempotencyKey: Type.Optional(IdempotencyKey),
});
export type TransferBody = Static<typeof TransferBody>;
export const TransferResponse = Type.Object({ balances: Balances, ...Moved });
export type TransferResponse = Static<typeof TransferResponse>;

export const DelegationBody = Type.Object({ delegatee: Type.String() });
export const DelegationResponse = Type.Object({ delegator: Type.String(), delegatee: Type.String() });
export type DelegationResponse = Static<typeof DelegationResponse>;

export const Reward = Type.Object({
  amount: Units,
  asset: Type.String(),
  reason: Type.String(),
  proposalId: Nullable(Type.String()),
  from: Type.String(),
  details: Type.Unknown({ description: "the transfer's memo (null when none)" }),
  at: Timestamp,
});
export const RewardsResponse = Type.Object({
  address: Type.String(),
  totals: Type.Record(Type.String(), Units, { description: 'sum per asset' }),
  rewards: Type.Array(Reward),
  ...nextCursorField,
});
export const RewardsQuery = pageQuery({});
export type RewardsResponse = Static<typeof RewardsResponse>;
