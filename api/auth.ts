import type { FastifyReply, FastifyRequest } from 'fastify';
import type postgres from 'postgres';
import {
  HEADER_SIGNATURE,
  checkSignatureHeaders,
  verifyRequestSignature,
  type ReplayGuard,
  type SignatureCheck,
} from '../identity/request-signing.js';
import { HttpError } from './errors.js';
import { findAccountRoles } from '../db/queries/accounts.js';
import { claimSignature, pruneExpiredSignatures } from '../db/queries/signatures.js';

export type Role = 'developer' | 'governor' | 'contributor' | 'reviewer' | 'validator' | 'app-builder' | 'admin';
export const ROLES: Role[] = ['developer', 'governor', 'contributor', 'reviewer', 'validator', 'app-builder', 'admin'];
const isRole = (r: string): r is Role => (ROLES as string[]).includes(r);

/** Roles an account may take for itself at registration; admin comes from COMMONS_ADMIN_ADDRESSES. */
export const SELF_ASSIGNABLE: Role[] = ['developer', 'governor', 'contributor', 'reviewer', 'validator', 'app-builder'];

/**
 * The roles an account holds now: those it registered (admin is never stored) and admin while its
 * address is in COMMONS_ADMIN_ADDRESSES, so a removed address loses admin on its next request.
 */
export function effectiveRoles(stored: readonly string[], address: string, admins: ReadonlySet<string>): Role[] {
  const roles = stored.filter((r): r is Role => isRole(r) && SELF_ASSIGNABLE.includes(r));
  return admins.has(address) ? [...roles, 'admin'] : roles;
}

export interface Caller {
  address: string;
  publicKey: string;
  roles: Role[];
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    caller?: Caller;
    /** The claimed signer's roles, checked before the body was read (api/request-guards.ts). */
    signerRoles?: Role[];
    /** The signature verified over the raw body before it was parsed (api/request-guards.ts). */
    signatureCheck?: SignatureCheck;
  }
  interface FastifyInstance {
    /** Bound into every signed message (api/deployment.ts). */
    commonsDeploymentId: string;
    /** COMMONS_ADMIN_ADDRESSES: who holds the admin role, read on every request. */
    commonsAdmins: ReadonlySet<string>;
  }
  interface FastifyContextConfig {
    /** Set on routes behind `signed(...)`: headers are checked before the body is read, the signature before it is parsed. */
    signed?: boolean;
  }
}

/** Marks the preHandlers made by `signed(...)` with their options, so the server can find signed routes (api/request-guards.ts). */
export const SIGNED_HANDLER = Symbol('commons.signed');

export interface SignedOptions {
  sql: postgres.Sql;
  replayGuard: ReplayGuard;
  roles?: Role[];
  allowUnregistered?: boolean;
}

/**
 * The checks of a signed route before its body is read: headers well formed and fresh (401), the
 * claimed signer registered (403) and holding one of the route's roles (403). A stranger's 64 MiB
 * body is then refused for the price of one lookup, before it is read, hashed or parsed; the
 * signature over the body, checked next, proves the claimed address.
 */
export async function precheckSigner(req: FastifyRequest, opts: SignedOptions): Promise<void> {
  const h = checkSignatureHeaders({ headers: req.headers, now: Date.now() });
  if (!h.ok) throw new HttpError(401, h.reason);
  const registered = await findAccountRoles(opts.sql, h.address);
  if (!registered && !opts.allowUnregistered)
    throw new HttpError(403, `account ${h.address} is not registered (POST /v1/accounts first)`);
  const roles = effectiveRoles(registered ?? [], h.address, req.server.commonsAdmins);
  if (opts.roles && !opts.roles.some((r) => roles.includes(r))) {
    throw new HttpError(
      403,
      `this action needs the role ${opts.roles.join(' or ')}; ${h.address} has ${roles.length ? roles.join(', ') : 'no roles'}`,
    );
  }
  req.signerRoles = roles;
}

/** The full signature check over the exact body bytes (no replay claim: that comes after validation). */
export function verifySignature(req: FastifyRequest, rawBody: Buffer): SignatureCheck {
  return verifyRequestSignature({
    deploymentId: req.server.commonsDeploymentId,
    method: req.method,
    path: req.url,
    headers: req.headers,
    rawBody,
    now: Date.now(),
  });
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
 * Verifies the request signature (401) and refuses replays (401). The account and its roles were
 * checked before the body was read (precheckSigner, installed for every route behind this
 * preHandler). `allowUnregistered` is for registration itself.
 */
export function signed(opts: SignedOptions) {
  const handler = async (req: FastifyRequest, _reply: FastifyReply) => {
    // Verified over the raw body before parsing when there was a body; bodiless requests here.
    const check = req.signatureCheck ?? verifySignature(req, req.rawBody ?? Buffer.alloc(0));
    if (!check.ok) throw new HttpError(401, check.reason);
    if (!req.signerRoles) throw new HttpError(500, 'the signer was not checked before the body was read');
    if (!(await opts.replayGuard.claim(check.signature, check.expiresAt)))
      throw new HttpError(401, 'replayed request: this signature was already used');
    req.caller = { address: check.address, publicKey: check.publicKey, roles: req.signerRoles };
  };
  return Object.assign(handler, { [SIGNED_HANDLER]: opts });
}

/**
 * The signer of a bodiless read that anyone may make but that answers more to some callers (a
 * record's payload): undefined when the request is unsigned, 401 when its signature fails or is
 * replayed. No registration is needed: the address proves who asks.
 */
export async function optionalSigner(req: FastifyRequest, replayGuard: ReplayGuard): Promise<string | undefined> {
  if (req.headers[HEADER_SIGNATURE] === undefined) return undefined;
  const check = verifySignature(req, Buffer.alloc(0));
  if (!check.ok) throw new HttpError(401, check.reason);
  if (!(await replayGuard.claim(check.signature, check.expiresAt)))
    throw new HttpError(401, 'replayed request: this signature was already used');
  return check.address;
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
