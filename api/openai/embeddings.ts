// POST /v1/embeddings: one paid call per request (the version's fee per call, whatever the number
// of inputs up to MAX_EMBEDDING_INPUTS), attributed to the contributors of the training set the
// embedding space was built from, by their attribution weights (no single record is drawn on).
import type postgres from 'postgres';
import type { OpenAIApp } from './app.js';
import { apiKeyOf, authenticateApiKey } from '../api-key-auth.js';
import type { PaidCalls } from '../inference/paid-calls.js';
import { NotOffered, paidEmbeddings } from '../inference/paid-answer.js';
import { EmbeddingBody, EmbeddingResponse } from '../schemas/openai-embeddings.js';
import { EMBEDDING_FIELDS, checkFields } from './fields.js';
import { OpenAIError, openaiResponses } from './errors.js';
import { parseModel } from './model-ref.js';
import { commonsOf, paidHeaders } from './paid-headers.js';

function base64Of(v: number[]): string {
  const f = new Float32Array(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

export function embeddingRoutes(app: OpenAIApp, sql: postgres.Sql, paid: PaidCalls): void {
  app.post(
    '/v1/embeddings',
    {
      schema: {
        summary: 'OpenAI-compatible embeddings (float or base64), from a model that has them; paid and attributed',
        tags: ['openai'],
        body: EmbeddingBody,
        response: openaiResponses({ 200: EmbeddingResponse }),
      },
      onRequest: authenticateApiKey(sql),
    },
    async (req, reply) => {
      const b = req.body;
      checkFields(b, EMBEDDING_FIELDS);
      const { name, version } = parseModel(b.model);
      const inputs = typeof b.input === 'string' ? [b.input] : b.input;
      const endUser = b.user ?? undefined;
      const a = await paidEmbeddings(paid, req, {
        key: apiKeyOf(req),
        model: name,
        ...(version !== undefined ? { version } : {}),
        inputs,
        ...(endUser ? { endUser } : {}),
      }).catch((err: unknown) => {
        // A model without embeddings is a request for something it cannot do, named by its field.
        if (err instanceof NotOffered) throw new OpenAIError(400, err.message, 'model', 'model_not_supported');
        throw err;
      });
      return reply.headers(paidHeaders(a)).send({
        object: 'list' as const,
        data: a.vectors.map((v, index) => ({
          object: 'embedding' as const,
          index,
          embedding: b.encoding_format === 'base64' ? base64Of(v) : v,
        })),
        model: `${a.v.modelName}@${a.v.version}`,
        usage: { prompt_tokens: a.promptTokens, total_tokens: a.promptTokens },
        commons: commonsOf(a),
      });
    },
  );
}
