// The OpenAI-compatible surface for agent frameworks and stock clients: chat completions, the
// Responses API, embeddings and the models. Same API keys, fees, attribution and receipts as
// /v1/models/:name/infer; every request field is honoured or refused (api/openai/fields.ts); errors
// come in OpenAI's shape on these routes only (this plugin is encapsulated).
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context.js';
import type { ModelCache } from '../inference/model-cache.js';
import type { PaidCalls } from '../inference/paid-calls.js';
import { installOpenAIErrors } from '../openai/errors.js';
import { chatCompletionRoutes } from '../openai/chat-completions.js';
import { modelRoutes } from '../openai/models.js';
import { embeddingRoutes } from '../openai/embeddings.js';
import { responseRoutes } from '../openai/responses.js';

export const openaiRoutes =
  (ctx: ApiContext, handle: { cache: ModelCache; paid: PaidCalls }): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    installOpenAIErrors(app);
    modelRoutes(app, ctx.sql);
    chatCompletionRoutes(app, ctx.sql, handle.paid);
    embeddingRoutes(app, ctx.sql, handle.paid);
    responseRoutes(app, ctx.sql, handle.paid);
    done();
  };
