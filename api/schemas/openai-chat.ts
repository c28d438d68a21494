// POST /v1/chat/completions as the official clients and agent frameworks send and read it.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';
import {
  ChatUsage,
  CommonsExtension,
  ContentPart,
  FunctionName,
  JsonSchema,
  ModelRef,
  OpenAIText,
  openaiBody,
  sharedRequestFields,
} from './openai.js';
import { CHAT_COMPLETION_FIELDS } from '../openai/fields.js';

export const MAX_CHOICES = 8;

export const ToolCallIn = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.String(),
    function: Type.Object(
      { name: FunctionName, arguments: Type.String({ maxLength: 100_000 }) },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true },
);

export const ChatMessageIn = Type.Object(
  {
    role: Type.Union([
      Type.Literal('system'),
      Type.Literal('developer'),
      Type.Literal('user'),
      Type.Literal('assistant'),
      Type.Literal('tool'),
    ]),
    content: Type.Optional(Nullable(Type.Union([OpenAIText, Type.Array(ContentPart, { maxItems: 100 })]))),
    tool_calls: Type.Optional(Nullable(Type.Array(ToolCallIn, { maxItems: 64 }))),
    tool_call_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: true },
);

export const ToolIn = Type.Object(
  {
    type: Type.String(),
    function: Type.Optional(
      Type.Object(
        {
          name: FunctionName,
          description: Type.Optional(Type.String({ maxLength: 10_000 })),
          parameters: Type.Optional(JsonSchema),
          strict: Type.Optional(Nullable(Type.Boolean())),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);

export const ToolChoiceIn = Type.Union([
  Type.String(),
  Type.Object(
    { type: Type.String(), function: Type.Optional(Type.Object({ name: FunctionName })) },
    { additionalProperties: true },
  ),
]);

export const ResponseFormatIn = Type.Object(
  {
    type: Type.String(),
    json_schema: Type.Optional(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 64 }),
          description: Type.Optional(Type.String({ maxLength: 10_000 })),
          schema: Type.Optional(JsonSchema),
          strict: Type.Optional(Nullable(Type.Boolean())),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);

const MaxTokens = Type.Integer({ minimum: 1, maximum: 1_000_000 });

export const ChatCompletionBody = openaiBody(
  CHAT_COMPLETION_FIELDS,
  {
    model: ModelRef,
    messages: Type.Array(ChatMessageIn, { minItems: 1, maxItems: 200 }),
    ...sharedRequestFields,
    stream_options: Type.Optional(
      Nullable(Type.Object({ include_usage: Type.Optional(Nullable(Type.Boolean())) }, { additionalProperties: true })),
    ),
    n: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: MAX_CHOICES }))),
    max_tokens: Type.Optional(Nullable(MaxTokens)),
    max_completion_tokens: Type.Optional(Nullable(MaxTokens)),
    seed: Type.Optional(
      Nullable(Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })),
    ),
    stop: Type.Optional(
      Nullable(
        Type.Union([Type.String({ maxLength: 200 }), Type.Array(Type.String({ maxLength: 200 }), { maxItems: 4 })]),
      ),
    ),
    tools: Type.Optional(Nullable(Type.Array(ToolIn, { maxItems: 128 }))),
    tool_choice: Type.Optional(Nullable(ToolChoiceIn)),
    response_format: Type.Optional(Nullable(ResponseFormatIn)),
  },
  'an OpenAI chat completion request: every field is honoured or refused with a 400 naming it (docs/openai.md)',
);
export type ChatCompletionBody = Static<typeof ChatCompletionBody>;

const ToolCallOut = Type.Object({
  id: Type.String(),
  type: Type.Literal('function'),
  function: Type.Object({ name: Type.String(), arguments: Type.String() }),
});

export const FinishReasonOut = Type.Union([Type.Literal('stop'), Type.Literal('length'), Type.Literal('tool_calls')]);

export const ChatCompletionResponse = Type.Object(
  {
    id: Type.String({ description: '`chatcmpl-<receipt>`' }),
    object: Type.Literal('chat.completion'),
    created: Type.Integer(),
    model: Type.String(),
    system_fingerprint: Nullable(Type.String()),
    choices: Type.Array(
      Type.Object({
        index: Type.Integer(),
        message: Type.Object({
          role: Type.Literal('assistant'),
          content: Nullable(Type.String()),
          refusal: Type.Null(),
          tool_calls: Type.Optional(Type.Array(ToolCallOut)),
        }),
        finish_reason: FinishReasonOut,
        logprobs: Type.Null(),
      }),
    ),
    usage: ChatUsage,
    commons: CommonsExtension,
  },
  {
    description:
      'a chat completion; with `stream: true` the answer is text/event-stream of chat.completion.chunk objects ending with `data: [DONE]`',
  },
);
export type ChatCompletionResponse = Static<typeof ChatCompletionResponse>;
