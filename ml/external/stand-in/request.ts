/**
 * The stand-in upstream reads a chat completion request as vLLM does and refuses, with OpenAI's
 * error shape and the field's name, anything it would not honour: a field it does not know is a
 * 400, never ignored, so a predictor that forwards something wrong is caught in tests.
 */
import { randomInt } from 'node:crypto';
import type { StandInMessage, StandInRequest, StandInTool } from './completion.js';

export class BadRequest extends Error {
  constructor(
    readonly param: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** Default and ceiling of generated tokens per choice (the stand-in's "context window"). */
export const DEFAULT_MAX_TOKENS = 256;
export const MAX_TOKENS = 4096;
const MAX_N = 8;

const KNOWN = new Set([
  'model',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'seed',
  'n',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'stream',
  'stream_options',
  'user',
]);

type Body = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(body: Body, key: string, lo: number, hi: number, fallback: number, integer = false): number {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v)))
    throw new BadRequest(key, `${key} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
  return v;
}

function content(v: unknown, at: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v))
    return v
      .map((p) => (isObject(p) && p.type === 'text' && typeof p.text === 'string' ? p.text : ''))
      .filter(Boolean)
      .join('\n');
  throw new BadRequest(at, `${at} must be a string or an array of text parts`);
}

function messages(v: unknown): StandInMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw new BadRequest('messages', 'messages must be a non-empty array');
  return v.map((m, i) => {
    if (!isObject(m) || typeof m.role !== 'string') throw new BadRequest('messages', `messages[${i}] needs a role`);
    if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(m.role))
      throw new BadRequest('messages', `messages[${i}].role "${m.role}" is not a chat role`);
    const calls = Array.isArray(m.tool_calls)
      ? m.tool_calls.map((c: unknown) => {
          const f = isObject(c) && isObject(c.function) ? c.function : undefined;
          if (!f || typeof f.name !== 'string')
            throw new BadRequest('messages', `messages[${i}].tool_calls need a function name`);
          return {
            id: isObject(c) && typeof c.id === 'string' ? c.id : '',
            name: f.name,
            arguments: typeof f.arguments === 'string' ? f.arguments : '',
          };
        })
      : undefined;
    return {
      role: m.role,
      content: content(m.content, `messages[${i}].content`),
      ...(calls ? { toolCalls: calls } : {}),
    };
  });
}

function tools(v: unknown): StandInTool[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadRequest('tools', 'tools must be an array');
  return v.map((t, i) => {
    const f = isObject(t) && t.type === 'function' && isObject(t.function) ? t.function : undefined;
    if (!f || typeof f.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(f.name))
      throw new BadRequest('tools', `tools[${i}] must be {type: "function", function: {name, parameters?}}`);
    const parameters = f.parameters;
    if (parameters !== undefined && !isObject(parameters))
      throw new BadRequest('tools', `tools[${i}].function.parameters must be a JSON Schema object`);
    return {
      name: f.name,
      ...(typeof f.description === 'string' ? { description: f.description } : {}),
      ...(parameters ? { parameters } : {}),
    };
  });
}

function toolChoice(v: unknown, known: StandInTool[]): StandInRequest['toolChoice'] {
  if (v === undefined || v === null) return known.length ? 'auto' : 'none';
  if (v === 'auto' || v === 'none' || v === 'required') {
    if (v === 'required' && !known.length) throw new BadRequest('tool_choice', 'tool_choice "required" needs tools');
    return v;
  }
  const name = isObject(v) && v.type === 'function' && isObject(v.function) ? v.function.name : undefined;
  if (typeof name !== 'string')
    throw new BadRequest('tool_choice', 'tool_choice must be auto, none, required or a function');
  if (!known.some((t) => t.name === name))
    throw new BadRequest('tool_choice', `tool_choice names "${name}", not in tools`);
  return { name };
}

function responseFormat(v: unknown): StandInRequest['responseFormat'] {
  if (v === undefined || v === null) return { type: 'text' };
  if (!isObject(v)) throw new BadRequest('response_format', 'response_format must be an object');
  if (v.type === 'text' || v.type === 'json_object') return { type: v.type };
  if (v.type === 'json_schema' && isObject(v.json_schema) && isObject(v.json_schema.schema))
    return { type: 'json_schema', schema: v.json_schema.schema };
  throw new BadRequest('response_format', 'response_format must be text, json_object or json_schema with a schema');
}

function stop(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== 'string' || s === ''))
    throw new BadRequest('stop', 'stop must be a string or up to 4 non-empty strings');
  return list as string[];
}

export function parseChatRequest(
  body: Body,
): StandInRequest & { model: string; stream: boolean; includeUsage: boolean } {
  for (const k of Object.keys(body))
    if (!KNOWN.has(k)) throw new BadRequest(k, `the stand-in upstream does not support ${k}`);
  if (typeof body.model !== 'string') throw new BadRequest('model', 'model is required');
  const t = tools(body.tools);
  const maxKey = body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions))
    throw new BadRequest('stream_options', 'stream_options must be an object');
  return {
    model: body.model,
    messages: messages(body.messages),
    n: num(body, 'n', 1, MAX_N, 1, true),
    maxTokens: num(body, maxKey, 1, MAX_TOKENS, DEFAULT_MAX_TOKENS, true),
    temperature: num(body, 'temperature', 0, 2, 1),
    topP: num(body, 'top_p', Number.MIN_VALUE, 1, 1),
    stop: stop(body.stop),
    // Unseeded requests draw a seed, as a sampling server does.
    seed: num(body, 'seed', -(2 ** 53), 2 ** 53, randomInt(2 ** 31), true),
    tools: t,
    toolChoice: toolChoice(body.tool_choice, t),
    responseFormat: responseFormat(body.response_format),
    stream: body.stream === true,
    includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
  };
}
