// An OpenAI chat completion request → a conversation and GenerationOptions. Fields are first
// checked against the field table (api/openai/fields.ts); what remains is mapped here, and anything
// inside a field that cannot be honoured (an image part, a built-in tool) is refused naming it.
import type { ChatCompletionBody } from '../schemas/openai-chat.js';
import type {
  ChatMessage,
  GenerationOptions,
  ResponseFormat,
  ToolChoice,
  ToolSpec,
} from '../../ml/serving/predictor.js';
import { CHAT_COMPLETION_FIELDS, STREAM_OPTION_FIELDS, checkFields } from './fields.js';
import { invalidParam } from './errors.js';
import { openaiRequestOf, type OpenAIRequest } from './paid-request.js';

export interface ChatRequest extends OpenAIRequest {
  includeUsage: boolean;
}

type Body = ChatCompletionBody;
type BodyMessage = Body['messages'][number];

/** Refuses any key of a nested object outside `allowed`, naming it. */
export function onlyKeys(value: object, allowed: readonly string[], param: string): void {
  for (const k of Object.keys(value))
    if (!allowed.includes(k))
      throw invalidParam(`${param}.${k}`, `unknown parameter '${param}.${k}'`, 'unknown_parameter');
}

/** A message's text: a string, or its text parts joined (any other part is refused). */
export function textOf(content: BodyMessage['content'], param: string): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content
    .map((p, i) => {
      if (p.type !== 'text' && p.type !== 'refusal')
        throw invalidParam(`${param}[${i}].type`, `content parts of type '${p.type}' are not supported: text only`);
      return p.text ?? '';
    })
    .join('\n');
}

const MESSAGE_KEYS: Record<BodyMessage['role'], readonly string[]> = {
  system: ['role', 'content', 'name'],
  developer: ['role', 'content', 'name'],
  user: ['role', 'content', 'name'],
  assistant: ['role', 'content', 'name', 'tool_calls', 'refusal'],
  tool: ['role', 'content', 'tool_call_id'],
};

function messageOf(m: BodyMessage, i: number): ChatMessage {
  const param = `messages[${i}]`;
  onlyKeys(m, MESSAGE_KEYS[m.role], param);
  const extra = m as BodyMessage & { name?: unknown; refusal?: unknown };
  if (extra.name !== undefined && extra.name !== null)
    throw invalidParam(`${param}.name`, 'participant names are not supported: Commons models read one user');
  if (extra.refusal !== undefined && extra.refusal !== null)
    throw invalidParam(`${param}.refusal`, 'an assistant refusal cannot be replayed to a Commons model');
  const content = textOf(m.content, `${param}.content`);
  if (m.role === 'tool') {
    if (!m.tool_call_id)
      throw invalidParam(`${param}.tool_call_id`, 'a tool message needs the tool_call_id it answers');
    return { role: 'tool', content, toolCallId: m.tool_call_id };
  }
  if (m.role === 'assistant' && m.tool_calls?.length) {
    const toolCalls = m.tool_calls.map((c, j) => {
      const at = `${param}.tool_calls[${j}]`;
      onlyKeys(c, ['id', 'type', 'function'], at);
      onlyKeys(c.function, ['name', 'arguments'], `${at}.function`);
      if (c.type !== 'function') throw invalidParam(`${at}.type`, `tool calls of type '${c.type}' are not supported`);
      return { id: c.id, name: c.function.name, arguments: c.function.arguments };
    });
    return { role: 'assistant', content, toolCalls };
  }
  return { role: m.role, content };
}

function toolsOf(tools: NonNullable<Body['tools']>): ToolSpec[] {
  return tools.map((t, i) => {
    const at = `tools[${i}]`;
    onlyKeys(t, ['type', 'function'], at);
    if (t.type !== 'function' || !t.function)
      throw invalidParam(`${at}.type`, `tools of type '${t.type}' are not supported: function tools only`);
    onlyKeys(t.function, ['name', 'description', 'parameters', 'strict'], `${at}.function`);
    const f = t.function;
    return {
      name: f.name,
      ...(f.description !== undefined ? { description: f.description } : {}),
      ...(f.parameters !== undefined ? { parameters: f.parameters } : {}),
      ...(f.strict !== undefined && f.strict !== null ? { strict: f.strict } : {}),
    };
  });
}

export function toolChoiceOf(c: NonNullable<Body['tool_choice']>, tools: ToolSpec[] | undefined): ToolChoice {
  if (!tools?.length && c !== 'none')
    throw invalidParam('tool_choice', "'tool_choice' is only allowed when 'tools' are given");
  if (typeof c === 'string') {
    if (c === 'auto' || c === 'none' || c === 'required') return c;
    throw invalidParam('tool_choice', `tool_choice '${c}' is not one of none, auto, required`);
  }
  onlyKeys(c, ['type', 'function'], 'tool_choice');
  if (c.type !== 'function' || !c.function)
    throw invalidParam('tool_choice.type', `tool_choice of type '${c.type}' is not supported: a named function only`);
  const { name } = c.function;
  if (!tools?.some((t) => t.name === name))
    throw invalidParam('tool_choice.function.name', `tool_choice names '${name}', which is not among the tools`);
  return { name };
}

export function responseFormatOf(f: NonNullable<Body['response_format']>, param: string): ResponseFormat {
  onlyKeys(f, ['type', 'json_schema'], param);
  if (f.type === 'text' || f.type === 'json_object') return { type: f.type };
  if (f.type !== 'json_schema') throw invalidParam(`${param}.type`, `${param} type '${f.type}' is not supported`);
  const s = f.json_schema;
  if (!s?.schema) throw invalidParam(`${param}.json_schema.schema`, 'a json_schema response format needs its schema');
  onlyKeys(s, ['name', 'description', 'schema', 'strict'], `${param}.json_schema`);
  return { type: 'json_schema', name: s.name, schema: s.schema, ...(s.strict ? { strict: true } : {}) };
}

/** The options a chat request sets (nulls are "not set"). */
function optionsOf(b: Body): GenerationOptions {
  if (b.max_tokens != null && b.max_completion_tokens != null && b.max_tokens !== b.max_completion_tokens)
    throw invalidParam('max_tokens', 'max_tokens and max_completion_tokens disagree: send one');
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? undefined;
  const tools = b.tools?.length ? toolsOf(b.tools) : undefined;
  const o: GenerationOptions = {};
  if (maxTokens !== undefined) o.maxTokens = maxTokens;
  if (b.temperature != null) o.temperature = b.temperature;
  if (b.top_p != null) o.topP = b.top_p;
  if (b.stop != null) o.stop = typeof b.stop === 'string' ? [b.stop] : b.stop;
  if (b.seed != null) o.seed = b.seed;
  if (b.n != null) o.n = b.n;
  if (tools) o.tools = tools;
  if (b.tool_choice != null) o.toolChoice = toolChoiceOf(b.tool_choice, tools);
  if (b.response_format != null) o.responseFormat = responseFormatOf(b.response_format, 'response_format');
  return o;
}

/** The request, or a 400 naming the first field that cannot be honoured. */
export function chatRequestOf(b: Body): ChatRequest {
  checkFields(b, CHAT_COMPLETION_FIELDS);
  if (b.stream_options) {
    if (!b.stream) throw invalidParam('stream_options', "'stream_options' is only allowed with 'stream: true'");
    checkFields(b.stream_options, STREAM_OPTION_FIELDS, 'stream_options');
  }
  return {
    ...openaiRequestOf(b, b.messages.map(messageOf), optionsOf(b), 'messages'),
    includeUsage: b.stream_options?.include_usage === true,
  };
}
