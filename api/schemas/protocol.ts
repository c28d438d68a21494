import { Type, type Static } from '@sinclair/typebox';
import type { ProtocolSettings } from '../../domain/protocol/settings.js';
import { Amount, Timestamp, Units } from './common.js';
import { nextCursorField, pageQuery } from '../pagination.js';

/** The protocol settings in force (domain/protocol/settings.ts): the bounds every proposal is judged by. */
export const ProtocolResponse = Type.Object({
  settings: Type.Unsafe<ProtocolSettings>(
    Type.Object(
      {
        governance: Type.Object({}, { additionalProperties: true }),
        treasury: Type.Object({}, { additionalProperties: true }),
        rewards: Type.Object({}, { additionalProperties: true }),
        fees: Type.Object({}, { additionalProperties: true }),
        deployment: Type.Object({}, { additionalProperties: true }),
        durations: Type.Object({}, { additionalProperties: true }),
        staking: Type.Object({}, { additionalProperties: true }),
      },
      { description: 'the protocol settings (docs/protocol-settings.md)' },
    ),
  ),
  /** Proposal parameters only the protocol sets: a proposal naming one is refused. */
  protocolOnlyParams: Type.Array(Type.String()),
});
export type ProtocolResponse = Static<typeof ProtocolResponse>;

export const UnstakeBody = Type.Object({ amount: Amount });

export const UnbondingEntry = Type.Object({
  id: Type.Integer(),
  amount: Units,
  availableAt: Timestamp,
  status: Type.Union([Type.Literal('unbonding'), Type.Literal('claimed')]),
});

export const UnstakeResponse = Type.Object({ validatorStake: Units, unbonding: UnbondingEntry });
export type UnstakeResponse = Static<typeof UnstakeResponse>;

export const ClaimResponse = Type.Object({
  claimed: Units,
  entries: Type.Array(UnbondingEntry),
  pending: Type.Array(UnbondingEntry),
});
export type ClaimResponse = Static<typeof ClaimResponse>;

export const UnbondingListResponse = Type.Object({
  validatorStake: Units,
  unbondingBalance: Units,
  entries: Type.Array(UnbondingEntry),
  ...nextCursorField,
});
export const UnbondingListQuery = pageQuery({});
export type UnbondingListResponse = Static<typeof UnbondingListResponse>;
