import type { FastifyReply, FastifyRequest } from 'fastify';
import type postgres from 'postgres';
import { checkSignedRequest, type ReplayGuard } from '../identity/request-signing.js';
import { HttpError } from './errors.js';
import { findAccountRoles } from '../db/queries/accounts.js';
import { claimSignature, pruneExpiredSignatures } from '../db/queries/signatures.js';

export type Role = 'developer' | 'governor' | 'contributor' | 'reviewer' | 'validator' | 'app-builder' | 'admin';
export const ROLES: Role[] = ['developer', 'governor', 'contributor', 'reviewer', 'validator', 'app-builder', 'admin'];
const isRole = (r: string): r is Role => (ROLES as string[]).includes(r);

/** Roles an account may take for itself at registration; admin comes from COMMONS_ADMIN_ADDRESSES. */
export const SELF_ASSIGNABLE: Role[] = ['developer', 'governor', 'contributor', 'reviewer', 'validator', 'app-builder'];

export interface Caller {
  address: string;
  publicKey: string;
  roles: Role[];
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    caller?: Caller;
  }
}

/** Replay protection shared by every API instance: a signature can be claimed once. */
export class PostgresReplayGuard implements ReplayGuard {
  private lastPrune = 0;
  constructor(private readonly sql: postgres.Sql) {}

  async claim(signature: string, expiresAt: number): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastPrune > 60_000) {
      this.lastPrune = now;
      await pruneExpiredSignatures(this.sql);
    }
    return claimSignature(this.sql, signature, new Date(expiresAt));
  }
}

/**
 * Verifies the request signature (401), refuses replays (401), loads the account and checks it
 * holds one of `roles` (403). `allowUnregistered` is for registration itself.
 */
export function signed(opts: {
  sql: postgres.Sql;
  replayGuard: ReplayGuard;
  roles?: Role[];
  allowUnregistered?: boolean;
}) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const check = await checkSignedRequest({
      method: req.method,
      path: req.url,
      headers: req.headers,
      rawBody: req.rawBody ?? Buffer.alloc(0),
      now: Date.now(),
      replayGuard: opts.replayGuard,
    });
    if (!check.ok) throw new HttpError(401, check.reason);
    const registered = await findAccountRoles(opts.sql, check.address);
    if (!registered && !opts.allowUnregistered)
      throw new HttpError(403, `account ${check.address} is not registered (POST /v1/accounts first)`);
    const roles = (registered ?? []).filter(isRole);
    if (opts.roles && !opts.roles.some((r) => roles.includes(r))) {
      throw new HttpError(
        403,
        `this action needs the role ${opts.roles.join(' or ')}; ${check.address} has ${roles.length ? roles.join(', ') : 'no roles'}`,
      );
    }
    req.caller = { address: check.address, publicKey: check.publicKey, roles };
  };
}

/** The verified caller of a route behind `signed(...)`; a route without that preHandler gets a 401. */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw new HttpError(401, 'this request must be signed');
  return req.caller;
}

/** The request's signature (unique: replays are refused), e.g. as an idempotency key. */
export function signatureOf(req: FastifyRequest): string {
  const s = req.headers['x-commons-signature'];
  if (typeof s !== 'string') throw new HttpError(401, 'this request must be signed');
  return s;
}
