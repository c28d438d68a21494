// OpenAI-compatible inference for agent frameworks: POST /v1/chat/completions (JSON or, with
// `stream: true`, server-sent events) and GET /v1/models. Same API keys, fees and attribution as
// /v1/models/:name/infer: the fee is committed (group commit) before the first byte of the answer
// is sent, so an aborted stream is still charged exactly once and an unpaid call gets no answer.
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context.js';
import { apiKeyOf, authenticateApiKey } from '../api-key-auth.js';
import type { ModelCache } from '../inference/model-cache.js';
import type { PaidCalls } from '../inference/paid-calls.js';
import { badRequest } from '../errors.js';
import { responses } from '../schemas/common.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';
import {
  ChatCompletionBody,
  ChatCompletionResponse,
  ModelListQuery,
  ModelListResponse,
  type CommonsExtension,
} from '../schemas/openai.js';
import { listServedModels } from '../../db/queries/models.js';
import { wordTokens } from '../../domain/data/tokenize.js';
import type { ChatMessage } from '../../ml/serving/predictor.js';

/** Words per streamed chunk. */
const WORDS_PER_CHUNK = 4;
/** The attribution header stays well below common proxies' header size limits. */
const MAX_ATTRIBUTION_HEADER = 4096;

type BodyMessage = ChatCompletionBody['messages'][number];

/** A message's text: a string, or the text parts of a content array. */
function textOf(content: BodyMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content
    .filter((p) => p.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text)
    .join('\n');
}

/** `name` or `name@version`. */
function parseModel(model: string): { name: string; version?: number } {
  const at = model.lastIndexOf('@');
  if (at <= 0) return { name: model };
  const version = Number(model.slice(at + 1));
  if (!Number.isInteger(version) || version < 1)
    throw badRequest(`model "${model}": the version after @ must be a positive integer`);
  return { name: model.slice(0, at), version };
}

/** `contributor;w=weight` pairs, comma-separated, cut to the header budget. */
function attributionHeader(c: CommonsExtension['attribution']['contributors']): string {
  let out = '';
  for (const x of c) {
    const part = `${out ? ',' : ''}${x.contributor};w=${x.weight.toFixed(6)}`;
    if (out.length + part.length > MAX_ATTRIBUTION_HEADER) break;
    out += part;
  }
  return out;
}

export const openaiRoutes =
  (ctx: ApiContext, handle: { cache: ModelCache; paid: PaidCalls }): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql } = ctx;
    const { paid } = handle;

    app.get(
      '/v1/models',
      {
        schema: {
          summary: 'OpenAI-compatible list of the served models (those with a production version)',
          tags: ['openai'],
          querystring: ModelListQuery,
          response: responses({ 200: ModelListResponse }),
        },
      },
      async (req) => {
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [after] = decodeCursor<[string]>(req.query.cursor, ['string']) ?? [];
        const { items, nextCursor } = pageOf(await listServedModels(sql, { limit: limit + 1, after }), limit, (m) => [
          m.name,
        ]);
        return {
          object: 'list' as const,
          data: items.map((m) => ({
            id: m.name,
            object: 'model' as const,
            created: Math.floor(m.createdAt.getTime() / 1000),
            owned_by: m.developer,
            commons: { productionVersion: m.productionVersion, task: m.task },
          })),
          nextCursor,
        };
      },
    );

    app.post(
      '/v1/chat/completions',
      {
        schema: {
          summary: 'OpenAI-compatible chat completion (stream: true for server-sent events); paid and attributed',
          tags: ['openai'],
          body: ChatCompletionBody,
          response: responses({ 200: ChatCompletionResponse }),
        },
        // The key is checked before the body is read or a model is loaded.
        onRequest: authenticateApiKey(sql),
      },
      async (req, reply) => {
        const b = req.body;
        const key = apiKeyOf(req);
        const { name, version } = parseModel(b.model);
        const messages: ChatMessage[] = b.messages
          .map((m) => ({ role: m.role, content: textOf(m.content).trim() }))
          .filter((m) => m.content !== '');
        if (!messages.some((m) => m.role === 'user'))
          throw badRequest('messages need at least one user message with text');
        // Admitted (the key's owner can pay) before the model is loaded or asked anything.
        const v = await paid.admittedVersion(key, name, version);
        const prediction = await v.predictor.predict({ messages, topK: b.commons_top_k ?? 5 });
        // Durable before anything of the answer leaves: 402 (nothing charged, no answer) or 503 here.
        const { callId, fee } = await paid.charge(req, v, key, prediction.attribution);
        const commons: CommonsExtension = {
          callId,
          model: v.modelName,
          version: v.version,
          fee: fee.toString(),
          attribution: { contributors: prediction.attribution.contributors, records: prediction.attribution.records },
        };
        const headers = {
          'x-commons-call-id': callId,
          'x-commons-fee': fee.toString(),
          'x-commons-model-version': `${v.modelName}@${v.version}`,
          'x-commons-attribution': attributionHeader(commons.attribution.contributors),
        };
        const id = `chatcmpl-${callId}`;
        const created = Math.floor(Date.now() / 1000);
        const model = `${v.modelName}@${v.version}`;
        const promptTokens = messages.reduce((n, m) => n + wordTokens(m.content).length, 0);
        const completionTokens = wordTokens(prediction.output).length;
        const usage = {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        };

        if (!b.stream) {
          return reply.headers(headers).send({
            id,
            object: 'chat.completion' as const,
            created,
            model,
            system_fingerprint: null,
            choices: [
              {
                index: 0,
                message: { role: 'assistant' as const, content: prediction.output, refusal: null },
                finish_reason: 'stop' as const,
                logprobs: null,
              },
            ],
            usage,
            commons,
          });
        }

        // Server-sent events: the response is written by hand from here on.
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          ...headers,
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
        });
        const chunk = (delta: Record<string, unknown>, finish: 'stop' | null, extra: Record<string, unknown> = {}) =>
          `data: ${JSON.stringify({
            id,
            object: 'chat.completion.chunk',
            created,
            model,
            system_fingerprint: null,
            choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
            ...extra,
          })}\n\n`;
        const send = async (data: string) => {
          if (res.destroyed || res.writableEnded) return false;
          if (!res.write(data)) await new Promise<void>((r) => res.once('drain', r).once('close', r));
          return !res.destroyed;
        };
        const words = prediction.output.match(/\S+\s*/g) ?? [];
        let open = await send(chunk({ role: 'assistant', content: '' }, null));
        for (let i = 0; open && i < words.length; i += WORDS_PER_CHUNK) {
          open = await send(chunk({ content: words.slice(i, i + WORDS_PER_CHUNK).join('') }, null));
          await new Promise((r) => setImmediate(r));
        }
        if (open) open = await send(chunk({}, 'stop', { commons }));
        if (open && b.stream_options?.include_usage)
          open = await send(
            `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices: [], usage })}\n\n`,
          );
        if (open) await send('data: [DONE]\n\n');
        if (!res.destroyed) res.end();
      },
    );
    done();
  };
