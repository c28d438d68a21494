// What chat completions and responses share once their own fields are mapped: the conversation's
// check, the Commons extension and end-user fields, and the paid call built from them with the
// client's hang-up wired to the model.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiKeyOf } from '../api-key-auth.js';
import type { PaidCall } from '../inference/paid-answer.js';
import type { ChatMessage, GenerationOptions } from '../../ml/serving/predictor.js';
import { invalidParam } from './errors.js';
import { parseModel } from './model-ref.js';

export interface OpenAIRequest {
  model: string;
  messages: ChatMessage[];
  options: GenerationOptions;
  topK: number;
  stream: boolean;
  /** `parallel_tool_calls: false`: at most one tool call per choice. */
  singleToolCall: boolean;
  endUser?: string;
}

interface SharedFields {
  model: string;
  stream?: boolean | null;
  parallel_tool_calls?: boolean | null;
  user?: string | null;
  safety_identifier?: string | null;
  commons_top_k?: number;
}

/** The request, once the conversation has a user turn with text (400 naming `param` otherwise). */
export function openaiRequestOf(
  b: SharedFields,
  messages: ChatMessage[],
  options: GenerationOptions,
  param: string,
): OpenAIRequest {
  if (!messages.some((m) => m.role === 'user' && m.content.trim() !== ''))
    throw invalidParam(param, `'${param}' needs at least one user message with text`);
  const endUser = b.user ?? b.safety_identifier ?? undefined;
  return {
    model: b.model,
    messages,
    options,
    topK: b.commons_top_k ?? 5,
    stream: b.stream === true,
    singleToolCall: b.parallel_tool_calls === false,
    ...(endUser ? { endUser } : {}),
  };
}

/**
 * The paid call for a request, and the abort that stops the model when the client hangs up
 * (nothing is charged before the model's attribution; after it, the call is paid once).
 */
export function paidCallOf(
  req: FastifyRequest,
  reply: FastifyReply,
  r: OpenAIRequest,
): { call: PaidCall; abort: AbortController } {
  const { name, version } = parseModel(r.model);
  const abort = new AbortController();
  reply.raw.on('close', () => abort.abort());
  return {
    abort,
    call: {
      key: apiKeyOf(req),
      model: name,
      ...(version !== undefined ? { version } : {}),
      request: { messages: r.messages, topK: r.topK, options: r.options, signal: abort.signal },
      ...(r.endUser ? { endUser: r.endUser } : {}),
    },
  };
}
