import { hash } from 'node:crypto';
import type postgres from 'postgres';
import type { FastifyRequest } from 'fastify';
import type { ApiKey } from '../db/queries/api-keys.js';
import { ApiKeyLookup } from './api-key-lookup.js';
import { HttpError } from './errors.js';

// One-shot crypto.hash: no Hash object per call (the key check runs on every paid call).
export const sha256 = (s: string) => hash('sha256', s, 'hex');

declare module 'fastify' {
  interface FastifyRequest {
    /** The inference API key this request was authenticated with (authenticateApiKey). */
    apiKey?: ApiKey;
  }
}

/** One coalescing lookup per database client, shared by every route that takes an API key. */
const lookups = new WeakMap<postgres.Sql, ApiKeyLookup>();

/**
 * onRequest hook of the routes paid for with an API key: the key is checked against Postgres on
 * every request (no cache: calls arriving together share one query sent after they arrived, see
 * api/api-key-lookup.ts), so a revocation holds at once on every replica, and before the body is
 * read or any model is loaded, so an unauthenticated caller costs a lookup and nothing more.
 */
export function authenticateApiKey(sql: postgres.Sql): (req: FastifyRequest) => Promise<void> {
  let lookup = lookups.get(sql);
  if (!lookup) lookups.set(sql, (lookup = new ApiKeyLookup(sql)));
  const keys = lookup;
  return async (req) => {
    const raw = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '') || String(req.headers['x-api-key'] ?? '');
    if (!raw)
      throw new HttpError(
        401,
        'an API key is required (Authorization: Bearer <key>); issue one with POST /v1/api-keys',
      );
    const k = await keys.find(sha256(raw));
    if (!k) throw new HttpError(401, 'unknown API key');
    if (k.revoked) throw new HttpError(401, 'this API key has been revoked');
    req.apiKey = k;
  };
}

/** The API key of a request behind authenticateApiKey. */
export function apiKeyOf(req: FastifyRequest): ApiKey {
  if (!req.apiKey) throw new HttpError(401, 'an API key is required');
  return req.apiKey;
}
