import { Type, type Static } from '@sinclair/typebox';
import { Nullable, PositiveInt, Timestamp, Units } from './common.js';

const ModelName = Type.String({ minLength: 1, maxLength: 200 });
export const NameParams = Type.Object({ name: ModelName });
export const VersionParams = Type.Object({ name: ModelName, version: PositiveInt });

export const InferBody = Type.Object({
  input: Type.String({ minLength: 1, maxLength: 100_000 }),
  topK: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 5 })),
});
export type InferBody = Static<typeof InferBody>;

export const InferResponse = Type.Object({
  callId: Type.String(),
  receipt: Type.String({ description: 'the receipt id (also the `x-commons-receipt` header): GET /v1/receipts/{id}' }),
  model: Type.String(),
  version: Type.Integer(),
  output: Type.String({ description: 'the predicted label' }),
  probabilities: Type.Record(Type.String(), Type.Number(), { description: 'probability per label' }),
  attribution: Type.Object({
    contributors: Type.Array(Type.Object({ contributor: Type.String(), weight: Type.Number() })),
    records: Type.Array(Type.Object({ hash: Type.String(), contributor: Type.String(), influence: Type.Number() })),
  }),
  fee: Units,
});
export type InferResponse = Static<typeof InferResponse>;

export const ModelVersion = Type.Object({
  version: Type.Integer(),
  status: Type.String({
    description:
      'candidate | production | superseded (an earlier production, still served by version) | retired (its model was retired) | abandoned',
  }),
  prefix: Type.String(),
  sha256: Type.String(),
  merkleRoot: Nullable(Type.String()),
  datasetVersionId: Nullable(Type.String()),
  lineage: Type.Record(Type.String(), Type.Unknown(), {
    description: 'what the version was built from (proposal, dataset version, training run, RLHF rounds)',
  }),
  metrics: Type.Record(Type.String(), Type.Unknown(), { description: 'evaluation metrics (accuracy, macroF1, ...)' }),
  createdAt: Timestamp,
});
export const ModelResponse = Type.Object({
  name: Type.String(),
  developer: Type.String(),
  status: Type.Union([Type.Literal('serving'), Type.Literal('retired')], {
    description: 'retired: nothing serves until an admin restores it',
  }),
  productionVersion: Nullable(Type.Integer()),
  versions: Type.Array(ModelVersion),
});
export type ModelResponse = Static<typeof ModelResponse>;

export const RollbackBody = Type.Object({ version: PositiveInt });
export const RollbackResponse = Type.Object({
  model: Type.String(),
  productionVersion: Type.Integer(),
  previous: Nullable(Type.Integer()),
});
export type RollbackResponse = Static<typeof RollbackResponse>;

export const RetireBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) });
export const RetireResponse = Type.Object({ model: Type.String(), retired: Type.Literal(true) });
export type RetireResponse = Static<typeof RetireResponse>;

export const RestoreBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) });
export const RestoreResponse = Type.Object({
  model: Type.String(),
  productionVersion: Type.Integer(),
  versions: Type.Array(Type.Integer(), { description: 'the versions that serve again' }),
});
export type RestoreResponse = Static<typeof RestoreResponse>;

export const ApiKeyBody = Type.Object({ label: Type.Optional(Type.String({ maxLength: 80 })) });
export const ApiKeyResponse = Type.Object({
  id: Type.String(),
  apiKey: Type.String({ description: 'shown once; only its hash is kept' }),
  owner: Type.String(),
});
export type ApiKeyResponse = Static<typeof ApiKeyResponse>;

export const RevokeApiKeyResponse = Type.Object({ id: Type.String(), revoked: Type.Literal(true) });
export type RevokeApiKeyResponse = Static<typeof RevokeApiKeyResponse>;
