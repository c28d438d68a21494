// POST /v1/chat/completions: JSON, or with `stream: true` server-sent chunks relayed as the model
// produces them. The fee is committed on the model's first event (its attribution), before the
// first byte: an aborted stream is charged exactly once, an unpaid call gets no answer.
import type postgres from 'postgres';
import type { OpenAIApp } from './app.js';
import { authenticateApiKey } from '../api-key-auth.js';
import type { PaidCalls } from '../inference/paid-calls.js';
import { paidPrediction, paidStream } from '../inference/paid-answer.js';
import { ChatCompletionBody, ChatCompletionResponse } from '../schemas/openai-chat.js';
import type { Choice, PredictionEvent, Usage } from '../../ml/serving/predictor.js';
import { chatRequestOf } from './chat-request.js';
import { openaiResponses, refusingOptions } from './errors.js';
import { paidCallOf } from './paid-request.js';
import { commonsOf, paidHeaders } from './paid-headers.js';
import { openEventStream } from './sse.js';

const usageOf = (u: Usage) => ({
  prompt_tokens: u.promptTokens,
  completion_tokens: u.completionTokens,
  total_tokens: u.promptTokens + u.completionTokens,
});

function messageOf(c: Choice, single: boolean) {
  const calls = (c.toolCalls ?? []).slice(0, single ? 1 : undefined);
  return {
    role: 'assistant' as const,
    content: calls.length && !c.output ? null : c.output,
    refusal: null,
    ...(calls.length
      ? {
          tool_calls: calls.map((t) => ({
            id: t.id,
            type: 'function' as const,
            function: { name: t.name, arguments: t.arguments },
          })),
        }
      : {}),
  };
}

/** A stream delta as OpenAI's chunk delta; undefined for a tool call `parallel_tool_calls: false` leaves out. */
function deltaOf(e: Extract<PredictionEvent, { type: 'delta' }>, single: boolean): Record<string, unknown> | undefined {
  if (e.toolCall) {
    const t = e.toolCall;
    if (single && t.index > 0) return undefined;
    return {
      tool_calls: [
        {
          index: t.index,
          ...(t.id !== undefined ? { id: t.id, type: 'function' } : {}),
          function: { ...(t.name !== undefined ? { name: t.name } : {}), arguments: t.argumentsDelta ?? '' },
        },
      ],
    };
  }
  return e.text ? { content: e.text } : undefined;
}

export function chatCompletionRoutes(app: OpenAIApp, sql: postgres.Sql, paid: PaidCalls): void {
  app.post(
    '/v1/chat/completions',
    {
      schema: {
        summary:
          'OpenAI-compatible chat completion (stream: true for server-sent events); tools, JSON schema and sampling options honoured or refused; paid and attributed',
        tags: ['openai'],
        body: ChatCompletionBody,
        response: openaiResponses({ 200: ChatCompletionResponse }),
      },
      // The key is checked before the body is read or a model is loaded.
      onRequest: authenticateApiKey(sql),
    },
    async (req, reply) => {
      const r = chatRequestOf(req.body);
      const { call, abort } = paidCallOf(req, reply, r);
      const fields = { maxTokens: req.body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens' };
      const created = Math.floor(Date.now() / 1000);

      if (!r.stream) {
        const a = await refusingOptions(() => paidPrediction(paid, req, call), fields);
        return reply.headers(paidHeaders(a)).send({
          id: `chatcmpl-${a.receipt}`,
          object: 'chat.completion' as const,
          created,
          model: `${a.v.modelName}@${a.v.version}`,
          system_fingerprint: null,
          choices: a.prediction.choices.map((c, index) => ({
            index,
            message: messageOf(c, r.singleToolCall),
            finish_reason: c.finishReason,
            logprobs: null,
          })),
          usage: usageOf(a.prediction.usage),
          commons: commonsOf(a),
        });
      }

      const a = await refusingOptions(() => paidStream(paid, req, call), fields);
      const sink = openEventStream(reply, paidHeaders(a), abort);
      const base = {
        id: `chatcmpl-${a.receipt}`,
        object: 'chat.completion.chunk',
        created,
        model: `${a.v.modelName}@${a.v.version}`,
        system_fingerprint: null,
      };
      const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
        sink.send({ ...base, choices, ...extra });
      const n = r.options.n ?? 1;
      let open = await chunk(
        Array.from({ length: n }, (_, index) => ({
          index,
          delta: { role: 'assistant', content: '' },
          finish_reason: null,
          logprobs: null,
        })),
      );
      try {
        for (let e = await a.events.next(); open && !e.done; e = await a.events.next()) {
          const ev = e.value;
          if (ev.type === 'delta') {
            const delta = deltaOf(ev, r.singleToolCall);
            if (delta) open = await chunk([{ index: ev.choice, delta, finish_reason: null, logprobs: null }]);
          } else if (ev.type === 'done') {
            for (const [index, finish] of ev.finishReasons.entries()) {
              const last = index === ev.finishReasons.length - 1;
              if (open)
                open = await chunk(
                  [{ index, delta: {}, finish_reason: finish, logprobs: null }],
                  last ? { commons: commonsOf(a) } : {},
                );
            }
            if (open && r.includeUsage) open = await chunk([], { usage: usageOf(ev.usage) });
          }
        }
        await sink.end(open);
      } catch (err) {
        // Paid already: the client learns why its answer stopped, in OpenAI's stream error shape.
        // A client that hung up stopped the model: paid, nothing more to say.
        if (abort.signal.aborted) return await sink.end();
        req.log.error({ err }, 'chat completion stream failed after its fee was committed');
        if (open)
          await sink.send({
            error: { message: 'the model failed mid-answer', type: 'server_error', param: null, code: null },
          });
        await sink.end();
      } finally {
        await a.events.return?.();
      }
    },
  );
}
