// POST /v1/responses: the Responses API over the same paid, attributed prediction as chat
// completions. Streamed, it emits the Responses events as the model produces tokens: the message
// item and each function call item are opened on their first delta and closed at the end, then
// response.completed carries the whole response (as a non-streamed call returns it).
import type postgres from 'postgres';
import type { OpenAIApp } from './app.js';
import { authenticateApiKey } from '../api-key-auth.js';
import type { PaidCalls } from '../inference/paid-calls.js';
import { paidPrediction, paidStream, type Receipted } from '../inference/paid-answer.js';
import { ResponseBody, ResponseObject } from '../schemas/openai-responses.js';
import type { Choice, FinishReason, Usage } from '../../ml/serving/predictor.js';
import { responsesRequestOf, type ResponsesRequest } from './responses-request.js';
import { openaiResponses, refusingOptions } from './errors.js';
import { paidCallOf } from './paid-request.js';
import { commonsOf, paidHeaders } from './paid-headers.js';
import { openEventStream } from './sse.js';

type Item = ResponseObject['output'][number];
const OPTION_FIELDS = { maxTokens: 'max_output_tokens', responseFormat: 'text.format' };

/** The response object around an output; `usage` null while it streams. */
function responseOf(
  b: ResponseBody,
  r: ResponsesRequest,
  a: Receipted,
  created: number,
  done: { output: Item[]; finish: FinishReason | undefined; usage: Usage } | undefined,
): ResponseObject {
  const output = done?.output ?? [];
  return {
    id: `resp_${a.receipt}`,
    object: 'response',
    created_at: created,
    status: !done ? 'in_progress' : done.finish === 'length' ? 'incomplete' : 'completed',
    model: `${a.v.modelName}@${a.v.version}`,
    output,
    output_text: output.flatMap((i) => (i.type === 'message' ? i.content.map((c) => c.text) : [])).join(''),
    error: null,
    incomplete_details: done?.finish === 'length' ? { reason: 'max_output_tokens' } : null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    // Frameworks keep `metadata`: the receipt id survives there too.
    metadata: { ...(b.metadata ?? {}), commons_receipt: a.receipt },
    parallel_tool_calls: !r.singleToolCall,
    previous_response_id: null,
    store: false,
    temperature: b.temperature ?? null,
    top_p: b.top_p ?? null,
    tool_choice: b.tool_choice ?? 'auto',
    tools: b.tools ?? [],
    text: { format: b.text?.format ?? { type: 'text' } },
    truncation: 'disabled',
    usage: done
      ? {
          input_tokens: done.usage.promptTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: done.usage.completionTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: done.usage.promptTokens + done.usage.completionTokens,
        }
      : null,
    commons: commonsOf(a),
  };
}

const messageItem = (receipt: string, text: string, status: string): Item => ({
  type: 'message',
  id: `msg_${receipt}`,
  status,
  role: 'assistant',
  content: status === 'in_progress' ? [] : [{ type: 'output_text', text, annotations: [] }],
});

const callItem = (
  receipt: string,
  i: number,
  c: { id: string; name: string; arguments: string },
  status: string,
): Item => ({
  type: 'function_call',
  id: `fc_${receipt}_${i}`,
  call_id: c.id,
  name: c.name,
  arguments: c.arguments,
  status,
});

/** A whole choice as output items: its text (if any) then its calls. */
function outputOf(receipt: string, c: Choice, single: boolean): Item[] {
  const calls = (c.toolCalls ?? []).slice(0, single ? 1 : undefined);
  return [
    ...(c.output ? [messageItem(receipt, c.output, 'completed')] : []),
    ...calls.map((t, i) => callItem(receipt, i, t, 'completed')),
  ];
}

export function responseRoutes(app: OpenAIApp, sql: postgres.Sql, paid: PaidCalls): void {
  app.post(
    '/v1/responses',
    {
      schema: {
        summary:
          'OpenAI-compatible Responses API (text or items in, message and function_call items out; stream: true for its events); paid and attributed',
        tags: ['openai'],
        body: ResponseBody,
        response: openaiResponses({ 200: ResponseObject }),
      },
      onRequest: authenticateApiKey(sql),
    },
    async (req, reply) => {
      const b = req.body;
      const r = responsesRequestOf(b);
      const { call, abort } = paidCallOf(req, reply, r);
      const created = Math.floor(Date.now() / 1000);

      if (!r.stream) {
        const a = await refusingOptions(() => paidPrediction(paid, req, call), OPTION_FIELDS);
        const c = a.prediction.choices[0] ?? { output: '', finishReason: 'stop' as const };
        return reply.headers(paidHeaders(a)).send(
          responseOf(b, r, a, created, {
            output: outputOf(a.receipt, c, r.singleToolCall),
            finish: c.finishReason,
            usage: a.prediction.usage,
          }),
        );
      }

      const a = await refusingOptions(() => paidStream(paid, req, call), OPTION_FIELDS);
      const sink = openEventStream(reply, paidHeaders(a), abort);
      let seq = 0;
      let open = true;
      const emit = async (type: string, data: Record<string, unknown>) => {
        if (open) open = await sink.send({ type, sequence_number: seq++, ...data }, type);
      };
      // Items in the order they were opened: their output_index.
      const items: (
        { kind: 'text'; text: string } | { kind: 'call'; index: number; id: string; name: string; arguments: string }
      )[] = [];
      let textAt = -1;
      const callAt = new Map<number, number>();
      await emit('response.created', { response: responseOf(b, r, a, created, undefined) });
      await emit('response.in_progress', { response: responseOf(b, r, a, created, undefined) });
      try {
        for (let e = await a.events.next(); open && !e.done; e = await a.events.next()) {
          const ev = e.value;
          if (ev.type === 'delta' && ev.choice === 0 && ev.text) {
            if (textAt < 0) {
              textAt = items.push({ kind: 'text', text: '' }) - 1;
              await emit('response.output_item.added', {
                output_index: textAt,
                item: messageItem(a.receipt, '', 'in_progress'),
              });
              await emit('response.content_part.added', {
                item_id: `msg_${a.receipt}`,
                output_index: textAt,
                content_index: 0,
                part: { type: 'output_text', text: '', annotations: [] },
              });
            }
            const t = items[textAt];
            if (t?.kind === 'text') t.text += ev.text;
            await emit('response.output_text.delta', {
              item_id: `msg_${a.receipt}`,
              output_index: textAt,
              content_index: 0,
              delta: ev.text,
              logprobs: [],
            });
          } else if (ev.type === 'delta' && ev.choice === 0 && ev.toolCall) {
            const tc = ev.toolCall;
            if (r.singleToolCall && tc.index > 0) continue;
            let at = callAt.get(tc.index);
            if (at === undefined) {
              at =
                items.push({ kind: 'call', index: tc.index, id: tc.id ?? '', name: tc.name ?? '', arguments: '' }) - 1;
              callAt.set(tc.index, at);
              const c = items[at] as { id: string; name: string; arguments: string };
              await emit('response.output_item.added', {
                output_index: at,
                item: callItem(a.receipt, tc.index, c, 'in_progress'),
              });
            }
            const c = items[at];
            if (c?.kind === 'call') {
              if (tc.id) c.id = tc.id;
              if (tc.name) c.name = tc.name;
              c.arguments += tc.argumentsDelta ?? '';
            }
            if (tc.argumentsDelta)
              await emit('response.function_call_arguments.delta', {
                item_id: `fc_${a.receipt}_${tc.index}`,
                output_index: at,
                delta: tc.argumentsDelta,
              });
          } else if (ev.type === 'done') {
            const output: Item[] = [];
            for (const [i, it] of items.entries()) {
              if (it.kind === 'text') {
                const item = messageItem(a.receipt, it.text, 'completed');
                await emit('response.output_text.done', {
                  item_id: item.id,
                  output_index: i,
                  content_index: 0,
                  text: it.text,
                  logprobs: [],
                });
                await emit('response.content_part.done', {
                  item_id: item.id,
                  output_index: i,
                  content_index: 0,
                  part: { type: 'output_text', text: it.text, annotations: [] },
                });
                await emit('response.output_item.done', { output_index: i, item });
                output.push(item);
              } else {
                const item = callItem(a.receipt, it.index, it, 'completed');
                await emit('response.function_call_arguments.done', {
                  item_id: item.id,
                  output_index: i,
                  arguments: it.arguments,
                });
                await emit('response.output_item.done', { output_index: i, item });
                output.push(item);
              }
            }
            const finish = ev.finishReasons[0];
            await emit(finish === 'length' ? 'response.incomplete' : 'response.completed', {
              response: responseOf(b, r, a, created, { output, finish, usage: ev.usage }),
            });
          }
        }
        await sink.end();
      } catch (err) {
        // A client that hung up stopped the model: paid, nothing more to say.
        if (abort.signal.aborted) return await sink.end();
        req.log.error({ err }, 'response stream failed after its fee was committed');
        await emit('error', { code: 'server_error', message: 'the model failed mid-answer', param: null });
        await sink.end();
      } finally {
        await a.events.return?.();
      }
    },
  );
}
