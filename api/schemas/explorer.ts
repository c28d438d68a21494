import { Type, type Static } from '@sinclair/typebox';
import { nextCursorField, pageQuery } from '../pagination.js';
import { Nullable, Timestamp, Units } from './common.js';
import { Visibility } from './datanets.js';

export const DatanetListQuery = pageQuery({
  status: Type.Optional(
    Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('cancelled')], {
      description: 'only Datanets in this status (open: taking records now)',
    }),
  ),
});

export const DatanetListResponse = Type.Object({
  datanets: Type.Array(
    Type.Object({
      id: Type.String(),
      proposalId: Type.String(),
      status: Type.String(),
      visibility: Visibility,
      spec: Type.Unknown({ description: 'the Datanet spec of the proposal (as GET /v1/datanets/:id serves it)' }),
      targetCount: Type.Integer(),
      closesAt: Nullable(Timestamp),
      deposit: Units,
      gated: Type.Boolean({ description: 'contributing needs a credential or an assessment' }),
      submitted: Type.Integer(),
      accepted: Type.Integer(),
      decided: Type.Integer({ description: 'records whose outcome is settled' }),
      acceptanceRate: Nullable(Type.Number({ description: 'accepted / decided; null before any decision' })),
    }),
  ),
  ...nextCursorField,
});
export type DatanetListResponse = Static<typeof DatanetListResponse>;

export const ModelUsageQuery = pageQuery({}, 50);

export const ModelUsageResponse = Type.Object({
  models: Type.Array(
    Type.Object({
      name: Type.String(),
      developer: Type.String(),
      productionVersion: Type.Integer(),
      task: Type.String(),
      calls: Type.Integer({ description: 'paid inference calls, all versions' }),
      fees: Units,
      topContributors: Type.Array(
        Type.Object({
          contributor: Type.String(),
          weight: Type.Number({ description: "attribution weight summed over the model's calls" }),
          calls: Type.Integer({ description: 'calls attributed in part to this contributor' }),
        }),
      ),
    }),
  ),
  ...nextCursorField,
});
export type ModelUsageResponse = Static<typeof ModelUsageResponse>;
