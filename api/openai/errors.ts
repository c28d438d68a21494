// The OpenAI error shape, `{ error: { message, type, param, code } }`, for the OpenAI-compatible
// routes only (the rest of the API answers `{ error, details }`): stock clients and agent frameworks
// read `error.message`, `error.code` and `error.param` to decide what went wrong and whether to retry.
import type { FastifyError, FastifyInstance } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { HttpError } from '../errors.js';
import { inputFaultOf } from '../request-guards.js';
import { Nullable } from '../schemas/common.js';
import { OPENAI_PARAM, UnsupportedOption, type GenerationOptions } from '../../ml/serving/predictor.js';

export const OpenAIErrorBody = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.String({ description: 'invalid_request_error, insufficient_quota, requests, server_error' }),
      param: Nullable(Type.String()),
      code: Nullable(Type.String()),
    }),
  },
  { description: "OpenAI's error shape" },
);

/** A route's success bodies plus OpenAI's error body for every 4xx and 5xx. */
export const openaiResponses = <R extends Record<number, TSchema>>(success: R) =>
  ({ ...success, '4xx': OpenAIErrorBody, '5xx': OpenAIErrorBody }) as R & {
    '4xx': typeof OpenAIErrorBody;
    '5xx': typeof OpenAIErrorBody;
  };

/** An error that names the request field at fault (`param`) and OpenAI's machine-readable `code`. */
export class OpenAIError extends HttpError {
  constructor(
    statusCode: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(statusCode, message);
  }
}

/** 400 for a request field: its path in OpenAI's dotted/indexed form (`messages[2].content`). */
export const invalidParam = (param: string, message: string, code: string | null = null) =>
  new OpenAIError(400, message, param, code);

/** OpenAI's type and code for a status, as its clients expect them. */
function classify(status: number): { type: string; code: string | null; param?: string } {
  switch (status) {
    case 401:
      return { type: 'invalid_request_error', code: 'invalid_api_key' };
    // 402 rather than OpenAI's 429 for an empty balance: clients retry a 429, and no retry can pay.
    case 402:
      return { type: 'insufficient_quota', code: 'insufficient_quota' };
    case 404:
      return { type: 'invalid_request_error', code: 'model_not_found', param: 'model' };
    case 410:
      return { type: 'invalid_request_error', code: 'model_retired', param: 'model' };
    case 413:
      return { type: 'invalid_request_error', code: 'request_too_large' };
    case 429:
      return { type: 'requests', code: 'rate_limit_exceeded' };
    default:
      return status >= 500 ? { type: 'server_error', code: null } : { type: 'invalid_request_error', code: null };
  }
}

/** `/messages/0/content` → `messages[0].content` (OpenAI's spelling of a param). */
export function paramOf(instancePath: string): string | null {
  const parts = instancePath.split('/').filter(Boolean);
  if (parts.length === 0) return null;
  return parts.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}

/** Installs the OpenAI error shape on one encapsulated plugin (the OpenAI routes). */
export function installOpenAIErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | HttpError | Error, req, reply) => {
    const send = (status: number, message: string, param: string | null = null, code?: string | null) => {
      const c = classify(status);
      return reply.code(status).send({
        error: { message, type: c.type, param: param ?? c.param ?? null, code: code === undefined ? c.code : code },
      });
    };
    if (err instanceof OpenAIError) return send(err.statusCode, err.message, err.param, err.code ?? undefined);
    if (err instanceof HttpError) {
      const retry = (err.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (err.statusCode === 429 && retry) reply.header('retry-after', String(retry));
      return send(err.statusCode, err.message);
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const param = first
        ? paramOf(
            first.instancePath +
              (first.keyword === 'required' ? `/${(first.params as { missingProperty: string }).missingProperty}` : ''),
          )
        : null;
      return send(400, `invalid request: ${fe.message}`, param);
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return send(fe.statusCode, fe.message);
    const fault = inputFaultOf(err);
    if (fault) return send(400, fault);
    req.log.error({ err }, 'unhandled error');
    return send(500, 'internal error');
  });
}

/**
 * A predictor's refusal as OpenAI's 400, naming the request field the option came from (each
 * endpoint spells some differently: `max_output_tokens`, `text.format`).
 */
export async function refusingOptions<T>(
  run: () => Promise<T>,
  fields: Partial<Record<keyof GenerationOptions, string>> = {},
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof UnsupportedOption)) throw err;
    const key = err.param as keyof GenerationOptions;
    throw invalidParam(fields[key] ?? OPENAI_PARAM[key] ?? err.param, err.message, 'unsupported_parameter');
  }
}
