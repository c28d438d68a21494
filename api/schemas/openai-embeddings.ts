// POST /v1/embeddings.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';
import { CommonsExtension, ModelRef, openaiBody } from './openai.js';
import { EMBEDDING_FIELDS } from '../openai/fields.js';

export const MAX_EMBEDDING_INPUTS = 256;

export const EmbeddingBody = openaiBody(
  EMBEDDING_FIELDS,
  {
    model: ModelRef,
    input: Type.Union([
      Type.String({ minLength: 1, maxLength: 100_000 }),
      Type.Array(Type.String({ minLength: 1, maxLength: 100_000 }), { minItems: 1, maxItems: MAX_EMBEDDING_INPUTS }),
    ]),
    encoding_format: Type.Optional(Nullable(Type.Union([Type.Literal('float'), Type.Literal('base64')]))),
    user: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
  },
  'an OpenAI embeddings request: text inputs; one paid call whatever the number of inputs',
);
export type EmbeddingBody = Static<typeof EmbeddingBody>;

export const EmbeddingResponse = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(
    Type.Object({
      object: Type.Literal('embedding'),
      index: Type.Integer(),
      embedding: Type.Union([
        Type.Array(Type.Number()),
        Type.String({ description: 'base64 of little-endian float32 values' }),
      ]),
    }),
  ),
  model: Type.String(),
  usage: Type.Object({ prompt_tokens: Type.Integer(), total_tokens: Type.Integer() }),
  commons: CommonsExtension,
});
