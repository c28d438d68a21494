// The OpenAI-compatible surface (chat completions and the model list), as the official clients
// and agent frameworks send and read it, plus Commons' extension field `commons` (call id, fee
// and attribution). Unknown request fields (tools, temperature, ...) are accepted and ignored.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Units } from './common.js';
import { nextCursorField, pageQuery } from '../pagination.js';

const ContentPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) });

export const ChatMessageIn = Type.Object(
  {
    role: Type.Union(['system', 'developer', 'user', 'assistant', 'tool'].map((r) => Type.Literal(r))),
    content: Nullable(Type.Union([Type.String({ maxLength: 100_000 }), Type.Array(ContentPart, { maxItems: 100 })])),
    name: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const ChatCompletionBody = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'a served model name, optionally `name@version`' }),
    messages: Type.Array(ChatMessageIn, { minItems: 1, maxItems: 200 }),
    stream: Type.Optional(Nullable(Type.Boolean())),
    stream_options: Type.Optional(
      Nullable(Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: true })),
    ),
    n: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1, description: 'one choice per call' }))),
    commons_top_k: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 50, description: 'Commons extension: attributed records returned' }),
    ),
  },
  { additionalProperties: true },
);
export type ChatCompletionBody = Static<typeof ChatCompletionBody>;

export const CommonsExtension = Type.Object(
  {
    callId: Type.String(),
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
      'Commons extension: the paid call, its fee and the records and contributors the answer is attributed to',
  },
);
export type CommonsExtension = Static<typeof CommonsExtension>;

const Usage = Type.Object({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
});

export const ChatCompletionResponse = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('chat.completion'),
    created: Type.Integer(),
    model: Type.String(),
    system_fingerprint: Nullable(Type.String()),
    choices: Type.Array(
      Type.Object({
        index: Type.Integer(),
        message: Type.Object({
          role: Type.Literal('assistant'),
          content: Type.String(),
          refusal: Type.Null(),
        }),
        finish_reason: Type.Literal('stop'),
        logprobs: Type.Null(),
      }),
    ),
    usage: Usage,
    commons: CommonsExtension,
  },
  {
    description:
      'a chat completion; with `stream: true` the answer is text/event-stream of chat.completion.chunk objects ending with `data: [DONE]`',
  },
);
export type ChatCompletionResponse = Static<typeof ChatCompletionResponse>;

export const ModelListResponse = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      object: Type.Literal('model'),
      created: Type.Integer(),
      owned_by: Type.String(),
      commons: Type.Object({ productionVersion: Type.Integer(), task: Type.String() }),
    }),
  ),
  ...nextCursorField,
});
export const ModelListQuery = pageQuery({});
export type ModelListResponse = Static<typeof ModelListResponse>;
