/**
 * Commons' predictor types to and from the OpenAI chat-completions wire format, as an
 * OpenAI-compatible upstream (vLLM, serve.py, the stand-in) speaks it.
 */
import type {
  ChatMessage,
  FinishReason,
  GenerationOptions,
  PredictionEvent,
  ToolCall,
  ToolChoice,
} from './prediction.js';
import { OPENAI_PARAM, UnsupportedOption } from './options.js';

export interface WireToolCall {
  id?: string;
  type?: 'function';
  index?: number;
  function?: { name?: string; arguments?: string };
}
export interface WireMessage {
  role: string;
  content: string | null;
  tool_calls?: WireToolCall[];
  tool_call_id?: string;
}
export interface WireChoice {
  index?: number;
  message?: { content?: string | null; tool_calls?: WireToolCall[] };
  delta?: { content?: string | null; tool_calls?: WireToolCall[] };
  finish_reason?: string | null;
  /** serve.py's classification extension. */
  label_probabilities?: Record<string, number>;
}
export interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}
export interface WireCompletion {
  choices?: WireChoice[];
  usage?: WireUsage | null;
}

export function wireMessages(messages: readonly ChatMessage[]): WireMessage[] {
  return messages.map((m) => {
    // `developer` is the newer name of `system`; not every upstream knows it yet.
    const role = m.role === 'developer' ? 'system' : m.role;
    if (m.role === 'tool') return { role, content: m.content, tool_call_id: m.toolCallId ?? '' };
    if (m.toolCalls?.length)
      return {
        role,
        content: m.content || null,
        tool_calls: m.toolCalls.map((t) => ({
          id: t.id,
          type: 'function' as const,
          function: { name: t.name, arguments: t.arguments },
        })),
      };
    return { role, content: m.content };
  });
}

function wireToolChoice(c: ToolChoice): unknown {
  return typeof c === 'string' ? c : { type: 'function', function: { name: c.name } };
}

/** The OpenAI request fields of `options`; only what the caller set is sent (the upstream's defaults stand). */
export function wireOptions(o: GenerationOptions = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (o.maxTokens !== undefined) body.max_tokens = o.maxTokens;
  if (o.temperature !== undefined) body.temperature = o.temperature;
  if (o.topP !== undefined) body.top_p = o.topP;
  if (o.stop !== undefined) body.stop = o.stop;
  if (o.seed !== undefined) body.seed = o.seed;
  if (o.n !== undefined) body.n = o.n;
  if (o.tools !== undefined)
    body.tools = o.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
        ...(t.strict !== undefined ? { strict: t.strict } : {}),
      },
    }));
  if (o.toolChoice !== undefined) body.tool_choice = wireToolChoice(o.toolChoice);
  const f = o.responseFormat;
  if (f)
    body.response_format =
      f.type === 'json_schema'
        ? {
            type: 'json_schema',
            json_schema: { name: f.name, schema: f.schema, ...(f.strict !== undefined ? { strict: f.strict } : {}) },
          }
        : { type: f.type };
  return body;
}

export function finishReason(raw: string | null | undefined): FinishReason {
  return raw === 'length' ? 'length' : raw === 'tool_calls' || raw === 'function_call' ? 'tool_calls' : 'stop';
}

export function toolCallsOf(calls: readonly WireToolCall[] | undefined): ToolCall[] | undefined {
  if (!calls?.length) return undefined;
  return calls.map((c, i) => ({
    id: c.id ?? `call_${i}`,
    name: c.function?.name ?? '',
    arguments: c.function?.arguments ?? '',
  }));
}

/** The deltas of one streamed chunk's choices. */
export function chunkDeltas(choices: readonly WireChoice[]): PredictionEvent[] {
  const out: PredictionEvent[] = [];
  for (const c of choices) {
    const choice = c.index ?? 0;
    if (c.delta?.content) out.push({ type: 'delta', choice, text: c.delta.content });
    for (const [i, t] of (c.delta?.tool_calls ?? []).entries())
      out.push({
        type: 'delta',
        choice,
        toolCall: {
          index: t.index ?? i,
          ...(t.id !== undefined ? { id: t.id } : {}),
          ...(t.function?.name !== undefined ? { name: t.function.name } : {}),
          ...(t.function?.arguments !== undefined ? { argumentsDelta: t.function.arguments } : {}),
        },
      });
  }
  return out;
}

const OPTION_OF_PARAM = new Map(Object.entries(OPENAI_PARAM).map(([option, param]) => [param, option]));

/**
 * An upstream's refusal: a 400 naming the request field it cannot honour becomes `UnsupportedOption`
 * (the caller gets the upstream's reason), anything else an error.
 */
export function upstreamError(path: string, status: number, text: string): Error {
  let err: { message?: string; param?: string | null } | undefined;
  try {
    err = (JSON.parse(text) as { error?: typeof err }).error;
  } catch {}
  if (status === 400 && err?.param)
    return new UnsupportedOption(
      OPTION_OF_PARAM.get(err.param) ?? err.param,
      err.message ?? `upstream refused ${err.param}`,
    );
  return new Error(`upstream ${path} answered ${status}: ${text.slice(0, 300)}`);
}

/** Server-sent events' `data:` payloads, as they arrive; ends at `[DONE]` or the end of the body. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const data = event
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data === '[DONE]') return;
        if (data) yield data;
      }
      if (done) return;
    }
  } finally {
    // A reader that stops early (an aborted call) closes the upstream request too.
    await reader.cancel().catch(() => undefined);
  }
}
