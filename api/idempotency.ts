import type { FastifyRequest } from 'fastify';
import { IdempotencyKeyReusedError, InsufficientFundsError, type Ledger, type TransferInput } from '../db/ledger.js';
import { findTransferReason } from '../db/queries/transfers.js';
import type postgres from 'postgres';
import { badRequest, conflict, paymentRequired } from './errors.js';
import { signatureOf } from './auth.js';
import { IDEMPOTENCY_KEY_PATTERN } from './schemas/common.js';

const KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/**
 * The key a client chose for this request: the body's `idempotencyKey` (covered by the signature)
 * or the Idempotency-Key header; both must agree when both are sent. Undefined when neither is.
 */
export function clientIdempotencyKey(req: FastifyRequest, bodyKey: string | undefined): string | undefined {
  const h = req.headers[IDEMPOTENCY_HEADER];
  if (Array.isArray(h)) throw badRequest('send one Idempotency-Key header');
  if (h !== undefined && !KEY.test(h)) throw badRequest(`Idempotency-Key must match ${IDEMPOTENCY_KEY_PATTERN}`);
  if (h !== undefined && bodyKey !== undefined && h !== bodyKey)
    throw badRequest('the Idempotency-Key header and the body idempotencyKey differ');
  return bodyKey ?? h;
}

/**
 * A transfer a client asked for, moved once per key: with a client key, a retry (signed anew) gets
 * the original transfer back (`replayed`), and the same key with other terms is a 409; without one,
 * the request's signature (unique, replays are refused) is the key.
 */
export async function clientTransfer(
  sql: postgres.Sql,
  ledger: Ledger,
  req: FastifyRequest,
  what: 'transfer' | 'stake',
  clientKey: string | undefined,
  t: Omit<TransferInput, 'idempotencyKey'>,
): Promise<{ transferId: string; replayed: boolean }> {
  // Scoped by the payer, so one client's keys never collide with another's.
  const idempotencyKey = clientKey ? `${what}:${t.from}:key:${clientKey}` : `${what}:${signatureOf(req)}`;
  try {
    const r = await ledger.transfer({ ...t, idempotencyKey });
    if (!r.applied && (await findTransferReason(sql, r.id)) !== t.reason)
      throw new IdempotencyKeyReusedError(idempotencyKey);
    return { transferId: String(r.id), replayed: !r.applied };
  } catch (err) {
    if (err instanceof InsufficientFundsError) throw paymentRequired(err.message);
    if (err instanceof IdempotencyKeyReusedError)
      throw conflict(`idempotency key ${clientKey ?? ''} was already used for a different ${what}`);
    throw err;
  }
}
