import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** The body of every 4xx (and 5xx) answer: a reason the client can act on, and details when there are some. */
export const ErrorBody = Type.Object(
  { error: Type.String(), details: Type.Optional(Type.Unknown()) },
  { description: 'why the request was refused' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Integer base units of OPEN or gOPEN, as a decimal string (they exceed 2^53). */
export const Amount = Type.String({ pattern: '^[1-9][0-9]{0,30}$', description: 'integer base units' });
/** A balance or sum in integer base units (may be 0). */
export const Units = Type.String({ pattern: '^[0-9]+$', description: 'integer base units' });
export const Asset = Type.Union([Type.Literal('OPEN'), Type.Literal('gOPEN')]);
/** A timestamp, serialized as an ISO 8601 string. */
export const Timestamp = Type.String({ format: 'date-time' });

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * The responses of a route: its success bodies by status, plus the shared error body for every
 * 4xx and 5xx it may answer with (validation, signature, role, not found, conflict, ...).
 */
export const responses = <R extends Record<number, TSchema>>(success: R) =>
  ({ ...success, '4xx': ErrorBody, '5xx': ErrorBody }) as R & { '4xx': typeof ErrorBody; '5xx': typeof ErrorBody };

/** What a client-chosen idempotency key may look like (a UUID fits). */
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';

/** The largest value of a Postgres `integer` column: integer inputs stored or compared there are bounded by it. */
export const MAX_INT4 = 2 ** 31 - 1;

/** A version number, a count, an index: what fits an `integer` column. */
export const PositiveInt = Type.Integer({ minimum: 1, maximum: MAX_INT4 });

/**
 * Free text a client sends: bounded, and (like every string, see api/request-guards.ts) free of
 * NUL and lone surrogates. Routes share it rather than a bare Type.String().
 */
export const SafeText = (maxLength: number, opts: { minLength?: number; description?: string } = {}) =>
  Type.String({ maxLength, ...opts });

/** An identifier in a path: bounded so it can never exceed what an index can hold. */
export const Id = Type.String({ minLength: 1, maxLength: 200 });
export const IdParams = Type.Object({ id: Id });
