import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { HttpError } from './errors.js';
import { SIGNED_HANDLER, precheckSigner, verifySignature, type SignedOptions } from './auth.js';

// Hostile input is refused here, once for every route, before it reaches a handler, the JSON
// canonicaliser or Postgres: signed bodies are verified before they are parsed, and no string that
// Postgres cannot store (NUL, lone surrogates) nor any structure nested deeper than MAX_JSON_DEPTH
// gets past parsing. A route's own schema then bounds sizes and ranges.

/** Request bodies larger than this are refused with 413 before they are read (data submission routes raise it). */
export const DEFAULT_BODY_LIMIT = 256 * 1024;
/** Deeper JSON is refused with 400: recursive code (canonical JSON, hashing, Postgres jsonb) must never see it. */
export const MAX_JSON_DEPTH = 64;

const LONE_SURROGATE = /\p{Cs}/u;

/** Why Postgres could not store this text, or undefined. */
export function unsafeText(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000), which cannot be stored';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate, which is not valid Unicode';
  return undefined;
}

/** The first problem in a parsed JSON value (unsafe text in a key or string, or too deep), with where it is. */
export function unsafeJson(value: unknown, where = 'body', maxDepth = MAX_JSON_DEPTH): string | undefined {
  // Iterative, so the check itself cannot overflow the stack; paths are built only for the culprit.
  const stack: { v: unknown; depth: number; path: () => string }[] = [{ v: value, depth: 0, path: () => where }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { v, depth, path } = item;
    if (typeof v === 'string') {
      const why = unsafeText(v);
      if (why) return `${path()} ${why}`;
    } else if (v !== null && typeof v === 'object') {
      if (depth >= maxDepth) return `${path()} is nested more than ${maxDepth} levels deep`;
      if (Array.isArray(v)) {
        v.forEach((x, i) => stack.push({ v: x, depth: depth + 1, path: () => `${path()}[${i}]` }));
      } else {
        for (const [k, x] of Object.entries(v)) {
          const why = unsafeText(k);
          if (why) return `a key in ${path()} ${why}`;
          stack.push({ v: x, depth: depth + 1, path: () => `${path()}.${k}` });
        }
      }
    }
  }
  return undefined;
}

const asList = <T>(h: T | T[] | undefined): T[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]);

/**
 * Installs the guards on the root instance, before any route is registered:
 * - routes whose preHandler comes from `signed(...)` are marked; their signature headers, the
 *   signer's registration and roles are checked on request (before the body is read) and the
 *   signature over the raw bytes before parsing;
 * - JSON bodies are parsed only within the route's body limit (413 otherwise) and refused when
 *   they hold unsafe text or nest too deep; path parameters and query strings likewise.
 */
export function installRequestGuards(
  app: FastifyInstance,
  deploymentId: string,
  adminAddresses: readonly string[],
): void {
  app.decorate('commonsDeploymentId', deploymentId);
  app.decorate('commonsAdmins', new Set(adminAddresses) as ReadonlySet<string>);

  app.addHook('onRoute', (route) => {
    const pre = asList(route.preHandler);
    const opts = pre
      .map((h) => (h as unknown as Record<symbol, SignedOptions | undefined>)[SIGNED_HANDLER])
      .find((o) => o !== undefined);
    if (!opts) return;
    route.config = { ...route.config, signed: true };
    const precheck: onRequestHookHandler = (req, _reply, done) => {
      precheckSigner(req, opts).then(
        () => done(),
        (err: Error) => done(err),
      );
    };
    route.onRequest = [precheck, ...asList(route.onRequest as onRequestHookHandler | onRequestHookHandler[])];
  });

  // Signatures cover the exact body bytes, so keep them beside the parsed JSON.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    if (req.routeOptions.config.signed) {
      const check = verifySignature(req, body);
      if (!check.ok) return done(new HttpError(401, check.reason), undefined);
      req.signatureCheck = check;
    }
    if (body.length === 0) return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return done(new HttpError(400, 'request body is not valid JSON'), undefined);
    }
    const why = unsafeJson(parsed);
    if (why) return done(new HttpError(400, `invalid request: ${why}`), undefined);
    done(null, parsed);
  });

  app.addHook('preValidation', (req: FastifyRequest, _reply, done) => {
    const why = unsafeJson(req.params, 'path') ?? unsafeJson(req.query, 'query');
    done(why ? new HttpError(400, `invalid request: ${why}`) : undefined);
  });
}

/**
 * A Postgres error caused by a value the client sent (a data exception such as an out-of-range
 * number or untranslatable text, or a value too large to index): the reason for a 400, or undefined.
 * The schemas refuse such input first; this is the net under them.
 */
export function inputFaultOf(err: unknown): string | undefined {
  const e = err as { name?: string; code?: unknown; message?: string };
  if (e?.name !== 'PostgresError' || typeof e.code !== 'string') return undefined;
  if (e.code.startsWith('22') || e.code === '54000') return `invalid request: a value was refused (${e.message})`;
  return undefined;
}
