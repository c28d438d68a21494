// What the OpenAI-compatible routes share: the model objects, token usage, Commons' extension field
// `commons` (receipt, fee and attribution), and request schemas built from the field tables of
// api/openai/fields.ts, so every field OpenAI defines is described, the refused ones included.
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { Nullable, Units } from './common.js';
import { ModelResponse } from './models.js';
import { nextCursorField, pageQuery } from '../pagination.js';
import type { FieldTable } from '../openai/fields.js';

/**
 * An OpenAI request body: the typed fields, plus every other field of its table as described (a
 * refused field's value is checked by the table, not here). Unknown fields pass the schema and are
 * refused by the table with their name (a schema would strip them silently instead).
 */
export function openaiBody<P extends TProperties>(table: FieldTable, typed: P, description: string): TObject<P> {
  const described: TProperties = {};
  for (const [name, rule] of Object.entries(table))
    if (!(name in typed))
      described[name] = Type.Optional(
        Type.Unknown({ description: 'honoured' in rule ? rule.honoured : `refused: ${rule.refused}` }),
      );
  // The described fields are Unknown: the static type is the typed fields alone.
  return Type.Object({ ...(described as P), ...typed }, { additionalProperties: true, description });
}

export const OpenAIText = Type.String({ maxLength: 100_000 });
export const FunctionName = Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' });
export const JsonSchema = Type.Record(Type.String(), Type.Unknown(), { description: 'a JSON Schema' });
export const ContentPart = Type.Object(
  { type: Type.String(), text: Type.Optional(OpenAIText) },
  { additionalProperties: true, description: 'text parts only; others are refused' },
);

/** Request fields chat completions and responses share, under the same names. */
export const sharedRequestFields = {
  temperature: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 2 }))),
  top_p: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 1 }))),
  stream: Type.Optional(Nullable(Type.Boolean())),
  parallel_tool_calls: Type.Optional(Nullable(Type.Boolean())),
  user: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
  safety_identifier: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
  commons_top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
};

export const ModelRef = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'a served model name, optionally `name@version`',
});

export const CommonsExtension = Type.Object(
  {
    callId: Type.String(),
    receipt: Type.String({ description: 'GET /v1/receipts/{receipt}: the attribution and the fee split' }),
    model: Type.String(),
    version: Type.Integer(),
    fee: Units,
    attribution: Type.Object({
      contributors: Type.Array(Type.Object({ contributor: Type.String(), weight: Type.Number() })),
      records: Type.Array(Type.Object({ hash: Type.String(), contributor: Type.String(), influence: Type.Number() })),
    }),
  },
  {
    description:
      'Commons extension: the paid call, its receipt, its fee and the records and contributors the answer is attributed to',
  },
);
export type CommonsExtension = Static<typeof CommonsExtension>;

export const ChatUsage = Type.Object({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
});

const commonsModel = Type.Object({
  productionVersion: Type.Integer(),
  task: Type.String(),
});

export const ModelObject = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
  commons: commonsModel,
});

export const ModelListResponse = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(ModelObject),
  ...nextCursorField,
});
export const ModelListQuery = pageQuery({});
export type ModelListResponse = Static<typeof ModelListResponse>;

export const ModelIdParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });

/** OpenAI's model object, with the model's registry entry (status, versions, lineage) beside it. */
export const ModelRetrieveResponse = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
  ...ModelResponse.properties,
});
