// Every request field the OpenAI API defines, per endpoint, and what Commons does with it: honoured
// (it changes the answer, or is recorded) or refused with a 400 naming the field. A field missing
// from a table is unknown and refused too, so nothing a client sends is ever dropped silently.
// docs/openai.md is this table in prose (api/openai/chat-request.test.ts checks it names every field).
import type { GenerationOptions } from '../../ml/serving/predictor.js';
import { invalidParam } from './errors.js';

export type FieldRule =
  | {
      honoured: string;
      /** The generation option it becomes: a predictor that cannot honour it refuses the call (checkOptions). */
      option?: keyof GenerationOptions;
    }
  | {
      refused: string;
      /** Values that ask for OpenAI's default behaviour (off, zero, empty), which Commons does give. */
      unless?: (value: unknown) => boolean;
    };

export type FieldTable = Readonly<Record<string, FieldRule>>;

const isZero = (v: unknown) => v === 0;
const isFalse = (v: unknown) => v === false;
const isEmpty = (v: unknown) =>
  (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/** Fields shared by chat completions and responses (same name, same meaning). */
const SAMPLING: FieldTable = {
  temperature: { honoured: 'sampling temperature', option: 'temperature' },
  top_p: { honoured: 'nucleus sampling', option: 'topP' },
  stream: { honoured: 'server-sent events as the model produces tokens (fee committed before the first byte)' },
  user: { honoured: "the end user's id, recorded on the receipt (`endUser`)" },
  safety_identifier: { honoured: "the end user's id, recorded on the receipt (`endUser`)" },
  service_tier: {
    refused: 'Commons has one service tier',
    unless: (v) => v === 'auto' || v === 'default',
  },
  prompt_cache_key: { refused: 'there is no prompt cache to key' },
  prompt_cache_retention: { refused: 'there is no prompt cache' },
  reasoning_effort: { refused: 'Commons models do not reason in hidden tokens' },
  verbosity: { refused: 'no Commons model takes a verbosity' },
};

export const CHAT_COMPLETION_FIELDS: FieldTable = {
  model: { honoured: 'a served model, `name` or `name@version`' },
  messages: {
    honoured: 'system, developer, user, assistant (with tool_calls) and tool messages; text content parts',
  },
  ...SAMPLING,
  max_tokens: { honoured: 'largest number of completion tokens', option: 'maxTokens' },
  max_completion_tokens: { honoured: 'largest number of completion tokens', option: 'maxTokens' },
  stop: { honoured: 'up to 4 stop sequences', option: 'stop' },
  seed: { honoured: 'reproducible sampling', option: 'seed' },
  n: { honoured: 'number of choices', option: 'n' },
  tools: { honoured: 'function tools (JSON Schema parameters)', option: 'tools' },
  tool_choice: { honoured: '`none`, `auto`, `required` or a named function', option: 'toolChoice' },
  parallel_tool_calls: { honoured: '`false`: at most one tool call per choice' },
  response_format: { honoured: '`text`, `json_object`, `json_schema`', option: 'responseFormat' },
  stream_options: { honoured: '`include_usage`: a final chunk with the usage' },
  store: { refused: 'completions are not stored (the receipt keeps only a hash of the input)', unless: isFalse },
  frequency_penalty: { refused: 'no Commons predictor applies a frequency penalty', unless: isZero },
  presence_penalty: { refused: 'no Commons predictor applies a presence penalty', unless: isZero },
  logit_bias: { refused: 'no Commons predictor takes a logit bias', unless: isEmpty },
  logprobs: { refused: 'no Commons predictor returns log probabilities', unless: isFalse },
  top_logprobs: { refused: 'no Commons predictor returns log probabilities', unless: isZero },
  metadata: { refused: 'stored completions are not kept (see `store`)', unless: isEmpty },
  modalities: {
    refused: 'Commons models answer in text only',
    unless: (v) => Array.isArray(v) && v.every((m) => m === 'text'),
  },
  audio: { refused: 'Commons models answer in text only' },
  prediction: { refused: 'predicted outputs are not supported' },
  web_search_options: { refused: 'Commons models do not search the web' },
  functions: { refused: 'deprecated by OpenAI: use `tools`' },
  function_call: { refused: 'deprecated by OpenAI: use `tool_choice`' },
  commons_top_k: { honoured: 'Commons extension: how many attributed records the answer names' },
};

export const RESPONSES_FIELDS: FieldTable = {
  model: { honoured: 'a served model, `name` or `name@version`' },
  input: { honoured: 'text, or message, function_call and function_call_output items' },
  instructions: { honoured: 'a system message before the input' },
  ...SAMPLING,
  max_output_tokens: { honoured: 'largest number of output tokens', option: 'maxTokens' },
  tools: { honoured: 'function tools (built-in tools are refused)', option: 'tools' },
  tool_choice: { honoured: '`none`, `auto`, `required` or a named function', option: 'toolChoice' },
  parallel_tool_calls: { honoured: '`false`: at most one function call' },
  text: { honoured: '`format`: `text`, `json_object`, `json_schema`', option: 'responseFormat' },
  metadata: { honoured: 'echoed on the response, beside `commons_receipt`' },
  store: { refused: 'responses are not stored (previous_response_id cannot refer to them)', unless: isFalse },
  include: { refused: 'no extra output data is available', unless: isEmpty },
  previous_response_id: { refused: 'responses are not stored: send the whole conversation as `input`' },
  conversation: { refused: 'conversations are not stored: send the whole conversation as `input`' },
  prompt: { refused: 'prompt templates are not supported' },
  reasoning: { refused: 'Commons models do not reason in hidden tokens', unless: isEmpty },
  truncation: { refused: 'inputs are never truncated', unless: (v) => v === 'disabled' },
  background: { refused: 'background responses are not supported', unless: isFalse },
  max_tool_calls: { refused: 'not supported' },
  top_logprobs: { refused: 'no Commons predictor returns log probabilities', unless: isZero },
  stream_options: { refused: 'no stream options are supported', unless: isEmpty },
  context_management: { refused: 'not supported' },
  prompt_cache_options: { refused: 'there is no prompt cache' },
  commons_top_k: { honoured: 'Commons extension: how many attributed records the answer names' },
};

export const EMBEDDING_FIELDS: FieldTable = {
  model: { honoured: 'a served model with embeddings, `name` or `name@version`' },
  input: { honoured: 'a string or an array of strings (token arrays are refused)' },
  encoding_format: { honoured: '`float` or `base64` (little-endian float32)' },
  user: { honoured: "the end user's id, recorded on the receipt (`endUser`)" },
  dimensions: { refused: "a model's embeddings have one fixed dimension" },
};

export const STREAM_OPTION_FIELDS: FieldTable = {
  include_usage: { honoured: 'a last chunk with the usage in the model tokens' },
  include_obfuscation: { refused: 'Commons streams are not padded', unless: isFalse },
};

/**
 * Refuses (400, naming the field) any field of `body` the table refuses or does not know. A null
 * value stands for "not set" and passes, as OpenAI's API treats it.
 */
export function checkFields(body: Record<string, unknown>, table: FieldTable, prefix = ''): void {
  for (const [name, value] of Object.entries(body)) {
    const param = prefix ? `${prefix}.${name}` : name;
    const rule = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!rule) throw invalidParam(param, `unknown parameter '${param}'`, 'unknown_parameter');
    if (value === null || value === undefined || 'honoured' in rule) continue;
    if (rule.unless?.(value)) continue;
    throw invalidParam(param, `'${param}' is not supported: ${rule.refused}`, 'unsupported_parameter');
  }
}
