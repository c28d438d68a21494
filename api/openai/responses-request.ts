// An OpenAI Responses request → a conversation and GenerationOptions: `instructions` becomes a
// system message, input items become turns (function calls join the assistant turn before their
// outputs), and anything without a Commons meaning (built-in tools, stored state) is refused.
import type { ResponseBody } from '../schemas/openai-responses.js';
import type { ChatMessage, GenerationOptions, ToolSpec } from '../../ml/serving/predictor.js';
import { RESPONSES_FIELDS, checkFields } from './fields.js';
import { invalidParam } from './errors.js';
import { openaiRequestOf, type OpenAIRequest } from './paid-request.js';
import { onlyKeys, responseFormatOf, toolChoiceOf } from './chat-request.js';

export type ResponsesRequest = OpenAIRequest;

type Item = Exclude<ResponseBody['input'], string>[number];
type Content = Item['content'];

const ROLES = ['system', 'developer', 'user', 'assistant'] as const;
const ITEM_KEYS: Record<string, readonly string[]> = {
  message: ['type', 'role', 'content', 'id', 'status'],
  function_call: ['type', 'call_id', 'name', 'arguments', 'id', 'status'],
  function_call_output: ['type', 'call_id', 'output', 'id', 'status'],
};

function textOf(content: Content, param: string): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content
    .map((p, i) => {
      if (p.type !== 'input_text' && p.type !== 'output_text' && p.type !== 'text')
        throw invalidParam(`${param}[${i}].type`, `content parts of type '${p.type}' are not supported: text only`);
      return p.text ?? '';
    })
    .join('\n');
}

function turnsOf(input: ResponseBody['input']): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const out: ChatMessage[] = [];
  input.forEach((item, i) => {
    const param = `input[${i}]`;
    const type = item.type ?? 'message';
    const keys = ITEM_KEYS[type];
    if (!keys) throw invalidParam(`${param}.type`, `input items of type '${type}' are not supported`);
    onlyKeys(item, keys, param);
    if (type === 'message') {
      const role = ROLES.find((r) => r === item.role);
      if (!role) throw invalidParam(`${param}.role`, `role '${String(item.role)}' is not one of ${ROLES.join(', ')}`);
      out.push({ role, content: textOf(item.content, `${param}.content`) });
    } else if (type === 'function_call') {
      if (!item.call_id || !item.name) throw invalidParam(param, 'a function_call item needs its call_id and name');
      const call = { id: item.call_id, name: item.name, arguments: item.arguments ?? '{}' };
      const last = out[out.length - 1];
      // Calls made in one turn are one assistant message, as chat completions carry them.
      if (last?.role === 'assistant' && last.toolCalls) last.toolCalls.push(call);
      else out.push({ role: 'assistant', content: '', toolCalls: [call] });
    } else {
      if (!item.call_id)
        throw invalidParam(`${param}.call_id`, 'a function_call_output item needs the call_id it answers');
      out.push({ role: 'tool', content: textOf(item.output, `${param}.output`), toolCallId: item.call_id });
    }
  });
  return out;
}

function toolsOf(tools: NonNullable<ResponseBody['tools']>): ToolSpec[] {
  return tools.map((t, i) => {
    const at = `tools[${i}]`;
    if (t.type !== 'function' || !t.name)
      throw invalidParam(`${at}.type`, `tools of type '${t.type}' are not supported: function tools only`);
    onlyKeys(t, ['type', 'name', 'description', 'parameters', 'strict'], at);
    return {
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      ...(t.parameters ? { parameters: t.parameters } : {}),
      ...(t.strict ? { strict: true } : {}),
    };
  });
}

function optionsOf(b: ResponseBody): GenerationOptions {
  const o: GenerationOptions = {};
  const tools = b.tools?.length ? toolsOf(b.tools) : undefined;
  if (tools) o.tools = tools;
  if (b.tool_choice != null) {
    const c = b.tool_choice;
    if (typeof c !== 'string') onlyKeys(c, ['type', 'name'], 'tool_choice');
    o.toolChoice = toolChoiceOf(
      typeof c === 'string' ? c : { type: c.type, ...(c.name ? { function: { name: c.name } } : {}) },
      tools,
    );
  }
  if (b.max_output_tokens != null) o.maxTokens = b.max_output_tokens;
  if (b.temperature != null) o.temperature = b.temperature;
  if (b.top_p != null) o.topP = b.top_p;
  if (b.text) {
    onlyKeys(b.text, ['format'], 'text');
    const f = b.text.format;
    if (f) {
      const { type, ...schema } = f;
      o.responseFormat = responseFormatOf(
        type === 'json_schema' ? { type, json_schema: schema as { name: string } } : { type },
        'text.format',
      );
    }
  }
  return o;
}

/** The request, or a 400 naming the first field that cannot be honoured. */
export function responsesRequestOf(b: ResponseBody): ResponsesRequest {
  checkFields(b, RESPONSES_FIELDS);
  const messages = [
    ...(b.instructions ? [{ role: 'system' as const, content: b.instructions }] : []),
    ...turnsOf(b.input),
  ];
  return openaiRequestOf(b, messages, optionsOf(b), 'input');
}
