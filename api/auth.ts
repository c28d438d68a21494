import type { FastifyReply, FastifyRequest } from 'fastify';
import type postgres from 'postgres';
import { checkSignedRequest, type ReplayGuard } from '../identity/request-signing.js';
import { HttpError } from './errors.js';

export type Role = 'developer' | 'governor' | 'contributor' | 'reviewer' | 'validator' | 'app-builder' | 'admin';
export const ROLES: Role[] = ['developer', 'governor', 'contributor', 'reviewer', 'validator', 'app-builder', 'admin'];
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
      await this.sql`delete from used_signatures where expires_at < now()`;
    }
    const rows = await this
      .sql`insert into used_signatures (signature, expires_at) values (${signature}, ${new Date(expiresAt).toISOString()}) on conflict do nothing returning 1`;
    return rows.length === 1;
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
    const [acct] = await opts.sql`select roles from accounts where address = ${check.address}`;
    if (!acct && !opts.allowUnregistered)
      throw new HttpError(403, `account ${check.address} is not registered (POST /v1/accounts first)`);
    const roles = (acct?.roles ?? []) as Role[];
    if (opts.roles && !opts.roles.some((r) => roles.includes(r))) {
      throw new HttpError(
        403,
        `this action needs the role ${opts.roles.join(' or ')}; ${check.address} has ${roles.length ? roles.join(', ') : 'no roles'}`,
      );
    }
    req.caller = { address: check.address, publicKey: check.publicKey, roles };
  };
}
