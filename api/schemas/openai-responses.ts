// POST /v1/responses (the Agents SDK's default API): text or items in, message and function_call
// items out; with `stream: true`, the Responses event stream.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';
import {
  CommonsExtension,
  ContentPart,
  FunctionName,
  JsonSchema,
  ModelRef,
  OpenAIText,
  openaiBody,
  sharedRequestFields,
} from './openai.js';
import { RESPONSES_FIELDS } from '../openai/fields.js';

export const ResponseInputItem = Type.Object(
  {
    type: Type.Optional(Type.String({ description: 'message (default), function_call, function_call_output' })),
    role: Type.Optional(Type.String()),
    content: Type.Optional(Type.Union([OpenAIText, Type.Array(ContentPart, { maxItems: 100 })])),
    call_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    name: Type.Optional(FunctionName),
    arguments: Type.Optional(Type.String({ maxLength: 100_000 })),
    output: Type.Optional(Type.Union([OpenAIText, Type.Array(ContentPart, { maxItems: 100 })])),
  },
  { additionalProperties: true },
);

export const ResponseTool = Type.Object(
  {
    type: Type.String(),
    name: Type.Optional(FunctionName),
    description: Type.Optional(Nullable(Type.String({ maxLength: 10_000 }))),
    parameters: Type.Optional(Nullable(JsonSchema)),
    strict: Type.Optional(Nullable(Type.Boolean())),
  },
  { additionalProperties: true },
);

const ResponseFormatIn = Type.Object(
  {
    type: Type.String(),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    schema: Type.Optional(JsonSchema),
    strict: Type.Optional(Nullable(Type.Boolean())),
  },
  { additionalProperties: true },
);

export const ResponseBody = openaiBody(
  RESPONSES_FIELDS,
  {
    model: ModelRef,
    input: Type.Union([OpenAIText, Type.Array(ResponseInputItem, { minItems: 1, maxItems: 200 })]),
    instructions: Type.Optional(Nullable(OpenAIText)),
    ...sharedRequestFields,
    tools: Type.Optional(Nullable(Type.Array(ResponseTool, { maxItems: 128 }))),
    tool_choice: Type.Optional(
      Nullable(
        Type.Union([
          Type.String(),
          Type.Object({ type: Type.String(), name: Type.Optional(FunctionName) }, { additionalProperties: true }),
        ]),
      ),
    ),
    text: Type.Optional(
      Nullable(Type.Object({ format: Type.Optional(ResponseFormatIn) }, { additionalProperties: true })),
    ),
    max_output_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    metadata: Type.Optional(
      Nullable(Type.Record(Type.String(), Type.String({ maxLength: 512 }), { maxProperties: 16 })),
    ),
  },
  'an OpenAI Responses request: every field is honoured or refused with a 400 naming it (docs/openai.md)',
);
export type ResponseBody = Static<typeof ResponseBody>;

const OutputText = Type.Object({
  type: Type.Literal('output_text'),
  text: Type.String(),
  annotations: Type.Array(Type.Unknown()),
});

export const MessageItem = Type.Object({
  type: Type.Literal('message'),
  id: Type.String(),
  status: Type.String(),
  role: Type.Literal('assistant'),
  content: Type.Array(OutputText),
});

export const FunctionCallItem = Type.Object({
  type: Type.Literal('function_call'),
  id: Type.String(),
  call_id: Type.String(),
  name: Type.String(),
  arguments: Type.String(),
  status: Type.String(),
});

export const ResponseObject = Type.Object(
  {
    id: Type.String({ description: '`resp_<receipt>`' }),
    object: Type.Literal('response'),
    created_at: Type.Integer(),
    status: Type.String({
      description: 'completed, incomplete (max_output_tokens reached), in_progress while streaming',
    }),
    model: Type.String(),
    output: Type.Array(Type.Union([MessageItem, FunctionCallItem])),
    output_text: Type.String(),
    error: Type.Null(),
    incomplete_details: Nullable(Type.Object({ reason: Type.String() })),
    instructions: Nullable(Type.String()),
    max_output_tokens: Nullable(Type.Integer()),
    metadata: Type.Record(Type.String(), Type.String()),
    parallel_tool_calls: Type.Boolean(),
    previous_response_id: Type.Null(),
    store: Type.Boolean(),
    temperature: Nullable(Type.Number()),
    top_p: Nullable(Type.Number()),
    tool_choice: Type.Unknown(),
    tools: Type.Array(Type.Unknown()),
    text: Type.Object({ format: Type.Unknown() }),
    truncation: Type.Literal('disabled'),
    usage: Nullable(
      Type.Object({
        input_tokens: Type.Integer(),
        input_tokens_details: Type.Object({ cached_tokens: Type.Integer() }),
        output_tokens: Type.Integer(),
        output_tokens_details: Type.Object({ reasoning_tokens: Type.Integer() }),
        total_tokens: Type.Integer(),
      }),
    ),
    commons: CommonsExtension,
  },
  {
    description:
      'a response; with `stream: true`, text/event-stream of Responses events ending with response.completed',
  },
);
export type ResponseObject = Static<typeof ResponseObject>;
